"""The test suite's codec: every client, worker and replayer of the tests encrypts with the
committed test-only key ring (tests/data/codec/README.md), so do the recorded histories."""

from __future__ import annotations

from pathlib import Path

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import History
from temporalio.converter import DataConverter, PayloadConverter

from codec.aes_gcm import ENCRYPTED_ENCODING, AesGcmCodec
from codec.keyring import KeyRing, load_keyring
from temporal_connection import data_converter

TESTS_KEYRING_FILE = Path(__file__).resolve().parent.parent / "data" / "codec" / "test-keyring.json"


def keyring_for_tests() -> KeyRing:
    return load_keyring(TESTS_KEYRING_FILE)


def converter_for_tests() -> DataConverter:
    return data_converter(keyring_for_tests())


# --- histories recorded before the codec ------------------------------------------------------

# What the SDK never passes through the codec: search attributes (the server indexes them),
# headers (not encoded by default), and marker details (core reads a patch marker's id itself).
_NOT_ENCODED = frozenset(
    {
        "temporal.api.common.v1.SearchAttributes",
        "temporal.api.common.v1.Header",
        "temporal.api.history.v1.MarkerRecordedEventAttributes",
    }
)
_PAYLOAD = "temporal.api.common.v1.Payload"
_FAILURE = "temporal.api.failure.v1.Failure"


def encrypt_history(history: History, codec: AesGcmCodec) -> int:
    """Encrypt, in place, every payload of a history recorded in clear, as a worker and client
    with the codec would have written it (failure messages and stack traces moved into an
    encrypted payload, as `encode_common_attributes` does). A history keeps its events, so
    one recorded on older workflow code still stands for that code. Returns the payloads
    encrypted; an already encrypted payload is left as it is."""
    return _encrypt_message(history, codec)


def _encrypt_message(message: Message, codec: AesGcmCodec) -> int:
    name = message.DESCRIPTOR.full_name
    if name in _NOT_ENCODED:
        return 0
    if name == _PAYLOAD:
        assert isinstance(message, Payload)
        if message.metadata.get("encoding") == ENCRYPTED_ENCODING:
            return 0
        message.CopyFrom(codec.encrypt(message))
        return 1
    if name == _FAILURE:
        assert isinstance(message, Failure)
        _encode_common_attributes(message)
    count = 0
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            children = (
                list(value.values())
                if field.message_type.fields_by_name["value"].message_type
                else []
            )
        elif field.is_repeated:
            children = list(value)
        else:
            children = [value]
        count += sum(_encrypt_message(child, codec) for child in children)
    return count


def _encode_common_attributes(failure: Failure) -> None:
    if failure.HasField("encoded_attributes") or not (failure.message or failure.stack_trace):
        return
    [payload] = PayloadConverter.default.to_payloads(
        [{"message": failure.message, "stack_trace": failure.stack_trace}]
    )
    failure.encoded_attributes.CopyFrom(payload)
    failure.message = "Encoded failure"
    failure.stack_trace = ""
