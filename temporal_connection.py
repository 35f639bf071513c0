"""How every process talks to Temporal: one data converter, one way to connect."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from codec.aes_gcm import AesGcmCodec
from codec.keyring import KeyRing, load_keyring
from codec.refused import REFUSED_ENCODING, RefusingCodec, refusal_reason
from schemas.trajectory import (
    AbortRequest,
    Amendment,
    DecisionInput,
    EffectiveDateChange,
    JoinRequest,
    TaskCompletion,
)
from settings import Settings
from temporal_tls import TLSFileError, tls_config
from workflows import search_attributes


class TemporalUnavailable(RuntimeError):
    """The Temporal server cannot be reached."""


# The update inputs of the trajectory workflow: the messages other clients (the `temporal`
# CLI, the Web UI) type by hand. tests/test_cli_failures.py checks this against the workflow.
MESSAGE_TYPES: frozenset[type[BaseModel]] = frozenset(
    {DecisionInput, TaskCompletion, Amendment, JoinRequest, EffectiveDateChange, AbortRequest}
)

INVALID_MESSAGE = "InvalidMessage"


def message_problems(exc: ValidationError) -> list[str]:
    """One line per problem, `field: what is wrong`, without pydantic's input echo and links."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "payload"
        lines.append(f"{field}: {str(error['msg']).removeprefix('Value error, ')}")
    return lines


def invalid_message(model: type[BaseModel], exc: ValidationError) -> ApplicationError:
    """The refusal a sender sees: non-retryable (sending the same payload again cannot help),
    with a stable type to branch on and the problems as details."""
    problems = message_problems(exc)
    return ApplicationError(
        f"invalid {model.__name__} payload:\n" + "\n".join(problems),
        [{"problem": line} for line in problems],
        type=INVALID_MESSAGE,
        non_retryable=True,
    )


# The largest update input a trajectory reads. The biggest real message, a join with its
# participant or an amendment with its texts, is a few KiB. A larger one is refused while its
# arguments are decoded, before it is accepted, so it never reaches the history. (Over the
# server's 2 MiB limit no answer helps: sdk-core sends the whole request back with it, over the
# limit, and the workflow task fails until the update goes away. Clients with the codec never
# send such a payload, see codec/aes_gcm.py and sdk_reports/, program 5.)
MAX_MESSAGE_BYTES = 256 * 1024

# A signal's input the codec could not decode (not encrypted, altered) reaches the signal
# handler as this one-key object, which no message model accepts: the trajectory records the
# signal as rejected instead of the SDK dropping it unseen.
REFUSED_SIGNAL_KEY = "payload_refused"


def _refusal(type_hint: type | None, reason: str) -> Any:
    """A message type: the update's rejection. A signal's input (untyped): the refused object.
    Anything else (a workflow input, an activity result) is not the sender's to get wrong:
    raise, so the workflow task fails and is retried instead of the trajectory failing."""
    if type_hint in MESSAGE_TYPES:
        assert type_hint is not None
        raise ApplicationError(
            f"invalid {type_hint.__name__} payload:\n{reason}",
            [{"problem": reason}],
            type=INVALID_MESSAGE,
            non_retryable=True,
        )
    # The signal handlers take `*payloads: Any`, which the SDK reads without a type.
    if type_hint is Any or type_hint is None:
        return {REFUSED_SIGNAL_KEY: reason}
    raise ValueError(f"cannot read a payload: {reason}")


class _RefusedPayloadConverter(EncodingPayloadConverter):
    """Reads the payloads the codec could not decode (codec/refused.py); never writes one."""

    @property
    def encoding(self) -> str:
        return REFUSED_ENCODING.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        return _refusal(type_hint, refusal_reason(payload))


class _MessageJSONConverter(PydanticJSONPlainPayloadConverter):
    """pydantic's JSON converter, but a message that fails validation becomes an
    ApplicationError. The SDK passes an ApplicationError raised while decoding an update's
    arguments on as the update's rejection, unchanged; any other exception becomes "Failed
    decoding arguments" with pydantic's text (and its documentation links) in the cause.

    Only the message types are wrapped: a workflow input or an activity result that no longer
    validates is a bug to fix in code, and must keep failing the workflow task (retried until
    a fix is deployed) instead of failing the trajectory for good."""

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        if type_hint in MESSAGE_TYPES and len(payload.data) > MAX_MESSAGE_BYTES:
            return _refusal(
                type_hint,
                f"payload: {len(payload.data)} bytes, more than the {MAX_MESSAGE_BYTES} a "
                "message may have",
            )
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as exc:
            if type_hint in MESSAGE_TYPES:
                raise invalid_message(type_hint, exc) from None
            raise


# Built once: the SDK makes a payload converter for every activity a workflow task schedules
# or resolves (its serialization context), and every replay makes them all again. The
# encoding converters keep no state, so one set serves every instance.
_ENCODING_CONVERTERS = (
    *(
        _MessageJSONConverter() if isinstance(c, JSONPlainPayloadConverter) else c
        for c in DefaultPayloadConverter.default_encoding_payload_converters
    ),
    _RefusedPayloadConverter(),
)


class MessagePayloadConverter(CompositePayloadConverter):
    """The default converters, with JSON through `_MessageJSONConverter`, and the refusals."""

    def __init__(self) -> None:
        super().__init__(*_ENCODING_CONVERTERS)


def data_converter(ring: KeyRing) -> DataConverter:
    """Pydantic models travel as JSON, encrypted with the ring's key (codec/); the Web UI and
    the `temporal` CLI read and send them through the codec server. Failure messages and stack
    traces are moved into an encoded payload, so they are encrypted too."""
    return DataConverter(
        payload_converter_class=MessagePayloadConverter,
        payload_codec=RefusingCodec(AesGcmCodec(ring)),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def codec_keyring(settings: Settings) -> KeyRing:
    """The ring the settings name; `codec.keyring.KeyRingError` (a clear line) if missing."""
    return load_keyring(settings.codec_key_path)


async def connect(
    settings: Settings, ring: KeyRing | None = None, *, runtime: Runtime | None = None
) -> Client:
    """A client with the project's data converter; the ring is read from the settings' file
    unless given (KeyRingError, before any connection, when there is none). TLS as the
    settings say (temporal_tls.py); `runtime` carries the worker's metrics (metrics/)."""
    converter = data_converter(ring or codec_keyring(settings))
    try:
        tls = tls_config(settings)
    except TLSFileError as exc:
        raise TemporalUnavailable(f"cannot connect to Temporal: {exc}") from None
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=converter,
            tls=tls,
            runtime=runtime,
        )
    except RuntimeError as exc:
        advice = (
            "check the TEMPORAL_TLS_* settings against the server (docs/operations.md)"
            if settings.temporal_tls
            else "start the local stack with `make stack` or set TEMPORAL_ADDRESS"
        )
        raise TemporalUnavailable(
            f"cannot reach Temporal at {settings.temporal_address} ({exc}); {advice}"
        ) from exc


_INDEXED_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    SearchAttributeIndexedValueType.KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    SearchAttributeIndexedValueType.BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    SearchAttributeIndexedValueType.TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    SearchAttributeIndexedValueType.INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    SearchAttributeIndexedValueType.DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
}


async def register_search_attributes(client: Client) -> list[str]:
    """Register the trajectory search attributes that the namespace lacks; return those added."""
    known: set[str] = set()
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError as exc:
        # The time-skipping test server cannot list them; adding is still idempotent there.
        if exc.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
    missing = {
        key.name: _INDEXED_TYPES[key.indexed_value_type]
        for key in search_attributes.ALL
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
