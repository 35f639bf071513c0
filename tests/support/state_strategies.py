"""Hypothesis strategies for `TrajectoryState` on its own, and a driver that plays the workflow.

The strategies draw *intents* (frozen dataclasses such as "a pending party decides" or "the
calendar moves 9 days"), not concrete messages: an intent is resolved against the state at the
moment it is played, so a sequence stays meaningful however the trajectory got there, shrinks
well, and a failing one can be written down as an explicit `@example`.

`Driver` does the workflow's part without Temporal, the way workflows/trajectory.py does it:
open ready steps, start and finish automatic steps, settle decisions (a verdict that is no
longer "open", or a round whose deadline closed it), run waits to their date, ask for a new
effective date, cancel and compensate on abort, finish; calling the same `TrajectoryState`
methods in the same order as the workflow class does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from rules.deadlines import legal_close_date
from schemas.common import AuthorityKind, CooperationKind, Outcome, StepKind
from schemas.template import ASSEMBLY_BODY, OLD_STRUCTURE, Template, WaitResume
from schemas.trajectory import (
    AbortRequest,
    Amendment,
    Asset,
    DecisionInput,
    DelegateVote,
    EffectiveDateChange,
    JoinRequest,
    Participant,
    StaffMember,
    StepStatus,
    TaskCompletion,
    TrajectoryInput,
    TrajectoryRequest,
)
from templates.loader import load_template
from tests.support.members import MUNICIPALITIES
from workflows.state import FINAL_OUTCOMES, StepState, TrajectoryState

# The projectvereniging of tests/support/trajectories.COOPERATION_FOR_KIND, for every kind:
# only its id matters to the state (the old structure's body).
COOPERATION = ("projectvereniging-bie", "Projectvereniging BIE")
# Authorities that are no party to any trajectory here (not in MUNICIPALITIES, not a body).
OUTSIDERS = ("brugge", "kortrijk")
# Who may join (olievlek): the region's members; those already taking part are refused.
JOINERS = (*MUNICIPALITIES, "wvi")
FIRST_START = date(2026, 1, 5)
RECORDER = "Secretariaat Midwest"
COORDINATOR = "Coördinator Midwest"

Message = (
    DecisionInput | TaskCompletion | Amendment | JoinRequest | EffectiveDateChange | AbortRequest
)


# --- the trajectory input ------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What a trajectory starts with: a real template and a handful of weighted parties."""

    kind: CooperationKind
    participants: tuple[tuple[str, int], ...]  # (authority id, votes at the assembly)
    start_offset: int  # days after FIRST_START
    av_after_days: int
    effective_after_av_days: int

    @property
    def started_on(self) -> date:
        return FIRST_START + timedelta(days=self.start_offset)


@cache
def _template(kind: CooperationKind) -> Template:
    # Parsing YAML for every example would dominate the run; templates are frozen models.
    return load_template(kind)


def participant(authority_id: str, votes: int = 1) -> Participant:
    """As tests/support/trajectories.participant: WVI is the intercommunale."""
    if authority_id == "wvi":
        return Participant(
            authority_id="wvi", name="WVI", kind=AuthorityKind.INTERCOMMUNALE, votes=votes
        )
    return Participant(authority_id=authority_id, name=authority_id.capitalize(), votes=votes)


def build_input(setup: Setup) -> TrajectoryInput:
    """The input the start operation sends (operations/start.py): the request as
    tests/support/trajectories.make_request builds it, with weighted parties."""
    start = setup.started_on
    av = start + timedelta(days=setup.av_after_days)
    request = TrajectoryRequest(
        cooperation_id=COOPERATION[0],
        cooperation_name=COOPERATION[1],
        kind=setup.kind,
        participants=tuple(participant(pid, votes) for pid, votes in setup.participants),
        planned_av_date=av,
        effective_date=av + timedelta(days=setup.effective_after_av_days),
        staff=(StaffMember(name="An Peeters", statute="contractual"),),
        assets=(Asset(description="Erfgoeddepot inrichting", kind="asset", value_eur=12000),),
        coordinator=COORDINATOR,
    )
    return TrajectoryInput(request=request, template=_template(setup.kind))


def setups() -> st.SearchStrategy[Setup]:
    parties = st.lists(
        st.tuples(st.sampled_from(JOINERS), st.integers(min_value=0, max_value=3)),
        min_size=1,
        max_size=6,
        unique_by=lambda party: party[0],
    ).map(tuple)
    return st.builds(
        Setup,
        # Projectvereniging first: examples shrink towards the default template.
        kind=st.sampled_from(
            [
                CooperationKind.PROJECTVERENIGING,
                *(k for k in CooperationKind if k.value != "projectvereniging"),
            ]
        ),
        participants=parties,
        start_offset=st.integers(min_value=0, max_value=365),
        av_after_days=st.integers(min_value=120, max_value=220),
        effective_after_av_days=st.integers(min_value=0, max_value=120),
    )


