"""The key ring and the AES-GCM codec: rotation, refusals, the file on disk."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from codec.aes_gcm import (
    COMPRESSION_METADATA,
    ENCRYPTED_ENCODING,
    KEY_ID_METADATA,
    ZLIB,
    AesGcmCodec,
    Reason,
)
from codec.aes_gcm import UndecodablePayload as Undecodable
from codec.keyring import (
    KeyRing,
    KeyRingError,
    KeyRingMissing,
    _main,
    create_keyring,
    ensure_keyring,
    load_keyring,
    new_key,
)
from codec.refused import REFUSED_ENCODING, RefusingCodec
from schemas.trajectory import DecisionInput
from temporal_connection import (
    INVALID_MESSAGE,
    MAX_MESSAGE_BYTES,
    REFUSED_SIGNAL_KEY,
    data_converter,
)

NAME = "An Peeters"


def plain(text: str = NAME) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


def ring(*ids: str) -> KeyRing:
    return KeyRing({key_id: new_key() for key_id in ids}, ids[0])


async def test_a_payload_round_trips_and_nothing_of_it_is_readable() -> None:
    codec = AesGcmCodec(ring("k1"))
    [sealed] = await codec.encode([plain()])
    assert sealed.metadata["encoding"] == ENCRYPTED_ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert NAME.encode() not in sealed.data and b"json/plain" not in sealed.data
    assert await codec.decode([sealed]) == [plain()]
    # A fresh random nonce each time: the same value never looks the same twice.
    [again] = await codec.encode([plain()])
    assert again.data[:12] != sealed.data[:12] and again.data != sealed.data


async def test_rotation_old_payloads_still_decode() -> None:
    old = ring("k1")
    [before] = await AesGcmCodec(old).encode([plain("voor")])
    rotated = old.with_key("k2", new_key(), encrypting=True)
    codec = AesGcmCodec(rotated)
    [after] = await codec.encode([plain("na")])
    assert after.metadata[KEY_ID_METADATA] == b"k2"
    assert await codec.decode([before, after]) == [plain("voor"), plain("na")]
    # Switching back to the old key encrypts with it again; both still decode.
    [back] = await AesGcmCodec(rotated.encrypting_with("k1")).encode([plain()])
    assert back.metadata[KEY_ID_METADATA] == b"k1"


async def test_a_large_payload_is_compressed_before_it_is_encrypted() -> None:
    codec = AesGcmCodec(ring("k1"))
    status = plain(" ".join(["Gemeenteraad Izegem keurt goed"] * 400))  # 12 KB of JSON
    small = plain()
    [sealed, sealed_small] = await codec.encode([status, small])
    assert sealed.metadata[COMPRESSION_METADATA] == ZLIB
    assert len(sealed.data) < len(status.data) / 5
    assert COMPRESSION_METADATA not in sealed_small.metadata  # too small to gain anything
    assert await codec.decode([sealed, sealed_small]) == [status, small]
    # The flag is bound to the ciphertext: dropping it does not yield the compressed bytes.
    stripped = Payload()
    stripped.CopyFrom(sealed)
    del stripped.metadata[COMPRESSION_METADATA]
    with pytest.raises(Undecodable) as refused:
        await codec.decode([stripped])
    assert refused.value.reason is Reason.TAMPERED
    stripped.metadata[COMPRESSION_METADATA] = b"brotli"
    with pytest.raises(Undecodable, match="unknown compression"):
        await codec.decode([stripped])


def _tampered(payload: Payload, **changes: Any) -> Payload:
    copy = Payload()
    copy.CopyFrom(payload)
    for name, value in changes.items():
        if name == "key_id":
            copy.metadata[KEY_ID_METADATA] = value
        else:
            setattr(copy, name, value)
    return copy


async def test_refusals_name_the_reason() -> None:
    keys = ring("k1", "k2")
    codec = AesGcmCodec(keys)
    [sealed] = await codec.encode([plain()])
    flipped = bytearray(sealed.data)
    flipped[20] ^= 1
    cases = {
        Reason.NOT_ENCRYPTED: plain(),
        Reason.TAMPERED: _tampered(sealed, data=bytes(flipped)),
        Reason.UNKNOWN_KEY: _tampered(sealed, key_id=b"k9"),
    }
    # The key id is the cipher's associated data: relabelled to another key of the ring,
    # the payload does not decrypt.
    relabelled = _tampered(sealed, key_id=b"k2")
    for reason, payload in [*cases.items(), (Reason.TAMPERED, relabelled)]:
        with pytest.raises(Undecodable) as refused:
            await codec.decode([payload])
        assert refused.value.reason is reason
    with pytest.raises(Undecodable, match=r"not encrypted .*--codec-endpoint"):
        await codec.decode([plain()])
    with pytest.raises(Undecodable, match=r"key 'k9'.*INKANTELING_CODEC_KEY_FILE"):
        await codec.decode([cases[Reason.UNKNOWN_KEY]])


async def test_the_workers_codec_turns_a_senders_fault_into_a_refusal() -> None:
    """Not encrypted or altered: a refusal the converter reads, carrying no original byte.
    An unknown key is the reader's fault (its ring lacks a key): it raises."""
    keys = ring("k1")
    codec = RefusingCodec(AesGcmCodec(keys))
    [decoded] = await codec.decode([plain()])
    assert decoded.metadata["encoding"] == REFUSED_ENCODING
    assert NAME.encode() not in decoded.SerializeToString()
    [sealed] = await codec.encode([plain()])
    with pytest.raises(Undecodable):
        await codec.decode([_tampered(sealed, key_id=b"k9")])


