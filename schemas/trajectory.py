"""A trajectory's input, the messages that move it on, and the status it reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.audit import AuditEvent
from schemas.common import (
    AuthorityKind,
    CooperationKind,
    Lane,
    LongText,
    Outcome,
    RegisterId,
    ShortText,
    StepKind,
)
from schemas.deadlines import DeadlineCatalogue
from schemas.template import Phase, Template

WORKFLOW_ID_PREFIX = "inkanteling-"


def workflow_id_for(cooperation_id: str) -> str:
    """One live trajectory per cooperation: the id derives from the register id alone."""
    return f"{WORKFLOW_ID_PREFIX}{cooperation_id}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Participant(_Model):
    """An authority that takes part in the cooperation and decides in the council round."""

    authority_id: RegisterId
    name: ShortText
    kind: AuthorityKind = AuthorityKind.MUNICIPALITY
    is_midwest_member: bool = True
    votes: int = Field(default=1, ge=0, le=1000)  # weight at the general assembly

    @property
    def is_municipality(self) -> bool:
        return self.kind is AuthorityKind.MUNICIPALITY


class StaffMember(_Model):
    """Personal data: never in ids, search attributes or logs; encrypted in history."""

    name: ShortText
    statute: Literal["statutory", "contractual"]
    route: Literal["transfer", "secondment"] = "transfer"
    function: ShortText | None = None
    # Who employed them before, when it is not the cooperation itself: the regierol sociale
    # economie's staff came from the RESOC, a body that no longer exists.
    former_employer: ShortText | None = None


class Asset(_Model):
    description: ShortText
    kind: Literal["asset", "contract", "subsidy", "liability"] = "asset"
    value_eur: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"))


class StructureEnd(StrEnum):
    """How the old structure of a cooperation merged into another one's trajectory ends (the
    account: "worden verder gezet door de besturen buiten regio Midwest of zijn opgeheven")."""

    DISSOLVED = "dissolved"  # ontbonden
    CONTINUED_OUTSIDE_REGION = "continued-outside-region"  # verder gezet buiten de regio
    ENDED = "ended"  # opgeheven


class MergedStructure(_Model):
    """Another cooperation that goes up in this trajectory's (Sport Midwest: five sport
    cooperations into one regional structure), and how its old structure ends. The register
    records that end when the trajectory ends the old structures."""

    cooperation_id: RegisterId
    name: ShortText
    end: StructureEnd
    note: ShortText | None = None  # for the register, in Dutch (what became of the work)


class Calendar(_Model):
    """How fast the trajectory's calendar runs. 1.0 is real time; a demonstration runs
    compressed (e.g. 43200: a day passes in two seconds). Only workflow time is scaled."""

    speed: float = Field(default=1.0, ge=1.0, le=10_000_000.0)
    # The calendar day the trajectory starts on, when it is not today: a scenario replays a
    # real case from its real dates (`starter.py scenario run`). Only a compressed calendar
    # may start elsewhere, and the command line's `start` never sets it: a real trajectory
    # starts today.
    starts_on: date | None = None

    @model_validator(mode="after")
    def _starts_elsewhere_only_compressed(self) -> Self:
        if self.starts_on is not None and self.speed <= 1.0:
            raise ValueError(
                "a calendar that starts on another day than today must run compressed "
                "(speed above 1): it is for scenarios, not for real trajectories"
            )
        return self


class TrajectoryRequest(_Model):
    """What a coordinator asks for when starting a trajectory."""

    cooperation_id: RegisterId
    cooperation_name: ShortText
    kind: CooperationKind
    participants: tuple[Participant, ...] = Field(min_length=1, max_length=100)
    # The association's members as the register listed them at start: the 16 municipalities
    # and WVI decide a statute or activity change of DVV Midwest, whoever the cooperation's
    # participants are. Empty in a request written before members were carried (or built by
    # hand without them): a round of "members" is then decided by the participants.
    members: tuple[Participant, ...] = Field(default=(), max_length=100)
    # The general assembly's date; None for a template without one (an informal overleg:
    # the partners stop and the board takes the activity up, no statute route).
    planned_av_date: date | None = None
    effective_date: date
    staff: tuple[StaffMember, ...] = Field(default=(), max_length=1000)
    assets: tuple[Asset, ...] = Field(default=(), max_length=1000)
    coordinator: ShortText
    deadlines: DeadlineCatalogue = DeadlineCatalogue()
    calendar: Calendar = Calendar()
    # Other cooperations merged into this one's trajectory, each with how it ends.
    merged: tuple[MergedStructure, ...] = Field(default=(), max_length=20)
    # The name the work continues under in DVV Midwest (BIE: het cultuur- en erfgoedplatform).
    continues_as: ShortText | None = None
    # The regional role applies to a project call after the assembly (regierol sociale
    # economie); the template's project-call steps run only then.
    project_call: bool = False
    # A shared service: the local government that hosts it (de trekkende gemeente), one of
    # the participants; its staff move and its service agreements are replaced.
    host: RegisterId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [p.authority_id for p in self.participants]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"participants listed twice: {', '.join(duplicates)}")
        member_ids = [m.authority_id for m in self.members]
        twice = sorted({i for i in member_ids if member_ids.count(i) > 1})
        if twice:
            raise ValueError(f"members listed twice: {', '.join(twice)}")
        if self.host is not None and self.host not in ids:
            raise ValueError(f"the trekkende gemeente {self.host} must be one of the participants")
        merged_ids = [m.cooperation_id for m in self.merged]
        repeated = sorted({i for i in merged_ids if merged_ids.count(i) > 1})
        if repeated:
            raise ValueError(f"merged cooperations listed twice: {', '.join(repeated)}")
        if self.cooperation_id in merged_ids:
            raise ValueError(
                f"{self.cooperation_id} is the trajectory's own cooperation, not one merged into it"
            )
        outside = [m.authority_id for m in self.members if not m.is_midwest_member]
        if outside:
            raise ValueError(f"members that are not members of DVV Midwest: {', '.join(outside)}")
        if self.planned_av_date is not None and self.effective_date < self.planned_av_date:
            raise ValueError(
                f"effective_date {self.effective_date} is before planned_av_date "
                f"{self.planned_av_date}; the transfer follows the general assembly"
            )
        if not all(
            2000 <= day.year <= 2100
            for day in (self.planned_av_date, self.effective_date)
            if day is not None
        ):
            raise ValueError("dates must lie between the years 2000 and 2100")
        return self


class TrajectoryInput(_Model):
    """The workflow's input: the request plus the template snapshotted at start."""

    request: TrajectoryRequest
    template: Template


