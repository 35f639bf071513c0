"""A Temporal payload codec that encrypts every payload with AES-256-GCM.

An encoded payload is `nonce (12 random bytes) || ciphertext || tag` over the whole original
`Payload` message (its metadata, such as `json/plain`, included, so nothing about the value
stays readable), with metadata `encoding: binary/encrypted` and the key id. The key id is also
the cipher's associated data: a payload whose key id was rewritten does not decrypt.

A payload of 1 KiB or more is compressed (zlib) before it is encrypted, when that makes it
smaller: JSON of a trajectory's input, status or journal shrinks to a fifth or less, and a
history's size is what Temporal stores, replays and sends for every workflow task. The payload
says so in its metadata (`compression: zlib`), which is bound into the associated data like
the key id. Compressing before encrypting lets the ciphertext's length depend on the content;
that matters only to someone who can put chosen text into the same payload as a secret and
read the stored history's sizes without the key, and the project refuses messages that do not
come through the codec (`codec/refused.py`), so no such sender exists.

Decoding is strict: a payload that is not encrypted, names a key the ring lacks, or fails
authentication raises `UndecodablePayload` with the reason; there is no plaintext fallback.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from codec.keyring import KeyRing

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12  # 96 bits, as GCM is specified for; random per payload
TAG_BYTES = 16
# Temporal refuses a payload over 2 MiB (the server's blob limit, which the SDK's core checks
# too). Such a payload is never encrypted: sent as an update, a worker could neither accept nor
# reject it (both answers carry the request back, over the limit), and the trajectory's
# workflow task would fail until the update went away (sdk_reports/, program 5). The margin
# leaves room for the payload's metadata.
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024 - 4096
COMPRESSION_METADATA = "compression"
ZLIB = b"zlib"
COMPRESS_FROM_BYTES = 1024  # below that, zlib's header costs more than it saves


def _associated_data(key_id: str, compressed: bool) -> bytes:
    # The key id alone for an uncompressed payload, as before compression existed, so those
    # payloads keep decoding.
    return key_id.encode() + (b"|" + ZLIB if compressed else b"")


class Reason(StrEnum):
    """Why a payload does not decode: stable values a caller may branch on."""

    NOT_ENCRYPTED = "not-encrypted"
    UNKNOWN_KEY = "unknown-key"
    TAMPERED = "tampered"


class UndecodablePayload(ValueError):
    """A payload the codec cannot decode; `reason` says which case, the message how to fix."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PayloadTooLarge(ValueError):
    """A payload over what Temporal stores; refused before it is sent."""


class AesGcmCodec(PayloadCodec):
    """Encrypts with the ring's encrypting key; decrypts with whichever key a payload names."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    @property
    def ring(self) -> KeyRing:
        return self._ring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        clear = payload.SerializeToString(deterministic=True)
        if len(clear) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(
                f"payload of {len(clear)} bytes is over the {MAX_PAYLOAD_BYTES} a Temporal "
                "payload may have; send less (a message is a few KiB)"
            )
        compressed = False
        if len(clear) >= COMPRESS_FROM_BYTES:
            packed = zlib.compress(clear, 6)
            if len(packed) < len(clear):
                clear, compressed = packed, True
        key_id = self._ring.encrypting_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, clear, _associated_data(key_id, compressed))
        metadata = {"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: key_id.encode()}
        if compressed:
            metadata[COMPRESSION_METADATA] = ZLIB
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        encoding = payload.metadata.get("encoding", b"")
        if encoding != ENCRYPTED_ENCODING:
            shown = encoding.decode("utf-8", "replace")[:40] or "none"
            raise UndecodablePayload(
                Reason.NOT_ENCRYPTED,
                f"payload is not encrypted (encoding {shown!r}, expected "
                f"{ENCRYPTED_ENCODING.decode()!r}); send it through the codec (the `temporal` CLI "
                "with --codec-endpoint, an SDK client with the project's data converter)",
            )
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UndecodablePayload(
                Reason.UNKNOWN_KEY,
                f"payload is encrypted under key {key_id[:64]!r}, which the codec's key ring "
                "does not hold; add that key to the ring (INKANTELING_CODEC_KEY_FILE)",
            )
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise UndecodablePayload(Reason.TAMPERED, "encrypted payload is truncated")
        compression = payload.metadata.get(COMPRESSION_METADATA)
        if compression not in (None, ZLIB):
            raise UndecodablePayload(
                Reason.TAMPERED,
                f"encrypted payload names an unknown compression {compression[:20]!r}",
            )
        compressed = compression == ZLIB
        try:
            clear = cipher.decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], _associated_data(key_id, compressed)
            )
            if compressed:
                clear = _inflate(clear)
            decoded = Payload()
            decoded.ParseFromString(clear)
        except (InvalidTag, DecodeError, zlib.error):
            raise UndecodablePayload(
                Reason.TAMPERED,
                f"encrypted payload under key {key_id!r} fails authentication (altered or "
                "corrupted); it cannot be read",
            ) from None
        return decoded


def _inflate(packed: bytes) -> bytes:
    """Decompress, never beyond what a payload may be (an authenticated payload is ours, but
    a bound costs nothing)."""
    inflater = zlib.decompressobj()
    clear = inflater.decompress(packed, MAX_PAYLOAD_BYTES + 1)
    if len(clear) > MAX_PAYLOAD_BYTES or inflater.unconsumed_tail:
        raise zlib.error("decompresses beyond the payload limit")
    return clear
