"""The audit trail's event: one kind enumeration and one model for an entry.

The same `AuditEvent` is the workflow's journal record, an entry of the status's timeline, a
row of PostgreSQL's `events` table and what the report phrases in Dutch. What an event says
beyond who, when and where is its payload, one model per kind (schemas/events.py), stored as
`data`. The English `summary` is for logs and the command line's history only: nothing reads
meaning out of it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from schemas.events import EventPayload

P = TypeVar("P", bound="EventPayload")


class EventKind(StrEnum):
    TRAJECTORY_STARTED = "trajectory-started"
    STEP_OPENED = "step-opened"
    STEP_DONE = "step-done"
    STEP_CANCELLED = "step-cancelled"
    STEP_COMPENSATED = "step-compensated"
    TASK_COMPLETED = "task-completed"
    DECISION_RECORDED = "decision-recorded"
    DECISION_PASSED = "decision-passed"
    DECISION_REJECTED = "decision-rejected"
    ROUND_CLOSED = "round-closed"
    ROUND_REVISED = "round-revised"  # a decision taken in time was recorded after the close
    REMINDER_SENT = "reminder-sent"
    ESCALATION_SENT = "escalation-sent"
    AMENDMENT = "amendment"
    MEMBER_JOINED = "member-joined"
    EFFECTIVE_DATE_NEEDED = "effective-date-needed"
    EFFECTIVE_DATE_SET = "effective-date-set"
    ABORT_REQUESTED = "abort-requested"
    TRAJECTORY_ABORTED = "trajectory-aborted"
    TRAJECTORY_INTEGRATED = "trajectory-integrated"
    PHASE_CHANGED = "phase-changed"
    MESSAGE_REJECTED = "message-rejected"
    MESSAGE_REPEATED = "message-repeated"


class AuditEvent(BaseModel):
    """One entry of a trajectory's audit trail, the same model in the workflow's journal, in
    the status's timeline, in PostgreSQL and in the report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    kind: EventKind
    on: date  # the trajectory's calendar date
    at: datetime  # wall-clock time of the fact
    summary: str  # English, for logs and the command line's history
    actor: str | None = None
    step_id: str | None = None
    authority_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)  # the payload of `kind`, as JSON

    def payload(self) -> EventPayload:
        """The typed payload of this event's kind."""
        from schemas.events import PAYLOADS  # the payloads import the messages they carry

        return PAYLOADS[self.kind].model_validate(self.data)

    def payload_as(self, model: type[P]) -> P:
        """The payload, asserting its kind (a caller that handles one kind)."""
        if model.KIND is not self.kind:
            raise ValueError(f"a {self.kind.value} event has no {model.__name__} payload")
        return model.model_validate(self.data)
