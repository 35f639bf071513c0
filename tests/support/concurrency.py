"""Helpers for sending messages to a trajectory from several clients at once, and for checking
afterwards that it is healthy: every message applied or refused with its reason, no failed
workflow task, the status answering, the history replaying, the audit trail complete."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from operations.messages import UpdateName, refusal_reason, stamped
from schemas.trajectory import REFUSAL_TYPE, Ack, RefusalReason, TrajectoryStatus
from tests.support.codec import converter_for_tests
from workflows.registry import WORKFLOWS

# How long one message may take before the test calls the trajectory stuck. Generous: the
# machine is shared, and a stuck trajectory never answers at all.
MESSAGE_BOUND = 60.0


@dataclass(frozen=True)
class Outcome:
    """What one sender saw: the Ack, or the refusal's type, message and retryability."""

    name: str
    ack: Ack | None = None
    refusal: str | None = None
    refusal_type: str | None = None
    refusal_reason: RefusalReason | None = None
    non_retryable: bool = False
    closed: bool = False  # the trajectory had ended (an abort, say) before it arrived

    @property
    def applied(self) -> bool:
        return self.ack is not None and not self.ack.no_op


async def send(handle: WorkflowHandle[Any, Any], name: UpdateName, message: BaseModel) -> Outcome:
    """Send one update; a refusal is an outcome, anything else (a timeout, a failed workflow
    task, an RPC error) is a broken trajectory and fails the test."""
    try:
        ack: Ack = await asyncio.wait_for(
            handle.execute_update(
                name,
                stamped(message),
                result_type=Ack,
                rpc_timeout=timedelta(seconds=MESSAGE_BOUND),
            ),
            MESSAGE_BOUND,
        )
    except RPCError as exc:
        # The run ended first ("already completed"), or while the update waited for the
        # worker ("aborted by closing workflow"): not applied, and the sender is told so.
        if exc.status is RPCStatusCode.NOT_FOUND:
            return Outcome(name, closed=True)
        raise
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        assert isinstance(cause, ApplicationError), f"{name}: refused without a reason: {exc!r}"
        return Outcome(
            name,
            refusal=cause.message,
            refusal_type=cause.type,
            refusal_reason=refusal_reason(exc),
            non_retryable=cause.non_retryable,
        )
    return Outcome(name, ack=ack)


async def at_once(*sends: Awaitable[Outcome]) -> list[Outcome]:
    """Start every send before any answer comes back."""
    return list(await asyncio.gather(*sends))


def assert_refused_cleanly(outcome: Outcome) -> None:
    assert outcome.refusal_type == REFUSAL_TYPE, f"{outcome.name}: {outcome.refusal_type}"
    assert outcome.non_retryable, f"{outcome.name} refused as retryable: {outcome.refusal}"
    assert outcome.refusal and "\n" not in outcome.refusal


async def status_of(handle: WorkflowHandle[Any, Any]) -> TrajectoryStatus:
    """The status; a query that timed out on a loaded machine is asked again, within the
    bound (a stuck trajectory never answers at all)."""
    deadline = asyncio.get_running_loop().time() + MESSAGE_BOUND
    while True:
        try:
            status: TrajectoryStatus = await handle.query(
                "status", result_type=TrajectoryStatus, rpc_timeout=timedelta(seconds=20)
            )
            return status
        except RPCError as exc:
            timed_out = exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)
            # "consistent query buffer is full": the server holds a few queries per run while a
            # workflow task is in progress and refuses more; it asks the client to back off.
            busy = exc.status is RPCStatusCode.RESOURCE_EXHAUSTED
            if not (timed_out or busy) or asyncio.get_running_loop().time() > deadline:
                raise
            if busy:
                await asyncio.sleep(0.2)  # back-off the server asks for, not a wait for state


async def assert_healthy(handle: WorkflowHandle[Any, Any]) -> TrajectoryStatus:
    """No workflow task ever failed, the status answers, and the history replays."""
    history = await handle.fetch_history()
    # A task that timed out on a loaded machine is retried, not broken; a failed one is. One
    # failure is the server's own protocol, not the workflow's: a task that closes the run
    # (an abort, the end) while a new signal waits is refused as UNHANDLED_COMMAND, and the
    # next task takes the signal in first.
    failed = [
        (
            event.event_id,
            event.workflow_task_failed_event_attributes.failure.message[:300],
        )
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        and event.workflow_task_failed_event_attributes.cause
        != WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    ]
    assert not failed, f"{handle.id}: workflow tasks failed at events {failed}"
    replay = await Replayer(
        workflows=WORKFLOWS, data_converter=converter_for_tests()
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replay.replay_failure is None, f"{handle.id} does not replay: {replay.replay_failure}"
    return await status_of(handle)


async def assert_journal_complete(
    conn: asyncpg.Connection, handle: WorkflowHandle[Any, Any], status: TrajectoryStatus
) -> None:
    """The audit trail in PostgreSQL is the workflow's timeline: 1..N, same kinds, in order.
    The journal is flushed within the workflow task that wrote it, so once the status shows
    an entry the row is there or on its way: wait for it, bounded."""
    assert handle.first_execution_run_id is not None
    tid = f"{handle.id}/{handle.first_execution_run_id}"
    expected = [(entry.seq, entry.kind, entry.summary) for entry in status.timeline]
    rows: list[tuple[int, str, str]] = []
    for _ in range(200):
        rows = [
            (row["seq"], row["kind"], row["summary"])
            for row in await conn.fetch(
                "SELECT seq, kind, summary FROM events WHERE trajectory_id = $1 ORDER BY seq", tid
            )
        ]
        if len(rows) >= len(expected):
            break
        await asyncio.sleep(0.05)  # poll interval; bounded by the loop
    assert rows[: len(expected)] == expected, f"{tid}: audit trail differs from the timeline"
    assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1)), f"{tid}: gaps"