# --- intents -------------------------------------------------------------------------------


class Who(StrEnum):
    PENDING = "pending"  # a party without a final decision in an open decision
    DECIDED = "decided"  # a party that already has a decision recorded
    PARTICIPANT = "participant"  # any participant, open decision or not
    BODY = "body"  # a deciding body of a single decision step
    OUTSIDER = "outsider"  # no party to the trajectory at all


class Session(StrEnum):
    TODAY = "today"
    DAYS_AGO = "days-ago"
    BEFORE_DUE = "before-due"  # the day before the step's due date (may lie ahead)
    ON_DUE = "on-due"
    AFTER_DUE = "after-due"
    IN_ADVANCE = "in-advance"  # before the step opened, with the reason why
    BEFORE_OPENING = "before-opening"  # before the step opened, no reason: refused
    FUTURE = "future"
    ANCIENT = "ancient"  # before the year 2000
    OMITTED = "omitted"  # left to the trajectory (complete_decision)


@dataclass(frozen=True)
class Decide:
    who: Who
    index: int
    outcome: Outcome
    session: Session = Session.TODAY
    days: int = 1
    name_step: bool = False
    reference: int = 0  # same index, same session: the same Besluit


@dataclass(frozen=True)
class Resend:
    """A sender retries the index-th decision that was accepted earlier, unchanged."""

    index: int


class TaskTarget(StrEnum):
    OPEN = "open"
    DONE = "done"
    WAITING = "waiting"
    NOT_A_TASK = "not-a-task"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CompleteTask:
    target: TaskTarget
    index: int = 0
    evidence: int = 0  # for a done task: 0 repeats its recorded evidence, else differs


class Reopen(StrEnum):
    NOT_APPROVED = "not-approved"  # reopen_for empty: every party that did not approve
    ONE = "one"
    UNKNOWN = "unknown"


class AvChoice(StrEnum):
    KEEP = "keep"
    PAST = "past"
    LATER = "later"


class EffChoice(StrEnum):
    KEEP = "keep"
    PAST = "past"  # before today
    BEFORE_AV = "before-av"
    ON_AV = "on-av"
    LATER = "later"
    BEYOND_2100 = "beyond-2100"


@dataclass(frozen=True)
class Amend:
    reopen: Reopen = Reopen.NOT_APPROVED
    index: int = 0
    av: AvChoice = AvChoice.KEEP
    effective: EffChoice = EffChoice.KEEP
    days: int = 30


@dataclass(frozen=True)
class Join:
    index: int
    votes: int = 1


@dataclass(frozen=True)
class SetEffectiveDate:
    choice: EffChoice
    days: int = 30


@dataclass(frozen=True)
class Abort:
    """The coordinator aborts, once at least `after_steps` steps are done (an unconditional
    abort in every long sequence would keep most of them in the preparation)."""

    after_steps: int = 0


@dataclass(frozen=True)
class Settle:
    """The workflow's coroutines run: steps open, verdicts settle. With `activities`, the
    automatic steps' activities also return (messages may arrive while they run)."""

    activities: bool = True


@dataclass(frozen=True)
class Advance:
    """The calendar moves `days` forward, stopping at every timer on the way."""

    days: int


@dataclass(frozen=True)
class PlayEveryone:
    """Like tests/support/trajectories.play_everyone for one pass: every open task completed,
    every pending party decides; the party at `reject` (if any) rejects, the one at `silent`
    (if any) says nothing, so its round may close on its silence."""

    reject: int | None = None
    silent: int | None = None
    name_steps: bool = False


Intent = (
    Decide
    | Resend
    | CompleteTask
    | Amend
    | Join
    | SetEffectiveDate
    | Abort
    | Settle
    | Advance
    | PlayEveryone
)

_small = st.integers(min_value=0, max_value=7)


