"""Decisions received per trajectory, for the tables, the timeline markers and the round tallies.

Each decision is shown once, in the round it was taken in. After an amendment the status keeps
the decisions of the parties the new round did not reopen (they still count), but they belong
to the earlier round: the journal's `decision-recorded` event of that very decision says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError

from phrasing.verdicts import PartyOutcome, tally
from report.data import DecisionRecord, TrajectoryRecord
from report.dutch import OUTCOME_LABELS, SILENCE_LABEL, count, format_optional_date
from report.timeline_svg import DecisionMark
from schemas import events as ev
from schemas.audit import AuditEvent, EventKind
from schemas.common import Outcome, StepKind
from schemas.trajectory import RecordedDecision


@dataclass(frozen=True)
class DecisionLine:
    step: str
    authority: str
    outcome: str
    outcome_key: Outcome
    session: str
    reference: str
    votes: str
    round_label: str


@dataclass(frozen=True)
class _Decided:
    step_id: str
    authority_id: str
    round_number: int
    outcome: Outcome
    session_date: date | None  # None: silence counted as abstention
    reference: str | None
    votes: tuple[int | None, int | None, int | None]


def _from_row(row: DecisionRecord) -> _Decided:
    return _Decided(
        row.step_id,
        row.authority_id,
        row.round_number,
        row.outcome,
        row.session_date,
        row.reference,
        (row.votes_for, row.votes_against, row.votes_abstained),
    )


def _payload(event: AuditEvent) -> ev.EventPayload | None:
    try:
        return event.payload()
    except ValidationError:  # written by an older version without a field: not usable here
        return None


def _journal_rounds(
    events: tuple[AuditEvent, ...],
) -> tuple[list[tuple[RecordedDecision, int]], dict[tuple[str, str], int]]:
    """From the journal: every recorded decision with its round, and for each (step, party)
    the round in which its silence was last counted as abstention."""
    decided: list[tuple[RecordedDecision, int]] = []
    silent: dict[tuple[str, str], int] = {}
    amendments: dict[str, int] = {}  # step -> amendments so far: the round a close belongs to
    for event in sorted(events, key=lambda e: e.seq):
        payload = _payload(event)
        if isinstance(payload, ev.DecisionRecorded):
            decided.append((payload.decision, payload.round))
        elif isinstance(payload, ev.AmendmentRecorded) and event.step_id is not None:
            amendments[event.step_id] = amendments.get(event.step_id, 0) + 1
        elif isinstance(payload, ev.RoundClosed) and event.step_id is not None:
            for authority_id in payload.silent:
                silent[(event.step_id, authority_id)] = amendments.get(event.step_id, 0)
    return decided, silent


def received(record: TrajectoryRecord) -> list[_Decided]:
    """Every decision received, all rounds, each once: the decisions table, brought up to date
    with the status (a live status may know a decision not journaled yet) and with the parties
    whose silence was counted as abstention (they have no row of their own)."""
    merged = {(d.step_id, d.authority_id, d.round_number): _from_row(d) for d in record.decisions}
    decided, silent = _journal_rounds(record.events)
    for step in record.status.steps:
        for party in step.parties:
            if party.counted_as_abstention:
                taken = silent.get((step.id, party.authority_id), step.round_number)
                merged[(step.id, party.authority_id, taken)] = _Decided(
                    step.id, party.authority_id, taken, Outcome.ABSTAIN, None, None,
                    (None, None, None),
                )  # fmt: skip
            elif party.decision is not None:
                d = party.decision
                # The journal's round of this very decision; a decision it does not hold yet
                # was taken in the current round.
                taken = next((r for j, r in decided if j == d), step.round_number)
                merged[(step.id, party.authority_id, taken)] = _Decided(
                    step.id, party.authority_id, taken, d.outcome, d.session_date,
                    d.reference, (d.votes_for, d.votes_against, d.votes_abstained),
                )  # fmt: skip
    order = {s.id: i for i, s in enumerate(record.status.steps)}
    return sorted(
        merged.values(),
        key=lambda d: (
            order.get(d.step_id, len(order)),
            d.round_number,
            d.session_date or date.max,
            d.authority_id,
        ),
    )


def _outcome_label(d: _Decided) -> str:
    return SILENCE_LABEL if d.session_date is None else OUTCOME_LABELS[d.outcome]


def _votes(votes: tuple[int | None, int | None, int | None]) -> str:
    labels = (("voor", "voor"), ("tegen", "tegen"), ("onthouding", "onthoudingen"))
    return ", ".join(
        count(n, *label) for n, label in zip(votes, labels, strict=True) if n is not None
    )


def decision_lines(
    record: TrajectoryRecord, titles: Mapping[str, str], names: Mapping[str, str]
) -> tuple[DecisionLine, ...]:
    decisions = received(record)
    # Rounds are numbered only for a step that had more than one: "ronde 1", "ronde 2".
    several = {d.step_id for d in decisions if d.round_number > 0}
    several |= {s.id for s in record.status.steps if s.round_number > 0}
    return tuple(
        DecisionLine(
            step=titles.get(d.step_id, d.step_id),
            authority=names.get(d.authority_id, d.authority_id),
            outcome=_outcome_label(d),
            outcome_key=d.outcome,
            session=format_optional_date(d.session_date),
            reference=d.reference or "—",
            votes=_votes(d.votes),
            round_label=f"ronde {d.round_number + 1}" if d.step_id in several else "",
        )
        for d in decisions
    )


def decision_marks(
    record: TrajectoryRecord, titles: Mapping[str, str], names: Mapping[str, str]
) -> list[DecisionMark]:
    due = {s.id: s.due for s in record.status.steps}
    marks = []
    for d in received(record):
        # Silence is marked on the step's due date: the day it started to count as abstention.
        on = d.session_date or due.get(d.step_id)
        if on is None:
            continue
        who = names.get(d.authority_id, d.authority_id)
        what = titles.get(d.step_id, d.step_id)
        marks.append(
            DecisionMark(
                step_id=d.step_id,
                on=on,
                outcome=d.outcome,
                label=f"{who}: {_outcome_label(d)} — {what}",
            )
        )
    return marks


def round_tallies(record: TrajectoryRecord, names: Mapping[str, str]) -> dict[int, str]:
    """For each verdict event of a decision round (its seq), how the parties stood then:
    replayed from the journal's decisions, closes and amendments, for the parties of the round
    as the status lists them (one who joined later was not a party yet)."""
    rounds = {s.id: s for s in record.status.steps if s.kind is StepKind.DECISION_ROUND}
    standing: dict[str, dict[str, tuple[Outcome, bool]]] = {step_id: {} for step_id in rounds}
    joined: set[str] = set()
    later = {
        e.authority_id
        for e in record.events
        if e.kind is EventKind.MEMBER_JOINED and e.authority_id is not None
    }
    tallies: dict[int, str] = {}
    for event in sorted(record.events, key=lambda e: e.seq):
        if event.kind is EventKind.MEMBER_JOINED and event.authority_id is not None:
            joined.add(event.authority_id)
            continue
        step = rounds.get(event.step_id or "")
        if step is None:
            continue
        now = standing[step.id]
        payload = _payload(event)
        if isinstance(payload, ev.DecisionRecorded):
            now[payload.decision.authority_id] = (payload.decision.outcome, False)
        elif isinstance(payload, ev.RoundClosed):
            now.update({a: (Outcome.ABSTAIN, True) for a in payload.silent})
        elif isinstance(payload, ev.AmendmentRecorded):
            for authority_id in payload.reopened:
                now.pop(authority_id, None)
        elif isinstance(payload, ev.DecisionPassed | ev.DecisionRejected):
            parties = [
                p.authority_id
                for p in step.parties
                if p.authority_id not in later or p.authority_id in joined
            ]
            tallies[event.seq] = tally(
                [
                    PartyOutcome(
                        names.get(a, a),
                        now[a][0] if a in now else None,
                        silent=a in now and now[a][1],
                    )
                    for a in parties
                ]
            )
    return tallies