# --- messages (updates and signals share these payloads) -------------------------------------


class _Message(_Model):
    """What every message carries besides its content.

    `sent_at` is the sender's wall clock when it sent the message. The workflow never reads a
    clock to decide anything (a replay must decide the same, and Temporal's workflow time is
    not always the same on replay); its calendar moves with the facts in its history, and a
    stamped message is such a fact. Our clients always stamp; a message without a stamp is
    taken to be sent at the trajectory's current calendar moment."""

    sent_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _plausible_stamp(self) -> Self:
        if self.sent_at is not None and not 2000 <= self.sent_at.year <= 2100:
            raise ValueError("sent_at must lie between the years 2000 and 2100")
        return self


class DelegateVote(_Model):
    """How one member's delegate voted in the general assembly (mandated by its council)."""

    authority_id: RegisterId
    outcome: Literal[Outcome.APPROVE, Outcome.REJECT, Outcome.ABSTAIN]


class DecisionInput(_Message):
    """A council's or body's decision on the trajectory's agenda item (LBLOD Besluit)."""

    authority_id: RegisterId
    outcome: Outcome
    # The council's session date, the legal fact. Left out, the trajectory takes its own
    # today, or the recorded date when the message repeats a recorded decision.
    session_date: date | None = None
    reference: ShortText  # the Besluit URI or a decision number
    step_id: RegisterId | None = None  # needed only when the authority has several open decisions
    votes_for: int | None = Field(default=None, ge=0, le=100_000)
    votes_against: int | None = Field(default=None, ge=0, le=100_000)
    votes_abstained: int | None = Field(default=None, ge=0, le=100_000)
    # A general assembly decides by its delegates' votes, weighed by the register; a step
    # with a rule evaluates them (members not listed were absent).
    delegates: tuple[DelegateVote, ...] = Field(default=(), max_length=100)
    # A session date before the step opened (or the trajectory started) is a decision taken
    # in advance: real, but rare, so the sender says why.
    taken_in_advance_because: ShortText | None = None
    recorded_by: ShortText
    note: LongText | None = None

    @model_validator(mode="after")
    def _delegates_once(self) -> Self:
        ids = [d.authority_id for d in self.delegates]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"delegates listed twice: {', '.join(twice)}")
        return self

    def same_content(self, other: DecisionInput) -> bool:
        """Equal as a decision (who recorded it does not matter)."""
        fields = {"recorded_by", "sent_at"}
        return self.model_dump(exclude=fields) == other.model_dump(exclude=fields)


class RecordedDecision(DecisionInput):
    """A decision as the trajectory recorded it: its step and session date are known."""

    step_id: RegisterId
    session_date: date


class TaskCompletion(_Message):
    step_id: RegisterId
    evidence: ShortText  # a document reference or link
    completed_by: ShortText
    # The day the task was really done; left out, the trajectory's today. Dates anchored on
    # the step count from it.
    done_on: date | None = None
    # As for a decision: a day before the step opened needs a reason.
    done_in_advance_because: ShortText | None = None
    note: LongText | None = None


