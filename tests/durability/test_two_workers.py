"""Two workers on one task queue share the trajectories; one is killed, the other finishes."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from schemas.common import CooperationKind
from schemas.template import Phase
from schemas.trajectory import TrajectoryStatus
from tests.support.faults import (
    Trajectories,
    Workers,
    check_nothing_lost,
    completed_attempts,
    days,
    drive,
    eventually,
    history,
    request_for,
    result_of,
    utcnow,
    work_done,
)
from workflows.trajectory import InkantelingTrajectory

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(170)]

Handle = WorkflowHandle[InkantelingTrajectory, TrajectoryStatus]
# The shorter templates (the projectvereniging's long path is covered by the crash tests).
KINDS = (
    CooperationKind.REGIONAL_ROLE,
    CooperationKind.INFORMAL_OVERLEG,
    CooperationKind.SHARED_SERVICE,
    CooperationKind.INFORMAL_OVERLEG,
)
# Temporal hands each new trajectory to either worker; more are started (up to AT_MOST)
# until both own at least one, so the test never depends on how the server chose.
AT_MOST = 8


def finished(status: TrajectoryStatus) -> bool:
    return status.finished_on is not None


async def owner(handle: Handle) -> str | None:
    """The identity of the worker that ran the workflow's latest workflow task (some started
    events carry no identity; they are skipped)."""
    started = [
        e.workflow_task_started_event_attributes.identity
        for e in await history(handle)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
        and e.workflow_task_started_event_attributes.identity
    ]
    return started[-1] if started else None


async def test_two_workers_share_trajectories_and_the_survivor_finishes_them_all(
    workers: Workers, trajectories: Trajectories, db: asyncpg.Connection
) -> None:
    """Fault: two worker processes serve one task queue and several trajectories (different
    cooperations and kinds); once both have executed activities, one is killed with SIGKILL.
    Checked: before the kill both workers executed workflow tasks and activities (their
    identities, pid@host, in the histories); after it, only the survivor executes anything,
    it takes over the killed worker's trajectories and every trajectory integrates, each
    with every invariant of `check_nothing_lost`."""
    first = await workers.start()
    second = await workers.start()
    handles: list[Handle] = []
    requests = []
    owners: Counter[str] = Counter()
    while len(handles) < len(KINDS) or (len(owners) < 2 and len(handles) < AT_MOST):
        kind = KINDS[len(handles) % len(KINDS)]
        request = request_for(
            kind, trajectories.cooperation(f"pair-{len(handles)}"), effective_after_days=days(6)
        )
        handle = await trajectories.start(request)
        handles.append(handle)
        requests.append(request)

        async def taken(handle: Handle = handle) -> str | None:
            return await owner(handle)

        owners[await eventually(taken, within=30, what="a worker took the trajectory")] += 1
    assert set(owners) == {first.identity, second.identity}, owners

    drivers = [
        asyncio.create_task(drive(h, until=finished, within=150, what=f"{h.id} integrated"))
        for h in handles
    ]
    try:

        async def both_executed_activities() -> bool:
            identities: set[str] = set()
            for handle in handles:
                identities |= {a.identity for a in completed_attempts(await history(handle))}
            return {first.identity, second.identity} <= identities

        await eventually(both_executed_activities, within=60, what="both workers ran activities")

        # Without a workflow cache any worker takes any task, so ownership moves from task to
        # task: wait for a moment at which the worker to be killed owns a running trajectory.
        async def owned_by_first() -> list[Handle] | None:
            owned = [
                h
                for h in handles
                if await owner(h) == first.identity
                and (await h.describe()).status is WorkflowExecutionStatus.RUNNING
            ]
            return owned or None

        victims = await eventually(
            owned_by_first, within=60, what="the worker to be killed owns a running trajectory"
        )
        first.kill()
        killed_at = utcnow()
        await asyncio.gather(*drivers)
    finally:
        for task in drivers:
            task.cancel()

    finals = [await result_of(h, within=60) for h in handles]
    for handle, request, final in zip(handles, requests, finals, strict=True):
        await check_nothing_lost(db, handle, request, final, phase=Phase.INTEGRATED)
        done = work_done(await history(handle), since=killed_at)
        assert set(done.activities_after) <= {second.identity}, done
    for handle in victims:
        # The survivor took over the killed worker's trajectories and finished them.
        assert await owner(handle) == second.identity
        late = [a for a in completed_attempts(await history(handle)) if a.started > killed_at]
        assert late and {a.identity for a in late} == {second.identity}
    assert second.alive()
