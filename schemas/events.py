"""One payload model per kind of audit event (the kinds and the event: schemas/audit.py).

The workflow records an `AuditEvent` with the payload of its kind; the projection activity
writes it to PostgreSQL's `events` table (the payload as `data`); the report, the command line
and the status's timeline read the same model back and phrase it from its typed payload.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.audit import EventKind
from schemas.rules import Verdict
from schemas.template import Phase
from schemas.trajectory import Amendment, Participant, RecordedDecision, TaskCompletion


class EventPayload(BaseModel):
    """What one kind of event says, beyond who, when and which step or authority."""

    # Lenient on read: an event written by an older workflow version may carry a field this
    # version no longer has; it must still load.
    model_config = ConfigDict(frozen=True, extra="ignore")
    KIND: ClassVar[EventKind]


class TrajectoryStarted(EventPayload):
    KIND = EventKind.TRAJECTORY_STARTED
    template_version: int
    planned_av_date: date | None
    effective_date: date
    participants: tuple[str, ...]


class StepOpened(EventPayload):
    KIND = EventKind.STEP_OPENED


class StepDone(EventPayload):
    KIND = EventKind.STEP_DONE
    waited_until: date | None = None  # a wait step: the date it waited for


class StepCancelled(EventPayload):
    KIND = EventKind.STEP_CANCELLED


class StepCompensated(EventPayload):
    KIND = EventKind.STEP_COMPENSATED


class TaskCompleted(EventPayload):
    KIND = EventKind.TASK_COMPLETED
    completion: TaskCompletion


class DecisionRecorded(EventPayload):
    KIND = EventKind.DECISION_RECORDED
    decision: RecordedDecision
    round: int = Field(ge=0)  # 0: the first round; an amendment opens the next


class DecisionPassed(EventPayload):
    KIND = EventKind.DECISION_PASSED
    reasons: tuple[str, ...] = ()


class DecisionRejected(EventPayload):
    KIND = EventKind.DECISION_REJECTED
    reasons: tuple[str, ...] = ()
    # True: taken note of, the trajectory goes on (a project call that was not granted);
    # False: renegotiation (amend or abort).
    continues: bool = False


class RoundClosed(EventPayload):
    KIND = EventKind.ROUND_CLOSED
    silent: tuple[str, ...]


class RoundRevised(EventPayload):
    """A closed round's verdict again, after a decision taken by its deadline was recorded
    late (within the recording grace): the authority no longer counts as abstaining."""

    KIND = EventKind.ROUND_REVISED
    authority_id: str
    session_date: date
    before: Verdict  # approved or rejected: a closed round is never open
    after: Verdict
    reasons: tuple[str, ...] = ()


class ReminderSent(EventPayload):
    KIND = EventKind.REMINDER_SENT
    due: date | None = None
    recipients: tuple[str, ...] = ()


class EscalationSent(EventPayload):
    KIND = EventKind.ESCALATION_SENT
    recipients: tuple[str, ...] = ()


class AmendmentRecorded(EventPayload):
    KIND = EventKind.AMENDMENT
    amendment: Amendment
    reopened: tuple[str, ...]
    # A changed proposal: the steps that start again (the board's text, the statutory period,
    # the members' round and what follows from them).
    restarted: tuple[str, ...] = ()


class MemberJoined(EventPayload):
    KIND = EventKind.MEMBER_JOINED
    participant: Participant
    rounds: tuple[str, ...]


class EffectiveDateNeeded(EventPayload):
    KIND = EventKind.EFFECTIVE_DATE_NEEDED
    planned: date | None = None


class EffectiveDateSet(EventPayload):
    KIND = EventKind.EFFECTIVE_DATE_SET
    # The JSON names of the first version of this event, kept so stored events still load.
    previous: date = Field(alias="from")
    new: date = Field(alias="to")
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class AbortRequested(EventPayload):
    KIND = EventKind.ABORT_REQUESTED
    reason: str | None = None


class TrajectoryAborted(EventPayload):
    KIND = EventKind.TRAJECTORY_ABORTED
    reason: str | None = None


class TrajectoryIntegrated(EventPayload):
    KIND = EventKind.TRAJECTORY_INTEGRATED


class PhaseChanged(EventPayload):
    KIND = EventKind.PHASE_CHANGED
    previous: Phase | None = None
    phase: Phase | None = None


class MessageRefused(EventPayload):
    KIND = EventKind.MESSAGE_REJECTED
    message: str | None = None  # the signal's name
    reason: str | None = None


class MessageRepeated(EventPayload):
    KIND = EventKind.MESSAGE_REPEATED
    message: str | None = None  # the signal's name


PAYLOADS: dict[EventKind, type[EventPayload]] = {
    model.KIND: model
    for model in (
        TrajectoryStarted,
        StepOpened,
        StepDone,
        StepCancelled,
        StepCompensated,
        TaskCompleted,
        DecisionRecorded,
        DecisionPassed,
        DecisionRejected,
        RoundClosed,
        RoundRevised,
        ReminderSent,
        EscalationSent,
        AmendmentRecorded,
        MemberJoined,
        EffectiveDateNeeded,
        EffectiveDateSet,
        AbortRequested,
        TrajectoryAborted,
        TrajectoryIntegrated,
        PhaseChanged,
        MessageRefused,
        MessageRepeated,
    )
}


def payload_data(payload: EventPayload) -> dict[str, Any]:
    """The payload as stored: JSON-ready, by field name (aliases only for reading old data)."""
    return payload.model_dump(mode="json", by_alias=True)
