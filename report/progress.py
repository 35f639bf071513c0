"""Where a trajectory stands on a given day: state, open and late steps, the next deadline.

The stored `overdue` and `next_deadline` are correct as of the status's own date; the report
recomputes them from the steps for the day it judges the trajectory on (see `as_of`).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from report.data import TrajectoryRecord
from schemas.common import CooperationKind, Outcome
from schemas.template import Phase
from schemas.trajectory import StepStatus, StepView, TrajectoryStatus

State = Literal["running", "integrated", "aborted"]
FINAL_OUTCOMES = (Outcome.APPROVE, Outcome.REJECT, Outcome.ABSTAIN)


def state_of(status: TrajectoryStatus) -> State:
    if status.phase is Phase.ABORTED:
        return "aborted"
    if status.phase is Phase.INTEGRATED:
        return "integrated"
    return "running"


# Kinds whose template has no general assembly (templates/informal-overleg.yaml): the partners
# stop their overleg and the board takes the activity up. Their request still carries a
# "planned AV date", but it only anchors the board's decision, so the report shows no assembly.
# The status does not say so itself; the kind decides which template a trajectory runs.
_WITHOUT_ASSEMBLY = frozenset({CooperationKind.INFORMAL_OVERLEG})


def has_general_assembly(status: TrajectoryStatus) -> bool:
    return status.kind not in _WITHOUT_ASSEMBLY


def as_of(record: TrajectoryRecord, report_date: date) -> date:
    """The day the trajectory's open steps are judged on.

    Neither a stored snapshot nor a live query knows today's date: a workflow's clock only
    moves when it wakes up, so both carry the date of its last activation, which can be weeks
    old while councils deliberate. A trajectory's calendar never runs slower than real time, so
    the later of that date and the report date is a safe lower bound for where it stands."""
    status = record.status
    if status.finished_on is not None:
        return status.finished_on
    return max(status.today, report_date)


def open_steps(status: TrajectoryStatus) -> list[StepView]:
    return [s for s in status.steps if s.status is StepStatus.OPEN]


def is_late(step: StepView, day: date) -> bool:
    """As the workflow has it: open, and its due date has fully passed."""
    return step.status is StepStatus.OPEN and step.due is not None and day > step.due


def any_late(status: TrajectoryStatus, day: date) -> bool:
    return any(is_late(s, day) for s in status.steps)


def next_deadline(status: TrajectoryStatus, day: date) -> tuple[date, list[StepView]] | None:
    """The earliest due date not yet passed among open steps, with the steps due then."""
    upcoming = [s for s in open_steps(status) if s.due is not None and s.due >= day]
    if not upcoming:
        return None
    first = min(s.due for s in upcoming if s.due is not None)
    return first, [s for s in upcoming if s.due == first]


def pending_parties(step: StepView) -> list[str]:
    """Parties of a decision without a final decision (a postponement is not final)."""
    return [p.authority_id for p in step.parties if p.outcome not in FINAL_OUTCOMES]


def pending_count(status: TrajectoryStatus) -> int:
    """Authorities the open decisions wait for, each counted once."""
    pending: set[str] = set()
    for step in open_steps(status):
        pending.update(pending_parties(step))
    return len(pending)
