"""Playing the coordinator and every council of one trajectory, as fast as it accepts messages:
read the status, send every message it asks for now (each open task completed, each pending
party approving, a new effective date when it asks for one) at once, and again, until a
condition holds. Every update is timed from sending to its Ack.

Messages are the product's models sent as workflow updates with the product's data
converter, exactly as tests send them (tests/support/trajectories.py); the status comes
from the same read the tests use.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowHandle

from operations.messages import UpdateName, refusal_reason, stamped
from schemas.common import Outcome, StepKind
from schemas.template import ASSEMBLY_BODY
from schemas.trajectory import (
    Ack,
    DecisionInput,
    DelegateVote,
    EffectiveDateChange,
    RefusalReason,
    StepStatus,
    StepView,
    TaskCompletion,
    TrajectoryStatus,
)
from tests.support.trajectories import status_of

MAX_IN_FLIGHT = 10  # a workflow takes at most 10 updates in flight
POLL_INTERVAL = 0.1  # between status reads while only activities or timers can move it
REFUSALS_TOLERATED = 20

Message = tuple[UpdateName, BaseModel]
Until = Callable[[TrajectoryStatus], bool]


class DriveFailed(RuntimeError):
    """The trajectory did not get where the bench drives it."""


@dataclass
class DriveLog:
    """What driving cost: each applied update's latency, the size of each batch sent after
    a status read, how many status reads, and refusals of a step not open yet."""

    latencies: list[float] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    reads: int = 0
    refused: int = 0

    def merge(self, other: DriveLog) -> None:
        self.latencies += other.latencies
        self.batches += other.batches
        self.reads += other.reads
        self.refused += other.refused


def step_of(status: TrajectoryStatus, step_id: str) -> StepView:
    return next(step for step in status.steps if step.id == step_id)


def step_is(step_id: str, *wanted: StepStatus) -> Until:
    return lambda status: step_of(status, step_id).status in wanted


def finished(status: TrajectoryStatus) -> bool:
    return status.finished_on is not None


def approval(step_id: str, authority_id: str, status: TrajectoryStatus) -> DecisionInput:
    """An approval; the general assembly's carries every member's delegate approving. No
    session date: the trajectory takes its own today (a date read from the status may lie
    before the step opened on a compressed calendar)."""
    delegates = (
        tuple(
            DelegateVote(authority_id=m.authority_id, outcome=Outcome.APPROVE)
            for m in (status.members or status.participants)
        )
        if authority_id == ASSEMBLY_BODY
        else ()
    )
    return DecisionInput(
        authority_id=authority_id,
        outcome=Outcome.APPROVE,
        reference=f"https://{authority_id}.example/besluit/{step_id}",
        step_id=step_id,
        delegates=delegates,
        recorded_by="Secretariaat Midwest",
    )


def messages_for(
    status: TrajectoryStatus,
    *,
    only: frozenset[str] | None = None,
    hold: frozenset[str] = frozenset(),
) -> list[Message]:
    """What moves the trajectory on now, for steps in `only` (all when None), none in `hold`."""
    messages: list[Message] = []
    if status.needs_effective_date:
        today = status.calendar_today(datetime.now(UTC))
        change = EffectiveDateChange(
            effective_date=today + timedelta(days=60),
            reason="de goedkeuring kwam na de geplande ingangsdatum",
            changed_by="Coördinator",
        )
        messages.append(("set_effective_date", change))
    for step in status.steps:
        if step.status is not StepStatus.OPEN or step.id in hold:
            continue
        if only is not None and step.id not in only:
            continue
        # A task with an earliest day (the union meeting) waits for it.
        if step.kind is StepKind.TASK and (step.earliest is None or step.earliest <= status.today):
            completion = TaskCompletion(
                step_id=step.id, evidence=f"doc://{step.id}", completed_by="Coördinator"
            )
            messages.append(("complete_task", completion))
        for party in step.parties:
            if party.outcome is None:
                messages.append(("decide", approval(step.id, party.authority_id, status)))
    return messages[:MAX_IN_FLIGHT]


async def timed_update(
    handle: WorkflowHandle[Any, Any], name: str, message: BaseModel, log: DriveLog
) -> Ack:
    began = time.monotonic()
    ack: Ack = await handle.execute_update(name, stamped(message), result_type=Ack)
    log.latencies.append(time.monotonic() - began)
    return ack


def _tolerated(name: str, error: BaseException) -> bool:
    """A refusal because the step is not open (yet, or any more), or a new effective date the
    trajectory's calendar has passed: the status we read was older than the trajectory, e.g.
    on a compressed calendar. Sent again after a fresh read."""
    reason = refusal_reason(error)
    return reason is RefusalReason.NOT_OPEN or (reason is not None and name == "set_effective_date")


async def drive(
    handle: WorkflowHandle[Any, Any],
    until: Until,
    log: DriveLog,
    *,
    within: float,
    only: frozenset[str] | None = None,
    hold: frozenset[str] = frozenset(),
) -> TrajectoryStatus:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status = await status_of(handle)
        log.reads += 1
        if until(status):
            return status
        messages = messages_for(status, only=only, hold=hold)
        if not messages:
            await asyncio.sleep(POLL_INTERVAL)
            continue
        log.batches.append(len(messages))
        results = await asyncio.gather(
            *(timed_update(handle, name, message, log) for name, message in messages),
            return_exceptions=True,
        )
        for (name, _), result in zip(messages, results, strict=True):
            if isinstance(result, BaseException):
                if not _tolerated(name, result) or log.refused >= REFUSALS_TOLERATED:
                    raise DriveFailed(f"{handle.id}: {result!r}") from result
                log.refused += 1
    raise DriveFailed(f"{handle.id} did not get there within {within:.0f} s")
