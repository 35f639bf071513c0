"""Which decisions of a publication belong to a trajectory, and what recording them would mean.

Pure: the trajectory's status, the register's LBLOD bodies and the trajectory's agenda-item
pattern go in; proposals (authority, step, outcome, session date, reference, votes) come out,
or the reasons why nothing matched. Whether a proposal is recorded is for the caller (the
command line with --apply, the harvester); the trajectory's own checks still apply there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from lblod.model import MISSING_TEXT, Publication, PublishedDecision, Session
from lblod.outcome import PublishedResult, normalise, read_result
from schemas.common import Outcome
from schemas.trajectory import DecisionInput, StepStatus, StepView, TrajectoryStatus

# DecisionInput.reference is a ShortText.
MAX_REFERENCE = 200

STATUTE_CHANGE = "statutenwijziging DVV Midwest"


def default_patterns(cooperation_name: str) -> tuple[str, ...]:
    """The agenda-item patterns a trajectory starts with: its cooperation's name, and the
    statute change every inkanteling puts before the members' councils."""
    return (cooperation_name, STATUTE_CHANGE)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoMatch(StrEnum):
    NO_PARTY_BODY = "no-party-body"  # the session's body is no registered body of a party
    NOT_A_PARTY = "not-a-party"  # the body is registered, for an authority outside the trajectory
    NO_OPEN_DECISION = "no-open-decision"  # the party's round is closed or it decided already
    ALREADY_RECORDED = "already-recorded"  # this very decision is recorded
    NO_MATCHING_ITEM = "no-matching-item"  # no agenda item matches the trajectory's pattern
    AMBIGUOUS = "ambiguous"  # several items match: the coordinator chooses
    NO_SESSION_DATE = "no-session-date"
    SESSION_OUTSIDE_ROUND = "session-outside-round"


class Reason(_Model):
    kind: NoMatch
    text: str  # English, for the coordinator
    authority_id: str | None = None


class Votes(_Model):
    votes_for: int | None = None
    votes_against: int | None = None
    votes_abstained: int | None = None


class Proposal(_Model):
    """What recording a published decision would record."""

    authority_id: str
    step_id: str
    result: PublishedResult
    outcome: Outcome | None  # None: unclear, for the coordinator to decide
    basis: str
    session_date: date
    reference: str
    title: str | None
    votes: Votes
    missing: tuple[str, ...] = ()  # what the publication lacks for this item, in words

    @property
    def recordable(self) -> bool:
        return self.outcome is not None

    def decision(self, recorded_by: str, *, note: str | None = None) -> DecisionInput:
        if self.outcome is None:
            raise ValueError(f"{self.authority_id}: an unclear result is never recorded")
        return DecisionInput(
            authority_id=self.authority_id,
            outcome=self.outcome,
            session_date=self.session_date,
            reference=self.reference,
            step_id=self.step_id,
            votes_for=self.votes.votes_for,
            votes_against=self.votes.votes_against,
            votes_abstained=self.votes.votes_abstained,
            recorded_by=recorded_by,
            note=note,
        )


class MatchResult(_Model):
    proposals: tuple[Proposal, ...] = ()
    reasons: tuple[Reason, ...] = ()


def matches_pattern(decision: PublishedDecision, patterns: Sequence[str]) -> bool:
    """Whether the item's titles contain one of the patterns (case and accents ignored)."""
    titles = [normalise(t) for t in (decision.title, decision.agenda_item.title) if t]
    wanted = [normalise(p) for p in patterns if normalise(p)]
    return any(p in t for p in wanted for t in titles)


def _open_steps(status: TrajectoryStatus, authority_id: str) -> list[StepView]:
    """Steps where the authority still has to give its final word (a postponement is not)."""
    return [
        step
        for step in status.steps
        if step.status is StepStatus.OPEN
        and any(
            p.authority_id == authority_id and p.outcome in (None, Outcome.POSTPONE)
            for p in step.parties
        )
    ]


def _recorded_references(status: TrajectoryStatus, authority_id: str) -> set[str]:
    return {
        p.decision.reference
        for step in status.steps
        for p in step.parties
        if p.authority_id == authority_id and p.decision is not None
    }