async def test_the_converter_refuses_what_it_cannot_read_by_type() -> None:
    converter = data_converter(ring("k1"))
    # An update's input: the non-retryable InvalidMessage, so the update is rejected before
    # it is accepted.
    with pytest.raises(ApplicationError) as rejected:
        await converter.decode([plain()], [DecisionInput])
    assert (rejected.value.type, rejected.value.non_retryable) == (INVALID_MESSAGE, True)
    assert "not encrypted" in rejected.value.message
    big = Payload(metadata={"encoding": b"json/plain"}, data=b'"' + b"x" * MAX_MESSAGE_BYTES + b'"')
    [sealed_big] = await converter.payload_codec.encode([big])  # type: ignore[union-attr]
    with pytest.raises(ApplicationError, match=f"more than the {MAX_MESSAGE_BYTES}"):
        await converter.decode([sealed_big], [DecisionInput])
    # A signal's input (typed Any): an object no message model accepts, so it is recorded as
    # a rejected signal.
    [signal_input] = await converter.decode([plain()], [Any])
    assert set(signal_input) == {REFUSED_SIGNAL_KEY}
    # Anything else fails loudly (the workflow task retries), never with the clear value.
    with pytest.raises(ValueError, match="not encrypted"):
        await converter.decode([plain()], [str])


async def test_failure_messages_and_stack_traces_are_encrypted() -> None:
    converter = data_converter(ring("k1"))
    failure = Failure()
    try:
        raise ApplicationError(f"transfer of {NAME} failed", type="TransferFailed")
    except ApplicationError as exc:
        await converter.encode_failure(exc, failure)
    assert NAME not in failure.message and NAME.encode() not in failure.SerializeToString()
    assert failure.encoded_attributes.metadata["encoding"] == ENCRYPTED_ENCODING
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and NAME in decoded.message


# --- the ring on disk ----------------------------------------------------------------------


def test_a_new_ring_is_private_and_never_clobbered(tmp_path: Path) -> None:
    path = tmp_path / "codec" / "keyring.json"
    created = create_keyring(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path) == created
    with pytest.raises(KeyRingError, match="already exists"):
        create_keyring(path)
    assert load_keyring(path) == created
    assert ensure_keyring(path) == (created, False)
    assert [p.name for p in path.parent.iterdir()] == ["keyring.json"]  # no temporary left


def test_a_missing_or_bad_ring_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(KeyRingMissing, match=r"make up.*INKANTELING_CODEC_KEY_FILE"):
        load_keyring(tmp_path / "none.json")
    bad = {
        "{": "not a valid key ring",
        '{"encrypting_key": "k1", "keys": {"k1": "c2hvcnQ="}}': "5 bytes, not 32",
        '{"encrypting_key": "k2", "keys": {"k1": "%s"}}': "'k2' is not among",
        '{"encrypting_key": "k1", "keys": {"k1": "%%%%"}}': "not valid base64",
    }
    for text, problem in bad.items():
        path = tmp_path / "bad.json"
        path.write_text(text.replace("%s", "A" * 43 + "="))
        with pytest.raises(KeyRingError, match=problem):
            load_keyring(path)


def test_rotation_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keyring.json"
    assert _main([str(path), "create"]) == 0
    first = load_keyring(path).encrypting_key_id
    assert _main([str(path), "add", "--id", "k-2027"]) == 0
    rotated = load_keyring(path)
    assert rotated.encrypting_key_id == "k-2027" and set(rotated.keys) == {first, "k-2027"}
    assert _main([str(path), "use", first]) == 0
    assert load_keyring(path).encrypting_key_id == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    capsys.readouterr()
    assert _main([str(path), "use", "k-none"]) == 3
    assert "no key 'k-none'" in capsys.readouterr().err
    assert load_keyring(path).encrypting_key_id == first  # unchanged
    assert _main([str(path), "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{first}  (encrypting)" in listed
    assert base64_of_any_key(load_keyring(path)) not in listed


def base64_of_any_key(keys: KeyRing) -> str:
    import base64

    return base64.b64encode(next(iter(keys.keys.values()))).decode()
