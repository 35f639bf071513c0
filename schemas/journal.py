"""What the workflow hands to its persistence activity: audit records and notifications."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.audit import AuditEvent
from schemas.common import CooperationKind
from schemas.template import Action, Phase
from schemas.trajectory import Asset, MergedStructure, Participant, StaffMember


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TrajectoryRef(_Model):
    """Identifies one trajectory run in PostgreSQL (the workflow id alone is reused after an
    abort, the run id makes it unique)."""

    workflow_id: str
    run_id: str
    cooperation_id: str
    cooperation_name: str
    kind: CooperationKind

    @property
    def trajectory_id(self) -> str:
        return f"{self.workflow_id}/{self.run_id}"


class Notification(_Model):
    """A message for the outbox. `key` makes it exactly-once: the outbox has it unique."""

    key: str
    recipients: tuple[str, ...]  # authority ids or roles (coordinator)
    subject: str  # Dutch
    body: str  # Dutch


class JournalRecord(_Model):
    """An audit event and the notification it sends (a row of the outbox), as the workflow
    hands both to the projection."""

    event: AuditEvent
    notification: Notification | None = None


class Snapshot(_Model):
    """The trajectory row as it stands after the records of a batch. `status_json` is the
    full status, sent only when the phase or the end changed (None: keep the stored one)."""

    phase: Phase
    today: date
    planned_av_date: date | None
    effective_date: date
    needs_effective_date: bool
    overdue: bool
    pending_authorities: tuple[str, ...]
    next_deadline: date | None
    finished: bool
    status_json: dict[str, Any] | None = None


class JournalBatch(_Model):
    trajectory: TrajectoryRef
    records: tuple[JournalRecord, ...]
    snapshot: Snapshot


class ActionInput(_Model):
    trajectory: TrajectoryRef
    step_id: str
    action: Action
    on: date
    participants: tuple[Participant, ...]
    staff: tuple[StaffMember, ...] = ()
    assets: tuple[Asset, ...] = ()
    # The date the register records as "ingekanteld"; None in inputs of older runs.
    effective_date: date | None = None
    # end-old-structure and the register's compensation: the cooperations merged in.
    merged: tuple[MergedStructure, ...] = ()
    # end-old-structure: the day the old structures ended (the latest fact it follows from);
    # None in inputs of older runs, which used `on`.
    ended_on: date | None = None
    # mark-integrated: the name the work continues under.
    continues_as: str | None = None


class ActionResult(_Model):
    summary: str
    repeated: bool = False  # the action had already been performed (a retry)
    # The activity's wall clock when it finished: a fact in the history the workflow's
    # calendar moves with. None in results of older runs.
    performed_at: AwareDatetime | None = None
