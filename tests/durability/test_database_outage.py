"""PostgreSQL goes away while automatic steps are due, and comes back on the same data."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from temporalio.client import WorkflowExecutionStatus

from schemas.common import CooperationKind
from schemas.template import Phase
from schemas.trajectory import StepStatus, TrajectoryStatus
from stack.postgres import EmbeddedPostgres
from tests.support.faults import (
    FAR_EFFECTIVE_DAYS,
    Trajectories,
    Workers,
    check_nothing_lost,
    completed_attempts,
    drive,
    effective_date_in,
    eventually,
    history,
    pending_activities,
    request_for,
    result_of,
    status_when,
    step_of,
    trajectory_id,
    work_done,
)

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(150)]


def finished(status: TrajectoryStatus) -> bool:
    return status.finished_on is not None


async def test_postgres_down_during_automatic_steps_then_back(
    durable_postgres: EmbeddedPostgres,
    workers: Workers,
    trajectories: Trajectories,
    database_url: str,
) -> None:
    """Fault: our PostgreSQL is shut down while the trajectory waits for its effective date,
    so the automatic transfer steps and the journal batches run against no database.
    Checked, during the outage: both activities (perform_action, persist_journal) fail and
    are retried with backoff (pending attempt >= 3 with a connection error as last failure)
    while the trajectory waits (transfer steps open, not finished, workflow running). After
    PostgreSQL starts again on the same data: the trajectory integrates, no workflow task or
    activity failed for good, the retried actions ran once (one ledger row each), and every
    invariant of `check_nothing_lost`."""
    request = request_for(
        CooperationKind.PROJECTVERENIGING,
        trajectories.cooperation("pg-down"),
        effective_after_days=FAR_EFFECTIVE_DAYS,
    )
    await workers.start()
    handle = await trajectories.start(request)
    tid = trajectory_id(handle)
    await drive(
        handle,
        until=lambda s: step_of(s, "effective-date").status is StepStatus.OPEN,
        within=60,
        what="waiting for the effective date",
    )
    await effective_date_in(handle, seconds=1.5)

    await asyncio.to_thread(durable_postgres.stop)
    try:
        # The staff and assets move once the deed is executed: the coordinator records it
        # while PostgreSQL is down (the workflow takes it; only its projection waits).
        await drive(
            handle,
            until=lambda s: step_of(s, "transfer-assets").status is StepStatus.OPEN,
            within=60,
            what="the deed recorded and the transfer steps open",
        )

        async def retrying() -> dict[str, tuple[int, str]] | None:
            pending = await pending_activities(handle)
            attempts = {name: attempt for name, (attempt, _) in pending.items()}
            wanted = (
                attempts.get("perform_action", 0) >= 3 and attempts.get("persist_journal", 0) >= 3
            )
            return pending if wanted else None

        pending = await eventually(retrying, within=60, what="both activities retried twice")
        for name, (_, failure) in pending.items():
            assert "connect" in failure.lower(), f"{name} failed with {failure!r}"
        waiting = await status_when(
            handle, lambda s: True, within=30, what="status while PG is down"
        )
        assert step_of(waiting, "transfer-staff").status is StepStatus.OPEN
        assert waiting.finished_on is None
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    finally:
        await asyncio.to_thread(durable_postgres.start)

    await drive(handle, until=finished, within=90, what="integrated after the outage")
    final = await result_of(handle, within=60)

    conn = await asyncpg.connect(database_url)
    try:
        survey = await check_nothing_lost(conn, handle, request, final, phase=Phase.INTEGRATED)
    finally:
        await conn.close()
    assert len(survey.transfers) == len(request.staff) + len(request.assets)
    events = await history(handle)
    done = work_done(events)
    assert (done.workflow_task_failures, done.activity_failures, done.activity_timeouts) == (
        0,
        0,
        0,
    )
    retried = {a.activity_type for a in completed_attempts(events) if a.attempt >= 3}
    assert retried == {"perform_action", "persist_journal"}
    assert tid == survey.trajectory_id
