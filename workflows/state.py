"""The trajectory as a deterministic state machine, independent of Temporal.

The workflow class (workflows/trajectory.py) owns timers, activities and message handlers; it
delegates every decision about *what the trajectory means* to this module: which steps are
ready, whether a message is acceptable, what a round's verdict is, which phase we are in.
Everything here takes "today" as an argument and never reads a clock, so it is safe inside
the workflow sandbox and testable as plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from rules.deadlines import concrete_rule, deadline_for, recording_closes_on
from rules.voting import RoundVerdict, evaluate
from schemas.common import Lane, Outcome, StepKind
from schemas.deadlines import DeadlineRule, LeadTime
from schemas.rules import DecisionRule, PartyVote, Unanimity, Verdict
from schemas.template import (
    ASSEMBLY_BODY,
    OLD_STRUCTURE,
    STEP_PHASES,
    Deciders,
    Phase,
    StepSpec,
)
from schemas.trajectory import (
    AbortRequest,
    Amendment,
    DecisionInput,
    EffectiveDateChange,
    JoinRequest,
    Participant,
    PartyDecision,
    RecordedDecision,
    RefusalReason,
    StepStatus,
    StepView,
    TaskCompletion,
    TrajectoryInput,
)

FINAL_OUTCOMES = (Outcome.APPROVE, Outcome.REJECT, Outcome.ABSTAIN)
# One party's vote as a verdict counts it: authority, weight, municipality or not, outcome.
_VoteKey = tuple[str, int, bool, Outcome | None]
# A phase's place in the trajectory's order of phases.
_PHASE_RANK = {phase: rank for rank, phase in enumerate(STEP_PHASES)}
# A single body's own decision passes only when it approves.
_SINGLE_BODY_RULE: DecisionRule = Unanimity()
EARLIEST_SESSION_YEAR = 2000
# Planned dates beyond this year are typing errors, not plans (and date arithmetic on
# 9999-12-31 would overflow).
LATEST_PLANNED_YEAR = 2100


class MessageRejected(ValueError):
    """A message a validator refuses; its text is shown to the sender as it is, its reason
    tells a client what to do about it."""

    def __init__(self, text: str, reason: RefusalReason = RefusalReason.INVALID) -> None:
        super().__init__(text)
        self.reason = reason


@dataclass
class PartyState:
    authority_id: str
    decision: RecordedDecision | None = None
    counted_as_abstention: bool = False  # silence at the deadline

    @property
    def outcome(self) -> Outcome | None:
        if self.counted_as_abstention:
            return Outcome.ABSTAIN
        return self.decision.outcome if self.decision is not None else None

    @property
    def final(self) -> bool:
        return self.outcome in FINAL_OUTCOMES


@dataclass
class StepState:
    spec: StepSpec
    status: StepStatus = StepStatus.WAITING
    opened_on: date | None = None
    completed_on: date | None = None
    round_number: int = 0
    parties: dict[str, PartyState] = field(default_factory=dict)
    verdict: str | None = None
    evidence: str | None = None
    completion: TaskCompletion | None = None
    started_action: bool = False  # an automatic step whose activity was scheduled
    restarts: int = 0  # times a changed proposal put it back to waiting

    @property
    def is_decision(self) -> bool:
        return self.spec.kind in (StepKind.DECISION, StepKind.DECISION_ROUND)


class TrajectoryState:
    """All that the workflow knows about one trajectory, and the rules to change it."""

    # Attributes that only remember results of pure functions of the state: not state.
    MEMOS = ("_dates", "_verdicts")

    def __init__(self, inp: TrajectoryInput, started_on: date) -> None:
        self.input = inp
        self.request = inp.request
        self.started_on = started_on
        self.participants: list[Participant] = list(inp.request.participants)
        self.members: tuple[Participant, ...] = inp.request.members
        # By id, a participant before a member of the same id (as `_participant` answers):
        # asked for every party of a round each time its votes are read.
        self._by_id: dict[str, Participant] = {p.authority_id: p for p in self.members}
        self._by_id.update((p.authority_id, p) for p in self.participants)
        self.planned_av_date = inp.request.planned_av_date
        self.effective_date = inp.request.effective_date
        self.needs_effective_date = False
        self.renegotiating: str | None = None  # the rejected step awaiting amend or abort
        self.abort: AbortRequest | None = None
        self.aborted = False
        self.finished_on: date | None = None
        self.rejected_messages = 0
        self.completion_order: list[str] = []
        self.steps: dict[str, StepState] = {s.id: StepState(s) for s in inp.template.steps}
        self._dates: dict[tuple[int, date], date] = {}  # date_for, by rule and anchor date
        # verdict, by step, closed or not, and the votes as they stand (see `verdict`)
        self._verdicts: dict[tuple[str, bool, tuple[_VoteKey, ...]], RoundVerdict] = {}

    # --- identities -------------------------------------------------------------------------

    def body_id(self, spec: StepSpec) -> str:
        assert spec.body is not None
        return self.request.cooperation_id if spec.body == OLD_STRUCTURE else spec.body

    def participant_ids(self) -> list[str]:
        return [p.authority_id for p in self.participants]

    def took_part(self) -> tuple[Participant, ...]:
        """The participants who took part to the end, newcomers (olievlek) included: a
        participant whose final word in one of the participants' own rounds is a rejection
        (outvoted under a majority rule) does not join."""
        declined = {
            authority_id
            for step in self.steps.values()
            if step.spec.kind is StepKind.DECISION_ROUND
            and step.spec.deciders is not Deciders.MEMBERS
            for authority_id, party in step.parties.items()
            if party.outcome is Outcome.REJECT
        }
        return tuple(p for p in self.participants if p.authority_id not in declined)

    def decider_ids(self, spec: StepSpec) -> list[str]:
        """Who decides in a round: the association's members for a change of DVV Midwest
        itself, else the cooperation's participants. A request that carries no members (one
        written before they were carried) lets its participants decide either way."""
        if spec.deciders is Deciders.MEMBERS and self.members:
            return [m.authority_id for m in self.members]
        return self.participant_ids()

    def name_of(self, authority_id: str) -> str:
        """An authority's name for a Dutch sentence (its register id when the trajectory
        does not know it: a body of DVV Midwest, the old structure)."""
        participant = self._participant(authority_id)
        if participant is not None:
            return participant.name
        if authority_id == self.request.cooperation_id:
            return self.request.cooperation_name
        return authority_id

    def _participant(self, authority_id: str) -> Participant | None:
        return self._by_id.get(authority_id)

    # --- the step graph ---------------------------------------------------------------------

    def ready_steps(self) -> list[StepState]:
        """Waiting steps whose dependencies are all done, in template order."""
        if self.aborted or self.abort is not None:
            return []
        return [
            step
            for step in self.steps.values()
            if step.status is StepStatus.WAITING
            and all(self.steps[d].status is StepStatus.DONE for d in step.spec.depends_on)
        ]

    def all_done(self) -> bool:
        return all(step.status is StepStatus.DONE for step in self.steps.values())

    def open_step(self, step: StepState, today: date) -> None:
        step.status = StepStatus.OPEN
        step.opened_on = today
        if step.spec.kind is StepKind.DECISION:
            body = self.body_id(step.spec)
            step.parties = {body: PartyState(body)}
        elif step.spec.kind is StepKind.DECISION_ROUND:
            step.parties = {pid: PartyState(pid) for pid in self.decider_ids(step.spec)}

    def complete_step(self, step: StepState, today: date, evidence: str | None = None) -> None:
        step.status = StepStatus.DONE
        step.completed_on = today
        if evidence is not None:
            step.evidence = evidence
        self.completion_order.append(step.spec.id)

    def start_action(self, step: StepState) -> None:
        """An automatic step's activity is under way (the transfer counts from here)."""
        step.started_action = True

    def cancel_step(self, step: StepState) -> None:
        step.status = StepStatus.CANCELLED

    def compensate_step(self, step: StepState) -> None:
        step.status = StepStatus.COMPENSATED

    def pass_decision(self, step: StepState, reasons: list[str], today: date) -> None:
        step.verdict = "; ".join(reasons)
        self.complete_step(step, today)

    def note_rejection(self, step: StepState, reasons: list[str], today: date) -> None:
        """Not granted, and the trajectory goes on (the template says so: on_rejection
        continue): the step is done with its verdict, and what depends on it follows."""
        step.verdict = "; ".join(reasons)
        self.complete_step(step, today)

    def reject_decision(self, step: StepState, reasons: list[str]) -> None:
        """Not approved: the trajectory renegotiates (amend or abort)."""
        step.verdict = "; ".join(reasons)
        step.status = StepStatus.REJECTED
        self.renegotiating = step.spec.id

    def ask_effective_date(self) -> None:
        """The planned effective date passed before approval: a new one is needed."""
        self.needs_effective_date = True

    def finish(self, today: date) -> None:
        """Every step is done: the cooperation is integrated."""
        self.finished_on = today

    def finish_aborted(self, today: date) -> None:
        """The compensation ran: the trajectory ends as aborted."""
        self.aborted = True
        self.finished_on = today

    def count_refused(self) -> None:
        """A signal was refused (an update's refusal is answered to its sender instead)."""
        self.rejected_messages += 1

    # --- dates ------------------------------------------------------------------------------

    def anchor_date(self, anchor: str) -> date | None:
        if anchor == "start":
            return self.started_on
        if anchor == "planned-av-date":
            return self.planned_av_date
        if anchor == "effective-date":
            return self.effective_date
        return self.fact_date(self.steps[anchor.removeprefix("step:")])

    def fact_date(self, step: StepState) -> date | None:
        """The day a done step's fact happened, which dates anchored on it count from: a
        body's decision on its session date (the board's text starts the 90-day clock the
        day the board decided, not the day it was recorded), a task on the day it was done;
        anything else on the day it completed."""
        if step.status is not StepStatus.DONE:
            return None
        if step.spec.kind is StepKind.DECISION:
            decision = next(iter(step.parties.values())).decision if step.parties else None
            if decision is not None:
                return decision.session_date
        if step.completion is not None and step.completion.done_on is not None:
            return step.completion.done_on
        return step.completed_on

    def facts_day(self, step: StepState, today: date) -> date:
        """The day the facts an automatic step acts on happened: the latest fact of its
        dependencies (the partners formalised the end of their old structure on the day that
        task was done, not the day the register was written). Today without dependencies."""
        days = [self.fact_date(self.steps[d]) for d in step.spec.depends_on]
        known = [d for d in days if d is not None]
        return max(known) if known else today

    def date_for(self, rule: DeadlineRule | None) -> date | None:
        if rule is None:
            return None
        anchor = self.anchor_date(rule.anchor)
        if anchor is None:
            return None
        # Asked for every open step on every change, and again on every replay: kept per
        # rule (the template's own objects, alive as long as the state) and anchor date.
        key = (id(rule), anchor)
        found = self._dates.get(key)
        if found is None:
            found = deadline_for(concrete_rule(rule, self.request.deadlines), anchor)
            self._dates[key] = found
        return found

    def due_date(self, step: StepState) -> date | None:
        return self.date_for(step.spec.deadline)

    def is_overdue(self, step: StepState, today: date) -> bool:
        if step.status is not StepStatus.OPEN:
            return False  # only an open step can be late: no deadline to compute
        due = self.due_date(step)
        return due is not None and today > due

    def any_overdue(self, today: date) -> bool:
        # Asked on every change: only open steps can be late, so only theirs are computed.
        return any(
            self.is_overdue(step, today)
            for step in self.steps.values()
            if step.status is StepStatus.OPEN
        )

    def next_deadline(self, today: date) -> date | None:
        dues = [
            due
            for step in self.steps.values()
            if step.status is StepStatus.OPEN
            and (due := self.due_date(step)) is not None
            and due >= today
        ]
        return min(dues) if dues else None

    # --- decisions --------------------------------------------------------------------------

    def _vote_key(self, step: StepState, *, closed: bool) -> tuple[_VoteKey, ...]:
        """Each party's vote as `party_votes` builds it: authority, weight, municipality or
        not, outcome (silence counted as abstention once the round is closed)."""
        key: list[_VoteKey] = []
        for party in step.parties.values():
            participant = self._participant(party.authority_id)
            outcome = party.outcome
            if closed and outcome not in FINAL_OUTCOMES:
                outcome = Outcome.ABSTAIN
            key.append(
                (
                    party.authority_id,
                    participant.votes if participant else 1,
                    participant.is_municipality if participant else False,
                    outcome,
                )
            )
        return tuple(key)

    def party_votes(self, step: StepState, *, closed: bool) -> list[PartyVote]:
        return [
            PartyVote(
                authority_id=authority_id,
                votes=votes,
                is_municipality=is_municipality,
                outcome=outcome,
            )
            for authority_id, votes, is_municipality, outcome in self._vote_key(step, closed=closed)
        ]

    def rule_for(self, step: StepState) -> DecisionRule:
        """A round's rule; a single body's decision stands as the body decided it (the rule
        of a body's step applies to its delegates' votes, checked when it is recorded)."""
        if step.spec.kind is StepKind.DECISION_ROUND and step.spec.rule is not None:
            return step.spec.rule
        return _SINGLE_BODY_RULE

    def assembly_verdict(self, rule: DecisionRule, d: DecisionInput) -> RoundVerdict:
        """The delegates' votes of a general assembly under its rule, each member weighed as
        the register has it; a member without a delegate's vote was absent (not a vote cast).
        Only members of DVV Midwest count as municipalities."""
        voters = {v.authority_id: v.outcome for v in d.delegates}
        members = self.members or tuple(self.participants)
        return evaluate(
            rule,
            [
                PartyVote(
                    authority_id=m.authority_id,
                    votes=m.votes,
                    is_municipality=m.is_municipality and m.is_midwest_member,
                    outcome=voters.get(m.authority_id, Outcome.ABSTAIN),
                )
                for m in members
            ],
            closed=True,
        )

    def _check_assembly_votes(self, step: StepState, d: DecisionInput) -> None:
        rule = step.spec.rule
        if rule is None or step.spec.kind is not StepKind.DECISION:
            return
        if not d.delegates:
            if d.outcome is Outcome.APPROVE:
                raise MessageRejected(
                    f"an approval of {step.spec.id!r} needs the delegates' votes, so the rule "
                    "can be checked: name who voted against and who abstained (--against, "
                    "--abstaining; the delegates present otherwise approve)"
                )
            return
        members = {m.authority_id for m in (self.members or tuple(self.participants))}
        strangers = sorted(v.authority_id for v in d.delegates if v.authority_id not in members)
        if strangers:
            raise MessageRejected(
                f"{', '.join(strangers)}: not a member of the general assembly "
                f"(members: {', '.join(sorted(members))})"
            )
        verdict = self.assembly_verdict(rule, d)
        counted = (verdict.tally.approve_votes, verdict.tally.reject_votes)
        given = (d.votes_for, d.votes_against)
        if any(g is not None and g != c for g, c in zip(given, counted, strict=True)):
            raise MessageRejected(
                f"the vote counts ({d.votes_for} for, {d.votes_against} against) differ from "
                f"the delegates' votes weighed by the register ({counted[0]} for, "
                f"{counted[1]} against)"
            )
        arithmetic = "; ".join(verdict.reasons)
        if d.outcome is Outcome.APPROVE and verdict.status is not Verdict.APPROVED:
            raise MessageRejected(
                f"these votes do not approve {step.spec.id!r} under its rule: {arithmetic}"
            )
        if d.outcome is Outcome.REJECT and verdict.status is Verdict.APPROVED:
            raise MessageRejected(
                f"these votes approve {step.spec.id!r} under its rule ({arithmetic}); record "
                "the outcome the votes give"
            )

    def verdict(self, step: StepState, *, closed: bool) -> tuple[Verdict, list[str]]:
        # Asked whenever the trajectory changes while a decision is open, and again on every
        # replay: a verdict is a pure function of the step's rule (fixed by its spec) and its
        # votes, so it is kept per step and votes, and the votes are only built anew (models,
        # validated) when they changed.
        key = (step.spec.id, closed, self._vote_key(step, closed=closed))
        result = self._verdicts.get(key)
        if result is None:
            result = evaluate(
                self.rule_for(step), self.party_votes(step, closed=closed), closed=closed
            )
            self._verdicts[key] = result
        return result.status, list(result.reasons)

    def close_round(self, step: StepState) -> list[str]:
        """Deadline passed: silence becomes abstention. Returns the silent parties."""
        silent = [p.authority_id for p in step.parties.values() if not p.final]
        for authority_id in silent:
            step.parties[authority_id].counted_as_abstention = True
        return silent

    def pending_parties(self, step: StepState) -> list[str]:
        return [p.authority_id for p in step.parties.values() if not p.final]

    def pending_authorities(self) -> list[str]:
        pending: set[str] = set()
        for step in self.steps.values():
            if step.status is StepStatus.OPEN and step.is_decision:
                pending.update(self.pending_parties(step))
        return sorted(pending)

    def complete_decision(self, d: DecisionInput, today: date) -> DecisionInput:
        """Fill in what a sender may leave to the trajectory, so the command line sends one
        message and never reads the status first:
        - the step: the authority's one open decision, else the one it already decided (so a
          repeat is recognised); several open ones stay unnamed, and `check_decision` refuses
          the ambiguity with their names;
        - the session date: the recorded one when the message repeats a final decision of that
          step, otherwise the trajectory's today (its calendar, so a compressed demonstration
          calendar works)."""
        repeated = self._repeated_decision(d)
        if repeated is not None:
            # A retry of a recorded decision (its Besluit reference and outcome) stays that
            # decision, even after the authority's next decision opened.
            return d.model_copy(
                update={"step_id": repeated.step_id, "session_date": repeated.session_date}
            )
        step_id = d.step_id or self._decision_step_for(d.authority_id)
        session_date = d.session_date
        if session_date is None:
            recorded = self._final_decision(step_id, d.authority_id)
            session_date = recorded.session_date if recorded is not None else today
        return d.model_copy(update={"step_id": step_id, "session_date": session_date})

    def _repeated_decision(self, d: DecisionInput) -> RecordedDecision | None:
        """The recorded decision `d` repeats: same authority, content and (when `d` names
        them) step and session date."""
        for step in self.steps.values():
            if d.step_id is not None and step.spec.id != d.step_id:
                continue
            party = step.parties.get(d.authority_id)
            recorded = party.decision if party is not None else None
            if recorded is None:
                continue
            completed = d.model_copy(
                update={
                    "step_id": recorded.step_id,
                    "session_date": d.session_date or recorded.session_date,
                }
            )
            if recorded.same_content(completed):
                return recorded
        return None

    def _decision_step_for(self, authority_id: str) -> str | None:
        deciding = [s for s in self.steps.values() if s.is_decision and authority_id in s.parties]
        # An open step in which the authority has decided for good asks nothing more of it.
        open_steps = [
            s.spec.id
            for s in deciding
            if s.status is StepStatus.OPEN and not s.parties[authority_id].final
        ] or [s.spec.id for s in deciding if s.status is StepStatus.OPEN]
        if open_steps:
            return open_steps[0] if len(open_steps) == 1 else None
        decided = [s.spec.id for s in deciding if s.parties[authority_id].decision is not None]
        return decided[-1] if decided else None

    def _final_decision(self, step_id: str | None, authority_id: str) -> RecordedDecision | None:
        step = self.steps.get(step_id) if step_id is not None else None
        party = step.parties.get(authority_id) if step is not None else None
        decision = party.decision if party is not None else None
        if decision is None or decision.outcome not in FINAL_OUTCOMES:
            return None  # a postponement is not final: the party decides again, later
        return decision

    def check_decision(self, d: DecisionInput, today: date) -> StepState | None:
        """Validate a decision. Returns the step it belongs to, or None when it repeats one
        already recorded (a no-op). Raises MessageRejected with a message for the sender."""
        self._check_running()
        parties = (
            {pid for s in self.steps.values() for pid in s.parties}
            | set(self.participant_ids())
            | {m.authority_id for m in self.members}
        )
        bodies = {
            self.body_id(s.spec) for s in self.steps.values() if s.spec.kind is StepKind.DECISION
        }
        if d.authority_id not in parties | bodies:
            known = ", ".join(sorted(parties | bodies))
            raise MessageRejected(
                f"authority {d.authority_id!r} is not a party to this trajectory (parties: {known})"
            )
        if d.session_date is None:  # complete_decision fills it in; a caller skipped it
            raise MessageRejected("the decision names no session date")
        if d.session_date > today:
            hint = (
                "; a message without sent_at is dated at the trajectory's latest recorded fact: "
                'add "sent_at" (the current time, ISO 8601 with offset)'
                if d.sent_at is None
                else ""
            )
            raise MessageRejected(
                f"session date {d.session_date} lies in the future (the trajectory's today is "
                f"{today}{hint})"
            )
        if d.session_date.year < EARLIEST_SESSION_YEAR:
            raise MessageRejected(f"session date {d.session_date} is not plausible")
        repeated = self._recorded_identical(d)
        if d.step_id is not None:
            if d.step_id not in self.steps:
                raise MessageRejected(f"no step {d.step_id!r} in this trajectory")
            step = self.steps[d.step_id]
            if not step.is_decision:
                raise MessageRejected(
                    f"step {d.step_id!r} is a {step.spec.kind.value}, not a decision"
                )
            candidates = [step]
        else:
            candidates = [
                s
                for s in self.steps.values()
                if s.status is StepStatus.OPEN and s.is_decision and d.authority_id in s.parties
            ]
            # A step in which the authority already decided for good is not asking it.
            candidates = [s for s in candidates if not s.parties[d.authority_id].final] or (
                candidates
            )
        open_candidates = [
            s for s in candidates if s.status is StepStatus.OPEN and d.authority_id in s.parties
        ]
        if not open_candidates and not repeated:
            late = self._late_recording(d, candidates or list(self.steps.values()), today)
            if late is not None:
                return late
        if not open_candidates:
            if repeated:
                return None
            where = f"step {d.step_id!r}" if d.step_id else "any step"
            raise MessageRejected(
                f"{d.authority_id!r} has no open decision in {where} right now",
                RefusalReason.NOT_OPEN,
            )
        if len(open_candidates) > 1:
            names = ", ".join(s.spec.id for s in open_candidates)
            raise MessageRejected(
                f"{d.authority_id!r} has several open decisions ({names}); name one with step_id"
            )
        step = open_candidates[0]
        self._check_in_advance(
            step, d.session_date, d.taken_in_advance_because, "session date", "--in-advance"
        )
        self._check_assembly_votes(step, d)
        party = step.parties[d.authority_id]
        if party.decision is not None and party.decision.same_content(
            d.model_copy(update={"step_id": step.spec.id})
        ):
            return None  # the same decision again, a postponement included
        if party.decision is not None and party.decision.outcome in FINAL_OUTCOMES:
            if party.decision.same_content(
                d.model_copy(update={"step_id": d.step_id or step.spec.id})
            ):
                return None
            raise MessageRejected(
                f"{d.authority_id!r} already decided {party.decision.outcome.value!r} in "
                f"{step.spec.id!r} "
                f"(session {party.decision.session_date}, ref {party.decision.reference}); a "
                "different "
                "decision needs an amendment by the coordinator"
            )
        if party.counted_as_abstention:
            raise MessageRejected(
                f"the round {step.spec.id!r} closed; {d.authority_id!r} was counted as abstaining"
            )
        return step

    def _check_in_advance(
        self, step: StepState, day: date, reason: str | None, label: str, option: str
    ) -> None:
        """A day before the step opened, or before the trajectory started, is a fact from
        before the trajectory asked for it: real, but rare, so it needs the sender's reason."""
        opened = step.opened_on or self.started_on
        if reason is None and day < opened:
            since = (
                f"the trajectory started on {self.started_on}"
                if day < self.started_on
                else f"the step {step.spec.id!r} opened on {opened}"
            )
            raise MessageRejected(
                f"{label} {day} lies before {since}; if it was really taken in advance, "
                f"say why ({option} REASON)"
            )

    def _late_recording(
        self, d: DecisionInput, candidates: list[StepState], today: date
    ) -> StepState | None:
        """A closed round in which `d`'s authority was counted as abstaining and `d` may
        still count: taken on or before the round's deadline (its session date) and recorded
        within the recording grace after it. Raises when the decision came too late."""
        closed = [
            s
            for s in candidates
            if s.spec.kind is StepKind.DECISION_ROUND
            and s.status in (StepStatus.DONE, StepStatus.REJECTED)
            and (party := s.parties.get(d.authority_id)) is not None
            and party.counted_as_abstention
        ]
        if not closed:
            return None
        step = closed[-1]
        due = self.due_date(step)
        assert d.session_date is not None and due is not None  # a closed round had a deadline
        if d.session_date > due:
            raise MessageRejected(
                f"the session of {d.session_date} came after the deadline of {step.spec.id!r} "
                f"({due}); a decision after the deadline is silence, and {d.authority_id!r} "
                "was counted as abstaining"
            )
        last = recording_closes_on(due, self.request.deadlines)
        if today > last:
            raise MessageRejected(
                f"the round {step.spec.id!r} closed on its deadline {due}; a decision taken in "
                f"time could be recorded until {last} "
                f"({self.request.deadlines.recording_grace_days} days of recording grace), "
                f"so {d.authority_id!r} stays counted as abstaining"
            )
        self._check_in_advance(
            step, d.session_date, d.taken_in_advance_because, "session date", "--in-advance"
        )
        return step

    def revise_round(
        self, step: StepState, today: date
    ) -> tuple[Verdict, Verdict, list[str]] | None:
        """After a late recording in a closed round: its verdict again, as (before, after,
        reasons); None when the round is still open. A rejection that the late decision
        turns into an approval ends the renegotiation: the round passes as the workflow
        evaluates it again. An approval that turns into a rejection is recorded and told to
        the coordinator; the steps after it are not undone by themselves."""
        if step.status not in (StepStatus.DONE, StepStatus.REJECTED):
            return None
        before = Verdict.APPROVED if step.status is StepStatus.DONE else Verdict.REJECTED
        after, reasons = self.verdict(step, closed=True)
        step.verdict = "; ".join(reasons)
        if (
            before is Verdict.REJECTED
            and after is Verdict.APPROVED
            and self.renegotiating == step.spec.id
        ):
            step.status = StepStatus.OPEN
            self.renegotiating = None
        return before, after, reasons

    def _recorded_identical(self, d: DecisionInput) -> bool:
        for step in self.steps.values():
            party = step.parties.get(d.authority_id)
            if party is None or party.decision is None:
                continue
            if party.decision.same_content(
                d.model_copy(update={"step_id": d.step_id or step.spec.id})
            ):
                return True
        return False

    def apply_decision(self, step: StepState, d: DecisionInput) -> RecordedDecision:
        """Record the decision against its step (completed by `complete_decision`)."""
        stored = RecordedDecision.model_validate(
            {**d.model_dump(), "step_id": step.spec.id}, strict=False
        )
        party = step.parties[d.authority_id]
        party.decision = stored
        party.counted_as_abstention = False  # a late recording of a decision taken in time
        return stored

    # --- tasks ------------------------------------------------------------------------------

    def check_task(self, c: TaskCompletion, today: date) -> StepState | None:
        self._check_running()
        step = self.steps.get(c.step_id)
        if step is None:
            open_tasks = ", ".join(self.open_task_ids()) or "none"
            raise MessageRejected(
                f"no task {c.step_id!r} in this trajectory (open tasks: {open_tasks})"
            )
        if step.spec.kind is not StepKind.TASK:
            raise MessageRejected(f"step {c.step_id!r} is a {step.spec.kind.value}, not a task")
        if step.status is StepStatus.DONE:
            if step.completion is not None and step.completion.evidence == c.evidence:
                return None
            raise MessageRejected(
                f"task {c.step_id!r} was already completed on {step.completed_on}"
            )
        if step.status is not StepStatus.OPEN:
            waiting = [
                d for d in step.spec.depends_on if self.steps[d].status is not StepStatus.DONE
            ]
            raise MessageRejected(
                f"task {c.step_id!r} is not open yet; it waits for: {', '.join(waiting) or '-'}",
                RefusalReason.NOT_OPEN,
            )
        if c.done_on is not None:
            if c.done_on > today:
                raise MessageRejected(
                    f"task {c.step_id!r} cannot be done on {c.done_on}: that lies in the future "
                    f"(the trajectory's today is {today})"
                )
            if c.done_on.year < EARLIEST_SESSION_YEAR:
                raise MessageRejected(f"the date {c.done_on} is not plausible")
            self._check_in_advance(
                step, c.done_on, c.done_in_advance_because, "the date", "--in-advance"
            )
        earliest = self.earliest_day(step)
        done_on = c.done_on or today
        if earliest is not None and done_on < earliest:
            raise MessageRejected(
                f"task {c.step_id!r} cannot be done on {done_on}: the earliest valid date is "
                f"{earliest} ({step.spec.title})"
            )
        return step

    def earliest_day(self, step: StepState) -> date | None:
        """The first day a task may be done (a meeting after its convocation period)."""
        return self.date_for(step.spec.not_before)

    def apply_task(self, step: StepState, c: TaskCompletion, today: date) -> None:
        step.completion = c
        self.complete_step(step, today, evidence=c.evidence)

    def open_task_ids(self) -> list[str]:
        return [
            s.spec.id
            for s in self.steps.values()
            if s.spec.kind is StepKind.TASK and s.status is StepStatus.OPEN
        ]

    # --- amendment, join, effective date, abort ---------------------------------------------

    def check_amendment(self, a: Amendment, today: date) -> StepState:
        self._check_running()
        if self.renegotiating is None:
            raise MessageRejected("nothing to amend: no decision has been rejected")
        step = self.steps[self.renegotiating]
        unknown = [pid for pid in a.reopen_for if pid not in step.parties]
        if unknown:
            raise MessageRejected(
                f"cannot reopen for {', '.join(unknown)}: not a party to {step.spec.id!r} "
                f"(parties: {', '.join(step.parties)})"
            )
        for label, value in (
            ("planned_av_date", a.planned_av_date),
            ("effective_date", a.effective_date),
        ):
            if value is not None and value.year > LATEST_PLANNED_YEAR:
                raise MessageRejected(f"{label} {value} lies beyond the year {LATEST_PLANNED_YEAR}")
        av = a.planned_av_date or self.planned_av_date
        eff = a.effective_date or self.effective_date
        due = self.due_date(step)
        if a.planned_av_date is None and due is not None and due < today:
            # Reopened on the old dates, the round would close at once on silence.
            raise MessageRejected(
                f"the deadline of {step.spec.id!r} ({due}) has passed; a new round needs a "
                "new general assembly date (planned_av_date, --av-date)"
            )
        rule = step.spec.deadline
        if a.planned_av_date is not None and rule is not None and rule.anchor == "planned-av-date":
            new_due = deadline_for(concrete_rule(rule, self.request.deadlines), a.planned_av_date)
            if new_due < today:
                raise MessageRejected(
                    f"with the general assembly on {a.planned_av_date} the deadline of "
                    f"{step.spec.id!r} would be {new_due}, already passed (today is {today}); "
                    "choose a later date"
                )
        if a.changes_proposal:
            self._check_new_text_in_time(a.planned_av_date or self.planned_av_date, today)
        if a.planned_av_date is not None and a.planned_av_date < today:
            raise MessageRejected(
                f"planned_av_date {a.planned_av_date} lies in the past (today is {today})"
            )
        if a.effective_date is not None and a.effective_date < today:
            raise MessageRejected(
                f"effective_date {a.effective_date} lies in the past (today is {today}); "
                "backdating is not allowed"
            )
        if av is not None and eff < av:
            raise MessageRejected(
                f"effective_date {eff} would fall before the general assembly on {av}"
            )
        return step

    def board_texts(self) -> list[StepState]:
        """The board decisions that start the statutory period to the assembly: a wait
        counts the statute-draft lead time from them."""
        anchors = {
            s.spec.wait_until.anchor.removeprefix("step:")
            for s in self.steps.values()
            if s.spec.wait_until is not None
            and s.spec.wait_until.lead_time is LeadTime.STATUTE_DRAFT_TO_AV
        }
        return [s for s in self.steps.values() if s.spec.id in anchors]

    def restart_set(self, rejected: StepState) -> list[StepState]:
        """What a changed proposal starts again: the board's text, the members' rounds, the
        general assembly and the rejected step, and every step after one of them that has
        begun (template order)."""
        roots = {s.spec.id for s in self.board_texts()} | {rejected.spec.id}
        roots |= {
            s.spec.id
            for s in self.steps.values()
            if (s.spec.kind is StepKind.DECISION_ROUND and s.spec.deciders is Deciders.MEMBERS)
            or (s.spec.kind is StepKind.DECISION and s.spec.body == ASSEMBLY_BODY)
        }
        chosen = set(roots)
        grew = True
        while grew:
            grew = False
            for s in self.steps.values():
                if s.spec.id not in chosen and any(d in chosen for d in s.spec.depends_on):
                    chosen.add(s.spec.id)
                    grew = True
        return [
            s
            for s in self.steps.values()
            if s.spec.id in chosen and s.status is not StepStatus.WAITING
        ]

    def _check_new_text_in_time(self, av: date | None, today: date) -> None:
        """A changed proposal needs a new board text within its lead time before the
        assembly; refused, with the earliest assembly that allows it, when it cannot be."""
        for text in self.board_texts():
            rule = text.spec.deadline
            if rule is None or rule.anchor != "planned-av-date" or av is None:
                continue
            concrete = concrete_rule(rule, self.request.deadlines)
            due = deadline_for(concrete, av)
            if due >= today:
                continue
            earliest = av
            while deadline_for(concrete, earliest) < today:
                earliest += timedelta(days=1)
            raise MessageRejected(
                f"a changed proposal needs a new board text ({text.spec.id}) by {due} for the "
                f"general assembly on {av}, and that day has passed (today is {today}); give a "
                f"general assembly on or after {earliest} (planned_av_date, --av-date)"
            )

    def restart(self, steps: list[StepState]) -> None:
        """Put the steps back to waiting, each in a new round: they open again once their
        dependencies are done anew. Their earlier decisions stay in the audit trail."""
        for step in steps:
            step.status = StepStatus.WAITING
            step.opened_on = None
            step.completed_on = None
            step.parties = {}
            step.verdict = None
            step.evidence = None
            step.completion = None
            step.started_action = False
            step.round_number += 1
            step.restarts += 1
        restarted = {s.spec.id for s in steps}
        self.completion_order = [i for i in self.completion_order if i not in restarted]

    def apply_amendment(self, step: StepState, a: Amendment) -> list[str]:
        if a.changes_proposal:
            if a.planned_av_date is not None:
                self.planned_av_date = a.planned_av_date
            if a.effective_date is not None:
                self.effective_date = a.effective_date
            self.restart(self.restart_set(step))
            self.renegotiating = None
            return []
        reopen = list(a.reopen_for) or [
            p.authority_id for p in step.parties.values() if p.outcome is not Outcome.APPROVE
        ]
        for pid in reopen:
            step.parties[pid] = PartyState(pid)
        if a.planned_av_date is not None:
            self.planned_av_date = a.planned_av_date
        if a.effective_date is not None:
            self.effective_date = a.effective_date
        step.round_number += 1
        step.status = StepStatus.OPEN
        step.verdict = None
        self.renegotiating = None
        return reopen

    def check_join(self, j: JoinRequest) -> None:
        self._check_running()
        if j.participant.authority_id in self.participant_ids():
            raise MessageRejected(
                f"{j.participant.authority_id!r} already takes part in this trajectory"
            )
        closed_rounds = [
            s.spec.id
            for s in self.steps.values()
            if self._decided_by_participants(s) and s.status is StepStatus.DONE
        ]
        if closed_rounds:
            raise MessageRejected(
                f"the decision round {closed_rounds[0]!r} has closed; a later member joins "
                "through a new trajectory"
            )

    def apply_join(self, j: JoinRequest) -> list[str]:
        """Add the participant; it gets its own decision in every open round, and in a
        rejected one under renegotiation (the amendment reopens it for whoever has not
        approved, the newcomer included)."""
        self.participants.append(j.participant)
        self._by_id[j.participant.authority_id] = j.participant
        joined: list[str] = []
        for step in self.steps.values():
            if self._decided_by_participants(step) and step.status in (
                StepStatus.OPEN,
                StepStatus.REJECTED,
            ):
                step.parties[j.participant.authority_id] = PartyState(j.participant.authority_id)
                joined.append(step.spec.id)
        return joined

    def _decided_by_participants(self, step: StepState) -> bool:
        """A round the cooperation's participants decide (a newcomer decides in it too); the
        members' round has every member of the association from the start."""
        return step.spec.kind is StepKind.DECISION_ROUND and not (
            step.spec.deciders is Deciders.MEMBERS and self.members
        )

    def transfer_started(self) -> bool:
        return any(
            s.spec.lane is Lane.TRANSFER
            and s.spec.kind is StepKind.AUTOMATIC
            and s.status is not StepStatus.WAITING
            for s in self.steps.values()
        )

    def check_effective_date(self, c: EffectiveDateChange, today: date) -> None:
        self._check_running()
        if c.effective_date.year > LATEST_PLANNED_YEAR:
            raise MessageRejected(
                f"effective date {c.effective_date} lies beyond the year {LATEST_PLANNED_YEAR}"
            )
        if c.effective_date < today:
            raise MessageRejected(
                f"effective date {c.effective_date} lies in the past (today is {today}); "
                "backdating is not allowed"
            )
        if self.planned_av_date is not None and c.effective_date < self.planned_av_date:
            raise MessageRejected(
                f"effective date {c.effective_date} falls before the general assembly on "
                f"{self.planned_av_date}"
            )
        if self.transfer_started():
            raise MessageRejected(
                "the transfer has started; the effective date can no longer change"
            )

    def apply_effective_date(self, c: EffectiveDateChange) -> date:
        """Set the new effective date; returns the previous one."""
        previous = self.effective_date
        self.effective_date = c.effective_date
        self.needs_effective_date = False
        return previous

    def apply_abort(self, r: AbortRequest) -> None:
        """The abort is accepted: step coroutines stop and the compensation follows."""
        self.abort = r

    def check_abort(self) -> None:
        self._check_running()
        if self.transfer_started():
            raise MessageRejected("the transfer has started; an abort can no longer undo it")

    def _check_running(self) -> None:
        if self.aborted or self.abort is not None:
            raise MessageRejected("the trajectory has been aborted")
        if self.finished_on is not None:
            raise MessageRejected("the trajectory has finished")

    # --- phase and views --------------------------------------------------------------------

    def phase(self) -> Phase:
        if self.aborted or self.abort is not None:
            return Phase.ABORTED
        if self.finished_on is not None:
            return Phase.INTEGRATED
        if self.renegotiating is not None:
            return Phase.RENEGOTIATION
        if self.needs_effective_date:
            return Phase.AWAITING_EFFECTIVE_DATE
        # Asked on every change and again on every replay: one pass, no list.
        latest: Phase | None = None
        for step in self.steps.values():
            if step.status is StepStatus.OPEN:
                phase = step.spec.phase
                if latest is None or _PHASE_RANK[phase] > _PHASE_RANK[latest]:
                    latest = phase
        if latest is not None:
            return latest
        if self.completion_order:
            return self.steps[self.completion_order[-1]].spec.phase
        return Phase.PREPARATION

    def step_views(self, today: date) -> tuple[StepView, ...]:
        views = []
        for step in self.steps.values():
            views.append(
                StepView(
                    id=step.spec.id,
                    title=step.spec.title,
                    lane=step.spec.lane,
                    kind=step.spec.kind,
                    phase=step.spec.phase,
                    status=step.status,
                    due=self.due_date(step),
                    overdue=self.is_overdue(step, today),
                    earliest=self.earliest_day(step),
                    opened_on=step.opened_on,
                    completed_on=step.completed_on,
                    round_number=step.round_number,
                    parties=tuple(
                        PartyDecision(
                            authority_id=p.authority_id,
                            outcome=p.outcome,
                            decision=p.decision,
                            counted_as_abstention=p.counted_as_abstention,
                        )
                        for p in step.parties.values()
                    ),
                    verdict=step.verdict,
                    evidence=step.evidence,
                )
            )
        return tuple(views)
