"""The trajectory's audit journal: numbered records kept in the workflow, flushed in order.

Pure and deterministic (workflows import it): the sequence has no gaps because only `record`
numbers events, and a batch is always the oldest records not yet persisted, so PostgreSQL
receives them in order and each batch is idempotent by sequence. The workflow class does the
durable part (the activity that persists a batch); this class decides what a batch is.
"""

from __future__ import annotations

from datetime import date, datetime

from schemas import events as ev
from schemas.audit import AuditEvent
from schemas.journal import JournalRecord, Notification


class AuditJournal:
    def __init__(self, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError("a journal batch holds at least one record")
        self._batch_size = batch_size
        self._records: list[JournalRecord] = []
        self._persisted = 0

    def record(
        self,
        payload: ev.EventPayload,
        summary: str,
        *,
        on: date,
        at: datetime,
        actor: str | None = None,
        step_id: str | None = None,
        authority_id: str | None = None,
        notification: Notification | None = None,
    ) -> AuditEvent:
        """Append the next event (sequence numbers start at 1 and never skip)."""
        event = AuditEvent(
            seq=len(self._records) + 1,
            kind=payload.KIND,
            on=on,
            at=at,
            summary=summary,
            actor=actor,
            step_id=step_id,
            authority_id=authority_id,
            data=ev.payload_data(payload),
        )
        self._records.append(JournalRecord(event=event, notification=notification))
        return event

    @property
    def events(self) -> tuple[AuditEvent, ...]:
        return tuple(record.event for record in self._records)

    @property
    def persisted(self) -> int:
        """How many records, from the first, PostgreSQL holds."""
        return self._persisted

    def has_unpersisted(self) -> bool:
        return self._persisted < len(self._records)

    def all_persisted(self) -> bool:
        return self._persisted == len(self._records)

    def next_batch(self) -> tuple[JournalRecord, ...]:
        """The oldest records not yet persisted, at most one batch of them."""
        return tuple(self._records[self._persisted : self._persisted + self._batch_size])

    def mark_persisted(self, batch: tuple[JournalRecord, ...]) -> None:
        """Acknowledge a batch `next_batch` handed out; batches are persisted one at a time,
        so anything else is a programming error."""
        expected = self._records[self._persisted : self._persisted + len(batch)]
        if not batch or tuple(expected) != batch:
            raise ValueError("only the batch next_batch returned can be marked persisted")
        self._persisted += len(batch)
