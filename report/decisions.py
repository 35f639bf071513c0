"""Decisions received per trajectory, for the tables and the timeline markers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from report.data import DecisionRecord, TrajectoryRecord
from report.dutch import OUTCOME_LABELS, SILENCE_LABEL, count, format_optional_date
from report.timeline_svg import DecisionMark
from schemas.common import Outcome


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


def received(record: TrajectoryRecord) -> list[_Decided]:
    """Every decision received, all rounds: the decisions table, brought up to date with the
    status (a live status may know a decision not journaled yet) and with the parties whose
    silence was counted as abstention (they have no row of their own)."""
    merged = {(d.step_id, d.authority_id, d.round_number): _from_row(d) for d in record.decisions}
    for step in record.status.steps:
        for party in step.parties:
            key = (step.id, party.authority_id, step.round_number)
            if party.counted_as_abstention:
                merged[key] = _Decided(
                    step.id, party.authority_id, step.round_number, Outcome.ABSTAIN, None, None,
                    (None, None, None),
                )  # fmt: skip
            elif party.decision is not None:
                d = party.decision
                merged[key] = _Decided(
                    step.id, party.authority_id, step.round_number, d.outcome, d.session_date,
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
    return tuple(
        DecisionLine(
            step=titles.get(d.step_id, d.step_id),
            authority=names.get(d.authority_id, d.authority_id),
            outcome=_outcome_label(d),
            outcome_key=d.outcome,
            session=format_optional_date(d.session_date),
            reference=d.reference or "—",
            votes=_votes(d.votes),
            round_label=f"ronde {d.round_number + 1}" if d.round_number else "",
        )
        for d in received(record)
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
