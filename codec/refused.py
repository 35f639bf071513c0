"""What workers and clients do with a payload that cannot be decoded: refuse it where its type
is known, instead of failing the whole workflow task.

The SDK decodes a workflow activation as a whole before any handler runs. If the codec raised
there for one signal sent in clear by the `temporal` CLI without `--codec-endpoint`, every
workflow task of the trajectory would fail from then on (the signal is in its history); a
non-retryable error would even fail the trajectory for good. So a payload whose fault is its
own (not encrypted, altered) is decoded into a `binary/refused` payload that carries only the
reason, never the original bytes; the payload converter (temporal_connection.py) then refuses
it as the message it was meant to be.

A payload under a key id the ring lacks is this process's fault, not the payload's: another
worker with the full ring reads it. That still raises, so the workflow task fails and is
retried until the key is deployed, and no worker records a refusal a replay would not repeat.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from codec.aes_gcm import AesGcmCodec, Reason, UndecodablePayload

REFUSED_ENCODING = b"binary/refused"
REASON_METADATA = "refused-reason"


class RefusingCodec(PayloadCodec):
    """`AesGcmCodec`, with undecodable payloads (other than unknown keys) turned into refusals."""

    def __init__(self, inner: AesGcmCodec) -> None:
        self.inner = inner

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.inner.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        try:
            return self.inner.decrypt(payload)
        except UndecodablePayload as exc:
            if exc.reason is Reason.UNKNOWN_KEY:
                raise
            return refused(str(exc))


def refused(reason: str) -> Payload:
    return Payload(metadata={"encoding": REFUSED_ENCODING, REASON_METADATA: reason.encode()[:1000]})


def refusal_reason(payload: Payload) -> str:
    return payload.metadata.get(REASON_METADATA, b"").decode("utf-8", "replace")