class Amendment(_Message):
    """The coordinator's answer to a rejection: new dates and a new round for named parties."""

    reason: ShortText
    amended_by: ShortText
    reopen_for: tuple[RegisterId, ...] = ()  # empty: every party that did not approve
    planned_av_date: date | None = None
    effective_date: date | None = None
    # The proposal itself changes (a new statute text, other contributions): the law asks
    # for a new board text, a new statutory period and a new round of every member, so those
    # steps and everything after them start again. False: the same proposal, put again to
    # whoever has not approved (a council that postponed decides after all).
    changes_proposal: bool = False

    @model_validator(mode="after")
    def _reopen_or_restart(self) -> Self:
        if self.changes_proposal and self.reopen_for:
            raise ValueError(
                "a changed proposal starts every member's round again; leave reopen_for out"
            )
        return self


class JoinRequest(_Message):
    """Olievlek: an authority joins while the trajectory runs and gets its own decision."""

    participant: Participant
    joined_by: ShortText


class EffectiveDateChange(_Message):
    effective_date: date
    reason: ShortText
    changed_by: ShortText


class AbortRequest(_Message):
    reason: ShortText
    aborted_by: ShortText


# The failure type of the ApplicationError a refused message carries to its sender; clients
# (operations/messages.py) recognise a refusal by it, and read its reason.
REFUSAL_TYPE = "MessageRejected"


class RefusalReason(StrEnum):
    """Why the trajectory refused a message, for a client that acts on it; the refusal's text
    is for people. Carried as the first detail of the refusal's ApplicationError."""

    # The message is wrong as it stands: fix it before sending it again.
    INVALID = "invalid"
    # No open step takes it right now (not yet, or no longer): a sender that read an older
    # status reads it again; the same message may be taken once the step opens.
    NOT_OPEN = "not-open"


class Ack(_Model):
    """Answer to an update: accepted, or accepted as a repeat that changed nothing."""

    message: str
    no_op: bool = False


# --- status (query result) -------------------------------------------------------------------


class StepStatus(StrEnum):
    WAITING = "waiting"  # dependencies not done yet
    OPEN = "open"  # running, or waiting for people
    DONE = "done"
    REJECTED = "rejected"  # a decision or round that did not pass (renegotiation)
    CANCELLED = "cancelled"  # stopped by an abort
    COMPENSATED = "compensated"  # its effect was undone by an abort


class PartyDecision(_Model):
    authority_id: RegisterId
    outcome: Outcome | None  # None: no decision yet
    decision: RecordedDecision | None = None
    counted_as_abstention: bool = False  # silence at the deadline


class StepView(_Model):
    id: str
    title: str
    lane: Lane
    kind: StepKind
    phase: Phase
    status: StepStatus
    due: date | None = None
    overdue: bool = False
    earliest: date | None = None  # a task: the first day it may be done
    opened_on: date | None = None
    completed_on: date | None = None
    round_number: int = 0
    parties: tuple[PartyDecision, ...] = ()
    verdict: str | None = None  # e.g. reasons of a round's result
    evidence: str | None = None


class TrajectoryStatus(_Model):
    workflow_id: str
    cooperation_id: str
    cooperation_name: str
    kind: CooperationKind
    template_version: int
    phase: Phase
    today: date
    started_on: date
    planned_av_date: date | None
    effective_date: date
    needs_effective_date: bool
    participants: tuple[Participant, ...]
    # The association's members who decide its statute change (empty: the participants do).
    members: tuple[Participant, ...] = ()
    steps: tuple[StepView, ...]
    pending_authorities: tuple[str, ...]
    overdue: bool
    next_deadline: date | None
    timeline: tuple[AuditEvent, ...]
    rejected_messages: int
    finished_on: date | None = None
    abort_reason: str | None = None
    # The calendar, so a client can tell today's date without asking the workflow: `today`
    # above is as of the workflow's last activation and goes stale while it sleeps.
    started_at: datetime | None = None
    calendar_speed: float = 1.0
    # The calendar moment at started_at (None: the same moment; a scenario's lies earlier).
    calendar_origin: datetime | None = None
    # From the request, for the report: the trekkende gemeente of a shared service, the
    # cooperations merged in, the name the work continues under.
    host: RegisterId | None = None
    merged: tuple[MergedStructure, ...] = ()
    continues_as: str | None = None

    def calendar_today(self, now: datetime) -> date:
        """The trajectory's calendar date at wall-clock `now` (callers outside workflows)."""
        if self.started_at is None or self.finished_on is not None:
            return self.today
        elapsed = now - self.started_at
        origin = self.calendar_origin or self.started_at
        return max(self.today, (origin + elapsed * self.calendar_speed).date())

    def wall_time_of(self, day: date) -> datetime | None:
        """The wall-clock moment the trajectory's calendar reaches the start of `day`, the
        inverse of `calendar_today` (callers outside workflows); None when its calendar does
        not run (it finished, or the status predates the calendar fields)."""
        if self.started_at is None or self.finished_on is not None:
            return None
        origin = self.calendar_origin or self.started_at
        start = datetime.combine(day, time(), tzinfo=UTC)
        return self.started_at + (start - origin) / self.calendar_speed