def match(
    status: TrajectoryStatus,
    today: date,
    bodies: Mapping[str, frozenset[str]],
    patterns: Sequence[str],
    publication: Publication,
) -> MatchResult:
    """The proposals for `status` in `publication`. `bodies` maps every registered authority to
    the URIs of its LBLOD bodies; `today` is the trajectory's calendar date."""
    parties = {p.authority_id for step in status.steps for p in step.parties}
    proposals: list[Proposal] = []
    reasons: list[Reason] = []
    for session in publication.sessions:
        found = _authority_of(session, bodies)
        if found is None:
            label = session.body.label if session.body and session.body.label else "a body"
            uri = session.body.uri if session.body else "no body published"
            reasons.append(
                Reason(
                    kind=NoMatch.NO_PARTY_BODY,
                    text=f"session {session.uri} is held by {label} ({uri}), which is no "
                    "registered body of a party; register it with `starter.py lblod body add "
                    "AUTHORITY URI` if it is one",
                )
            )
            continue
        if found not in parties:
            reasons.append(
                Reason(
                    kind=NoMatch.NOT_A_PARTY,
                    authority_id=found,
                    text=f"the session is held by a body of {found}, which is not a party to "
                    f"{status.workflow_id}",
                )
            )
            continue
        items = [d for d in publication.decisions if d.session_uri == session.uri]
        proposals_here, reasons_here = _match_authority(
            status, today, found, session, items, patterns
        )
        proposals += proposals_here
        reasons += reasons_here
    return MatchResult(proposals=tuple(proposals), reasons=tuple(reasons))


def _authority_of(session: Session, bodies: Mapping[str, frozenset[str]]) -> str | None:
    if session.body is None:
        return None
    uris = session.body.uris
    owners = sorted(a for a, registered in bodies.items() if registered & uris)
    return owners[0] if len(owners) == 1 else None


def _match_authority(
    status: TrajectoryStatus,
    today: date,
    authority_id: str,
    session: Session,
    items: list[PublishedDecision],
    patterns: Sequence[str],
) -> tuple[list[Proposal], list[Reason]]:
    def reason(kind: NoMatch, text: str) -> tuple[list[Proposal], list[Reason]]:
        return [], [Reason(kind=kind, authority_id=authority_id, text=text)]

    matching = [d for d in items if matches_pattern(d, patterns)]
    if not matching:
        shown = " or ".join(repr(p) for p in patterns)
        return reason(
            NoMatch.NO_MATCHING_ITEM,
            f"{authority_id}: none of the {len(items)} agenda items of session {session.uri} "
            f"matches {shown}; `starter.py lblod pattern {status.cooperation_id} --set TEXT` "
            "changes what is looked for",
        )
    recorded = _recorded_references(status, authority_id)
    if all(d.reference in recorded for d in matching if d.reference):
        already = [d.reference for d in matching if d.reference]
        if already:
            return reason(
                NoMatch.ALREADY_RECORDED,
                f"{authority_id}: the decision {already[0]} is already recorded; nothing to do",
            )
    open_steps = _open_steps(status, authority_id)
    if not open_steps:
        return reason(
            NoMatch.NO_OPEN_DECISION,
            f"{authority_id} has no open decision in {status.workflow_id} (its round is "
            "closed or it has decided); nothing is recorded",
        )
    if len(open_steps) > 1:
        steps = ", ".join(s.id for s in open_steps)
        return reason(
            NoMatch.AMBIGUOUS,
            f"{authority_id} has several open decisions ({steps}); record it with "
            "`starter.py decide ... --step STEP`",
        )
    (step,) = open_steps
    if len(matching) > 1:
        titles = "; ".join(repr((d.title or d.agenda_item.uri)[:60]) for d in matching)
        return reason(
            NoMatch.AMBIGUOUS,
            f"{authority_id}: {len(matching)} agenda items match ({titles}); narrow the "
            f"pattern with `starter.py lblod pattern {status.cooperation_id} --set TEXT`",
        )
    (item,) = matching
    session_date = session.session_date
    if session_date is None:
        return reason(
            NoMatch.NO_SESSION_DATE,
            f"{authority_id}: session {session.uri} publishes no start, so its date is "
            "unknown; record the decision with `starter.py decide` and its --session-date",
        )
    opened = step.opened_on
    if (opened is not None and session_date < opened) or session_date > today:
        window = f"from {opened} to {today}" if opened else f"up to {today}"
        return reason(
            NoMatch.SESSION_OUTSIDE_ROUND,
            f"{authority_id}: the session of {session_date} lies outside the round of step "
            f"{step.id} ({window}); it is not this trajectory's decision",
        )
    reference = item.reference
    if reference is None or len(reference) > MAX_REFERENCE:
        return reason(
            NoMatch.NO_MATCHING_ITEM,
            f"{authority_id}: the matching item {item.agenda_item.uri} has no decision URI "
            f"of at most {MAX_REFERENCE} characters; record it with `starter.py decide`",
        )
    reading = read_result(item)
    counted = next((v for v in item.votes if v.has_counts), None)
    votes = (
        Votes(
            votes_for=counted.votes_for,
            votes_against=counted.votes_against,
            votes_abstained=counted.votes_abstained,
        )
        if counted is not None and len(item.votes) == 1
        else Votes()
    )
    proposal = Proposal(
        authority_id=authority_id,
        step_id=step.id,
        result=reading.result,
        outcome=reading.outcome,
        basis=reading.basis,
        session_date=session_date,
        reference=reference,
        title=item.title,
        votes=votes,
        missing=tuple(MISSING_TEXT[m] for m in item.missing),
    )
    return [proposal], []