def intents() -> st.SearchStrategy[Intent]:
    decide = st.builds(
        Decide,
        who=st.sampled_from([Who.PENDING, Who.PENDING, Who.PENDING, *Who]),
        index=_small,
        outcome=st.sampled_from(
            [Outcome.APPROVE, Outcome.REJECT, Outcome.POSTPONE, Outcome.ABSTAIN]
        ),
        # Mostly plausible dates, so that decisions are recorded and rounds settle.
        session=st.sampled_from(
            [Session.TODAY, Session.TODAY, Session.DAYS_AGO, Session.OMITTED, *Session]
        ),
        days=st.integers(min_value=1, max_value=40),
        name_step=st.booleans(),
        reference=st.integers(min_value=0, max_value=1),
    )
    task = st.builds(
        CompleteTask,
        target=st.sampled_from(list(TaskTarget)),
        index=_small,
        evidence=st.integers(min_value=0, max_value=1),
    )
    amend = st.builds(
        Amend,
        reopen=st.sampled_from([Reopen.NOT_APPROVED, *Reopen]),
        index=_small,
        # Mostly amendments the state accepts: renegotiation has to end for sequences to go on.
        av=st.sampled_from([AvChoice.KEEP, AvChoice.KEEP, AvChoice.LATER, *AvChoice]),
        effective=st.sampled_from([EffChoice.KEEP, EffChoice.KEEP, EffChoice.LATER, *EffChoice]),
        days=st.integers(min_value=1, max_value=120),
    )
    choices: list[st.SearchStrategy[Intent]] = [
        # Settling, moving on and everyone answering make sequences get far (two variants
        # each: st.one_of keeps only one of two equal strategies).
        st.builds(Settle, activities=st.booleans()),
        st.builds(Advance, days=st.integers(min_value=1, max_value=60)),
        st.builds(
            PlayEveryone,
            reject=st.none() | st.integers(min_value=0, max_value=3),
            silent=st.none() | st.integers(min_value=0, max_value=3),
            name_steps=st.booleans(),
        ),
        st.builds(Settle),
        st.builds(PlayEveryone),
        decide,
        task,
        st.builds(Resend, index=_small),
        amend,
        st.builds(Join, index=st.integers(min_value=0, max_value=len(JOINERS) - 1), votes=_small),
        st.builds(
            SetEffectiveDate,
            choice=st.sampled_from(list(EffChoice)),
            days=st.integers(min_value=0, max_value=120),
        ),
        st.builds(Abort, after_steps=st.integers(min_value=0, max_value=100)),
    ]
    return st.one_of(choices)


def sequences(min_size: int = 25, max_size: int = 70) -> st.SearchStrategy[list[Intent]]:
    # Long enough to get through a template (about a dozen rounds of messages and the legal
    # periods); shrinking still finds the short sequence behind a failure.
    return st.lists(intents(), min_size=min_size, max_size=max_size)


# --- what a test expects of one message ----------------------------------------------------


class Expect(StrEnum):
    ANY = "any"
    REFUSED = "refused"
    NO_OP = "no-op"


@dataclass(frozen=True)
class Planned:
    message: Message
    expect: Expect = Expect.ANY
    why: str = ""


@dataclass
class Checked:
    """A message the state's check_* accepted: the step it belongs to, or a no-op."""

    message: Message  # as the state checked it (a decision completed by the trajectory)
    step: StepState | None
    no_op: bool
    sent: Message  # as the sender sent it


# --- snapshots -----------------------------------------------------------------------------


def snapshot(state: TrajectoryState) -> tuple[Any, ...]:
    """Everything the state holds, as a value: any change to any attribute, however deep,
    makes two snapshots differ. (copy.deepcopy did the same at five times the cost, copying
    every frozen model.)"""
    frozen = _frozen(state)
    assert isinstance(frozen, tuple)
    return frozen


# Values that cannot change in place (StrEnum members are str).
_IMMUTABLE = (str, int, float, date, type(None))


def _frozen(value: Any) -> Any:
    # List comprehensions rather than generators: this runs for every message, twice.
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, BaseModel):
        # A frozen model cannot change under us: it stands for itself.
        return value if value.model_config.get("frozen") else value.model_dump()
    kind = type(value)
    names = getattr(kind, "__dataclass_fields__", None)
    if names is not None:
        return (kind.__name__, *[_frozen(getattr(value, name)) for name in names])
    if kind is dict:
        return tuple([(key, _frozen(item)) for key, item in value.items()])
    if kind is list or kind is tuple:
        return tuple([_frozen(item) for item in value])
    if kind is set or kind is frozenset:
        return frozenset([_frozen(item) for item in value])
    if hasattr(value, "__dict__"):
        # Memos of pure functions of the state (TrajectoryState.MEMOS) are not state.
        memos = getattr(kind, "MEMOS", ())
        held = {name: item for name, item in vars(value).items() if name not in memos}
        return (kind.__name__, _frozen(held))
    return value


# --- the driver ----------------------------------------------------------------------------


@dataclass
class Shadow:
    """What the test itself knows of each decision step, kept apart from PartyState: the
    parties it expects and the outcome each last had accepted (ABSTAIN once a round closed
    on its silence, None when it has none)."""

    outcomes: dict[str, dict[str, Outcome | None]] = field(default_factory=dict)


class Driver:
    def __init__(self, inp: TrajectoryInput, started_on: date) -> None:
        self.input = inp
        self.today = started_on  # the workflow's calendar date (_today)
        self.state = TrajectoryState(inp, self.today)
        # Step coroutines that wait for the renegotiation to end (workflow: _run_decision).
        self.awaiting_renegotiation: set[str] = set()
        self.accepted_decisions: list[DecisionInput] = []
        # Weight and kind of every participant, as the test learnt them (request and joins).
        self.weights: dict[str, tuple[int, bool]] = {
            p.authority_id: (p.votes, p.is_municipality) for p in inp.request.participants
        }
        self.participant_ids: list[str] = [p.authority_id for p in inp.request.participants]
        self.shadow = Shadow()
        self.trace: list[str] = []

    # --- identities --------------------------------------------------------------------------

    def body_of(self, step: StepState) -> str:
        body = step.spec.body
        assert body is not None
        return self.input.request.cooperation_id if body == OLD_STRUCTURE else body

    def running(self) -> bool:
        s = self.state
        return s.abort is None and not s.aborted and s.finished_on is None

    # --- the workflow's coroutines -----------------------------------------------------------

    def settle(self, *, activities: bool) -> list[str]:
        """Run the workflow's part until nothing more happens at this moment. Returns the ids
        of decision steps whose verdict settled (for the verdict checks)."""
        settled: list[str] = []
        changed = True
        while changed:
            changed = False
            state = self.state
            if state.finished_on is not None:
                break
            if state.abort is not None:
                self._abort()
                break
            for step in state.ready_steps():
                self._open(step)
                changed = True
            for step in list(state.steps.values()):
                if step.status is StepStatus.OPEN:
                    changed |= self._run(step, activities=activities, settled=settled)
                elif (
                    step.status is StepStatus.REJECTED
                    and step.spec.id in self.awaiting_renegotiation
                    and state.renegotiating is None
                ):
                    # The renegotiation ended (perhaps of another step): the coroutine loops
                    # and evaluates this step again, amended or not.
                    self.awaiting_renegotiation.discard(step.spec.id)
                    changed |= self._settle_decision(step, settled)
            if state.all_done():
                state.finish(self.today)  # run(), after _drive
                self.trace.append(f"{self.today}: finished")
                break
        return settled

    def _open(self, step: StepState) -> None:
        self.state.open_step(step, self.today)
        self.trace.append(f"{self.today}: open {step.spec.id}")
        if step.spec.kind is StepKind.DECISION:
            self.shadow.outcomes[step.spec.id] = {self.body_of(step): None}
        elif step.spec.kind is StepKind.DECISION_ROUND:
            # Who decides is the state's to say (members or participants); the test knows the
            # participants it started and let join, which decide when no members are carried.
            deciders = self.state.decider_ids(step.spec)
            assert deciders == self.participant_ids or self.input.request.members
            self.shadow.outcomes[step.spec.id] = dict.fromkeys(deciders)

    def _run(self, step: StepState, *, activities: bool, settled: list[str]) -> bool:
        kind = step.spec.kind
        if kind is StepKind.AUTOMATIC:
            if not step.started_action:
                self.state.start_action(step)
                return True
            if activities:
                assert step.spec.action is not None
                self.state.complete_step(step, self.today, evidence=f"{step.spec.action.name} done")
                self.trace.append(f"{self.today}: done {step.spec.id}")
                return True
            return False
        if kind in (StepKind.DECISION, StepKind.DECISION_ROUND):
            return self._settle_decision(step, settled)
        if kind is StepKind.WAIT:
            return self._run_wait(step)
        return False  # a task is done by a message only

    def round_closes_on(self, step: StepState) -> date | None:
        """The day the workflow's deadline timer closes an open round: the day after its due
        date, whatever the escalation grace."""
        due = self.state.due_date(step)
        if due is None or step.spec.kind is not StepKind.DECISION_ROUND:
            return None
        return legal_close_date(due)

    def _settle_decision(self, step: StepState, settled: list[str]) -> bool:
        # Mirrors _await_verdict and _run_decision.
        state = self.state
        status, reasons = state.verdict(step, closed=False)
        if status == "open":
            closes = self.round_closes_on(step)
            if closes is None or self.today < closes or step.status is not StepStatus.OPEN:
                return False
            silent = state.close_round(step)
            self.trace.append(f"{self.today}: round {step.spec.id} closed, silent {silent}")
            for authority_id in silent:
                self.shadow.outcomes[step.spec.id][authority_id] = Outcome.ABSTAIN
            status, reasons = state.verdict(step, closed=False)
            if status == "open":
                status, reasons = state.verdict(step, closed=True)
        settled.append(step.spec.id)
        if status == "approved":
            state.pass_decision(step, reasons, self.today)
            self.trace.append(f"{self.today}: {step.spec.id} approved")
        else:
            state.reject_decision(step, reasons)
            self.awaiting_renegotiation.add(step.spec.id)
            self.trace.append(f"{self.today}: {step.spec.id} rejected")
        return True

    def wait_resumes_on(self, step: StepState) -> date | None:
        rule = step.spec.wait_until
        assert rule is not None
        target = self.state.date_for(rule)
        if target is None:
            return None
        return target if step.spec.resume is WaitResume.START_OF_DAY else target + timedelta(days=1)

    def _run_wait(self, step: StepState) -> bool:
        # Mirrors _run_wait and _settle_effective_date: never wait for a date already passed.
        state = self.state
        assert step.spec.wait_until is not None
        if step.spec.wait_until.anchor == "effective-date":
            if state.needs_effective_date:
                return False
            if state.effective_date < self.today:
                state.ask_effective_date()
                self.trace.append(f"{self.today}: a new effective date is needed")
                return True
        resume = self.wait_resumes_on(step)
        if resume is None or self.today < resume:
            return False
        state.complete_step(step, self.today)
        self.trace.append(f"{self.today}: waited {step.spec.id}")
        return True

    def _abort(self) -> None:
        # Mirrors _cancel_steps and _compensate: running activities finish, the open steps are
        # cancelled, completed steps with a compensation are compensated newest first.
        state = self.state
        for step in state.steps.values():
            if step.status is StepStatus.OPEN and step.started_action:
                state.complete_step(step, self.today, evidence="finished before the abort")
        for step in state.steps.values():
            if step.status is StepStatus.OPEN:
                state.cancel_step(step)
        for step_id in reversed(state.completion_order):
            step = state.steps[step_id]
            if step.spec.compensation is not None:
                state.compensate_step(step)
        state.finish_aborted(self.today)
        self.trace.append(f"{self.today}: aborted")

    def wake_days(self) -> list[date]:
        """Days after today on which a workflow timer changes the state."""
        days: list[date] = []
        for step in self.state.steps.values():
            if step.status is not StepStatus.OPEN:
                continue
            if step.spec.kind is StepKind.DECISION_ROUND:
                closes = self.round_closes_on(step)
                if closes is not None:
                    days.append(closes)
            elif step.spec.kind is StepKind.WAIT:
                resume = self.wait_resumes_on(step)
                if resume is not None:
                    days.append(resume)
        return sorted(day for day in days if day > self.today)

    def advance(self, days: int) -> Iterator[list[str]]:
        """Move the calendar, stopping at each timer; yields what each stop settled."""
        target = self.today + timedelta(days=days)
        while True:
            yield self.settle(activities=True)
            upcoming = [day for day in self.wake_days() if day <= target]
            if self.today >= target:
                return
            self.today = upcoming[0] if upcoming else target

    # --- messages ----------------------------------------------------------------------------

    def check(self, message: Message) -> Checked:
        """The state's check_* for a message; raises MessageRejected."""
        state, today = self.state, self.today
        if isinstance(message, DecisionInput):
            # As _apply_decision: the trajectory fills in the step and the session date first.
            completed = state.complete_decision(message, today)
            step = state.check_decision(completed, today)
            return Checked(completed, step, step is None, message)
        if isinstance(message, TaskCompletion):
            step = state.check_task(message, today)
            return Checked(message, step, step is None, message)
        if isinstance(message, Amendment):
            return Checked(message, state.check_amendment(message, today), False, message)
        if isinstance(message, JoinRequest):
            state.check_join(message)
        elif isinstance(message, EffectiveDateChange):
            state.check_effective_date(message, today)
        else:
            state.check_abort()
        return Checked(message, None, False, message)

    def apply(self, checked: Checked) -> None:
        """What the workflow's _apply_* does after the check passed."""
        state, message, step = self.state, checked.message, checked.step
        if isinstance(message, DecisionInput):
            assert step is not None
            stored = state.apply_decision(step, message)
            assert isinstance(checked.sent, DecisionInput)
            self.accepted_decisions.append(checked.sent)
            self.shadow.outcomes[step.spec.id][message.authority_id] = stored.outcome
            if state.revise_round(step, self.today) is not None:
                # A decision taken in time, recorded within the grace: the closed round is
                # evaluated again; a rejection it overturns ends the renegotiation.
                self.trace.append(f"{self.today}: {step.spec.id} revised")
                if step.status is StepStatus.OPEN:
                    self.awaiting_renegotiation.discard(step.spec.id)
        elif isinstance(message, TaskCompletion):
            assert step is not None
            state.apply_task(step, message, self.today)
        elif isinstance(message, Amendment):
            assert step is not None
            reopened = state.apply_amendment(step, message)
            for authority_id in reopened:
                self.shadow.outcomes[step.spec.id][authority_id] = None
        elif isinstance(message, JoinRequest):
            state.apply_join(message)
            joiner = message.participant
            self.weights[joiner.authority_id] = (joiner.votes, joiner.is_municipality)
            self.participant_ids.append(joiner.authority_id)
            for step_id, parties in self.shadow.outcomes.items():
                candidate = state.steps[step_id]
                # A newcomer decides in every round not yet settled: the open ones and a
                # rejected one under renegotiation, which an amendment reopens.
                if joiner.authority_id in candidate.parties and candidate.status in (
                    StepStatus.OPEN,
                    StepStatus.REJECTED,
                ):
                    parties[joiner.authority_id] = None
        elif isinstance(message, EffectiveDateChange):
            state.apply_effective_date(message)
        else:
            state.apply_abort(message)
        self.trace.append(f"{self.today}: accepted {type(message).__name__}")

    # --- intents to messages -----------------------------------------------------------------

    def plan(self, intent: Intent) -> list[Planned]:
        if isinstance(intent, Decide):
            return [self._plan_decision(intent)]
        if isinstance(intent, Resend):
            if not self.accepted_decisions:
                return []
            return [Planned(self.accepted_decisions[intent.index % len(self.accepted_decisions)])]
        if isinstance(intent, CompleteTask):
            return [self._plan_task(intent)]
        if isinstance(intent, Amend):
            return [self._plan_amendment(intent)]
        if isinstance(intent, Join):
            return [self._plan_join(intent)]
        if isinstance(intent, SetEffectiveDate):
            return [self._plan_effective_date(intent)]
        if isinstance(intent, Abort):
            if len(self.state.completion_order) < intent.after_steps:
                return []
            return [Planned(AbortRequest(reason="Het traject stopt", aborted_by=COORDINATOR))]
        if isinstance(intent, PlayEveryone):
            return self._plan_everyone(intent)
        raise AssertionError(f"not a message intent: {intent!r}")

    def _open_decisions(self) -> list[StepState]:
        return [
            s for s in self.state.steps.values() if s.is_decision and s.status is StepStatus.OPEN
        ]

    def _plan_decision(self, intent: Decide) -> Planned:
        state = self.state
        pending = [(s, pid) for s in self._open_decisions() for pid in state.pending_parties(s)]
        decided = [
            (s, pid)
            for s in state.steps.values()
            for pid, party in s.parties.items()
            if party.decision is not None
        ]
        who = intent.who
        if who is Who.PENDING and not pending:
            who = Who.PARTICIPANT
        if who is Who.DECIDED and not decided:
            who = Who.PARTICIPANT
        step: StepState | None = None
        expect, why = Expect.ANY, ""
        if who is Who.PENDING:
            step, authority_id = pending[intent.index % len(pending)]
        elif who is Who.DECIDED:
            step, authority_id = decided[intent.index % len(decided)]
        elif who is Who.PARTICIPANT:
            ids = state.participant_ids()
            authority_id = ids[intent.index % len(ids)]
        elif who is Who.BODY:
            bodies = sorted(
                {self.body_of(s) for s in state.steps.values() if s.spec.kind is StepKind.DECISION}
            )
            authority_id = bodies[intent.index % len(bodies)]
            step = next(
                (s for s in state.steps.values() if s.is_decision and authority_id in s.parties),
                None,
            )
        else:
            authority_id = OUTSIDERS[intent.index % len(OUTSIDERS)]
            expect, why = Expect.REFUSED, "no party to the trajectory"
        session = self._session_date(intent, step)
        if session is not None and session > self.today:
            expect, why = Expect.REFUSED, "session date in the future"
        if session is not None and session.year < 2000:
            expect, why = Expect.REFUSED, "session date before 2000"
        opened = step.opened_on if step is not None else None
        before_opening = (
            session is not None
            and opened is not None
            and session < opened
            and intent.session is not Session.IN_ADVANCE
        )
        if who is Who.PENDING and before_opening and expect is Expect.ANY:
            expect, why = Expect.REFUSED, "session before the step opened, no reason given"
        day = session.isoformat() if session is not None else "zitting"
        message = DecisionInput(
            authority_id=authority_id,
            outcome=intent.outcome,
            session_date=session,
            reference=f"https://{authority_id}.example/besluit/{day}/{intent.reference}",
            step_id=step.spec.id if intent.name_step and step is not None else None,
            delegates=self._delegates(authority_id, intent.outcome),
            taken_in_advance_because=(
                "besluit vooraf genomen" if intent.session is Session.IN_ADVANCE else None
            ),
            recorded_by=RECORDER,
        )
        if not self.running():
            expect, why = Expect.REFUSED, "the trajectory no longer runs"
        return Planned(message, expect, why)

    def _delegates(self, authority_id: str, outcome: Outcome) -> tuple[DelegateVote, ...]:
        """A general assembly's approval shows its delegates' votes: every member's delegate
        approving (the participants stand in when the request carries no members)."""
        if authority_id != ASSEMBLY_BODY or outcome is not Outcome.APPROVE:
            return ()
        members = self.input.request.members or tuple(self.state.participants)
        return tuple(
            DelegateVote(authority_id=m.authority_id, outcome=Outcome.APPROVE) for m in members
        )

    def _session_date(self, intent: Decide, step: StepState | None) -> date | None:
        today, session = self.today, intent.session
        due = self.state.due_date(step) if step is not None else None
        opened = step.opened_on if step is not None else None
        if session is Session.DAYS_AGO:
            return today - timedelta(days=intent.days)
        if session in (Session.BEFORE_DUE, Session.ON_DUE, Session.AFTER_DUE) and due is not None:
            shift = {Session.BEFORE_DUE: -1, Session.ON_DUE: 0, Session.AFTER_DUE: 1}[session]
            return due + timedelta(days=shift)
        if session in (Session.IN_ADVANCE, Session.BEFORE_OPENING) and opened is not None:
            return opened - timedelta(days=intent.days)
        if session is Session.FUTURE:
            return today + timedelta(days=intent.days)
        if session is Session.ANCIENT:
            return date(1999, 12, 31)
        if session is Session.OMITTED:
            return None
        return today

    def _plan_task(self, intent: CompleteTask) -> Planned:
        state = self.state
        tasks = [s for s in state.steps.values() if s.spec.kind is StepKind.TASK]
        by_status = {
            TaskTarget.OPEN: [s for s in tasks if s.status is StepStatus.OPEN],
            TaskTarget.DONE: [s for s in tasks if s.status is StepStatus.DONE],
            TaskTarget.WAITING: [s for s in tasks if s.status is StepStatus.WAITING],
            TaskTarget.NOT_A_TASK: [
                s for s in state.steps.values() if s.spec.kind is not StepKind.TASK
            ],
        }
        target = intent.target
        candidates = by_status.get(target, [])
        expect, why = Expect.ANY, ""
        if target is TaskTarget.UNKNOWN or not candidates:
            step_id, evidence = "no-such-step", "doc://nowhere"
            expect, why = Expect.REFUSED, "no such task"
        else:
            step = candidates[intent.index % len(candidates)]
            step_id, evidence = step.spec.id, f"doc://{step.spec.id}/{intent.evidence}"
            if target is TaskTarget.DONE:
                recorded = step.completion.evidence if step.completion else None
                if intent.evidence == 0 and recorded is not None:
                    evidence = recorded
                    expect, why = Expect.NO_OP, "the same completion again"
                else:
                    expect, why = Expect.REFUSED, "a done task, other evidence"
                    if recorded == evidence:
                        expect, why = Expect.NO_OP, "the same completion again"
            elif target in (TaskTarget.WAITING, TaskTarget.NOT_A_TASK):
                expect, why = Expect.REFUSED, f"{target.value} step"
        if not self.running():
            expect, why = Expect.REFUSED, "the trajectory no longer runs"
        message = TaskCompletion(step_id=step_id, evidence=evidence, completed_by=COORDINATOR)
        return Planned(message, expect, why)

    def _plan_amendment(self, intent: Amend) -> Planned:
        state, today = self.state, self.today
        expect, why = Expect.ANY, ""
        reopen: tuple[str, ...] = ()
        if intent.reopen is Reopen.ONE:
            parties = (
                list(state.steps[state.renegotiating].parties)
                if state.renegotiating is not None
                else state.participant_ids()
            )
            reopen = (parties[intent.index % len(parties)],)
        elif intent.reopen is Reopen.UNKNOWN:
            reopen = (OUTSIDERS[0],)
            expect, why = Expect.REFUSED, "reopen for a non-party"
        av = {
            AvChoice.KEEP: None,
            AvChoice.PAST: today - timedelta(days=1),
            AvChoice.LATER: today + timedelta(days=intent.days),
        }[intent.av]
        effective = self._effective_choice(intent.effective, intent.days, av)
        if state.renegotiating is None or not self.running():
            expect, why = Expect.REFUSED, "nothing to amend"
        message = Amendment(
            reason="Voorstel aangepast",
            amended_by=COORDINATOR,
            reopen_for=reopen,
            planned_av_date=av,
            effective_date=effective,
        )
        return Planned(message, expect, why)

    def _effective_choice(self, choice: EffChoice, days: int, av: date | None) -> date | None:
        today = self.today
        av_date = av or self.state.planned_av_date
        assert av_date is not None  # the strategies drive templates with an assembly
        return {
            EffChoice.KEEP: None,
            EffChoice.PAST: today - timedelta(days=1),
            EffChoice.BEFORE_AV: av_date - timedelta(days=1),
            EffChoice.ON_AV: av_date,
            EffChoice.LATER: max(today, av_date) + timedelta(days=days),
            EffChoice.BEYOND_2100: date(2101, 1, 1),
        }[choice]

    def _plan_join(self, intent: Join) -> Planned:
        authority_id = JOINERS[intent.index % len(JOINERS)]
        joiner = participant(authority_id, intent.votes)
        expect, why = Expect.ANY, ""
        if authority_id in self.state.participant_ids():
            expect, why = Expect.REFUSED, "already takes part"
        if not self.running():
            expect, why = Expect.REFUSED, "the trajectory no longer runs"
        return Planned(JoinRequest(participant=joiner, joined_by=COORDINATOR), expect, why)

    def _plan_effective_date(self, intent: SetEffectiveDate) -> Planned:
        choice = EffChoice.ON_AV if intent.choice is EffChoice.KEEP else intent.choice
        effective = self._effective_choice(choice, intent.days, None)
        assert effective is not None
        expect, why = Expect.ANY, ""
        if choice in (EffChoice.PAST, EffChoice.BEFORE_AV, EffChoice.BEYOND_2100):
            expect, why = Expect.REFUSED, f"effective date {choice.value}"
        if not self.running():
            expect, why = Expect.REFUSED, "the trajectory no longer runs"
        message = EffectiveDateChange(
            effective_date=effective, reason="Nieuwe ingangsdatum", changed_by=COORDINATOR
        )
        return Planned(message, expect, why)

    def _plan_everyone(self, intent: PlayEveryone) -> list[Planned]:
        state = self.state
        planned: list[Planned] = [
            Planned(
                TaskCompletion(
                    step_id=step_id, evidence=f"doc://{step_id}", completed_by=COORDINATOR
                )
            )
            for step_id in state.open_task_ids()
        ]
        pending = [(s, pid) for s in self._open_decisions() for pid in state.pending_parties(s)]
        open_for = Counter(pid for s in self._open_decisions() for pid, party in s.parties.items())
        for number, (step, authority_id) in enumerate(pending):
            if number == intent.silent:
                continue
            outcome = Outcome.REJECT if number == intent.reject else Outcome.APPROVE
            planned.append(
                Planned(
                    DecisionInput(
                        authority_id=authority_id,
                        outcome=outcome,
                        session_date=self.today,
                        # One Besluit per agenda item: a body deciding two steps on one day
                        # still takes two decisions.
                        reference=(
                            f"https://{authority_id}.example/besluit/{self.today.isoformat()}/"
                            f"{step.spec.id}"
                        ),
                        # Two open decisions of one council (the members' round and the
                        # participants' own) are told apart by naming the step, as the
                        # trajectory demands.
                        step_id=(
                            step.spec.id
                            if intent.name_steps or open_for[authority_id] > 1
                            else None
                        ),
                        delegates=self._delegates(authority_id, outcome),
                        recorded_by=RECORDER,
                    )
                )
            )
        return planned


def start(setup: Setup) -> Driver:
    return Driver(build_input(setup), setup.started_on)


def final(outcome: Outcome | None) -> bool:
    return outcome in FINAL_OUTCOMES
