"""The commands a trajectory leaves in its history: a decision moves no step's timer, a
workflow task that takes in several messages publishes the search attributes once, and a timer
is only replaced by one due sooner. Every workflow task replays the whole history on the
product's worker (no cache), so each event saved is saved again on every later task."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import activities_for
from db import trajectories
from operations.start import start_trajectory
from schemas.audit import EventKind
from schemas.common import CooperationKind
from schemas.trajectory import StepStatus, TrajectoryStatus
from tests.support.members import MUNICIPALITIES
from tests.support.trajectories import (
    decision_in,
    make_request,
    play_everyone,
    status_of,
    via_signals,
    via_updates,
    wait_for,
)
from worker import WORKFLOW_RUNNER
from workflows.registry import WORKFLOWS

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROUND = "council-round"
TIMER_EVENTS = {EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_TIMER_CANCELED}
UPSERT = EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES


@asynccontextmanager
async def worker_on(client: Client, database_url: str, task_queue: str) -> AsyncIterator[None]:
    """The product's setting (no workflow cache) on a given task queue, so that a second
    worker can take over the trajectories of a first one that stopped."""
    pool = await asyncpg.create_pool(database_url, min_size=0, max_size=5)
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=activities_for(pool),
            max_cached_workflows=0,
            workflow_runner=WORKFLOW_RUNNER,
        ):
            yield
    finally:
        await pool.close()


async def events_of(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


async def until_settled(handle: WorkflowHandle[Any, Any], within: float = 30.0) -> None:
    """Until no workflow task and no activity is pending: the journal has reached PostgreSQL
    and nothing is in flight that a stopping worker could leave to a timeout."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.05)  # poll interval, bounded by `within`
    raise AssertionError(f"{handle.id} did not settle within {within:.0f} s")


def round_open(status: TrajectoryStatus) -> bool:
    return any(s.id == ROUND and s.status is StepStatus.OPEN for s in status.steps)


def pending_in_round(status: TrajectoryStatus) -> list[str]:
    [step] = [s for s in status.steps if s.id == ROUND]
    return [p.authority_id for p in step.parties if p.outcome is None]


async def open_council_round(
    env: WorkflowEnvironment, task_queue: str, cooperation: CooperationKind
) -> tuple[WorkflowHandle[Any, Any], TrajectoryStatus]:
    today = (await env.get_current_time()).date()
    request = make_request(cooperation, start=today, participants=(*MUNICIPALITIES, "wvi"))
    handle = await start_trajectory(env.client, task_queue, request)
    status = await play_everyone(handle, via_updates(handle), until=round_open)
    return handle, status


async def test_decisions_move_no_timer(dev_env: WorkflowEnvironment, database_url: str) -> None:
    """Every open step waits for its reminder or deadline on a timer. The councils' decisions
    change the state the steps wait on, and none of them cancels or starts a timer, until
    the last one completes the round."""
    queue = "lean-timers"
    async with worker_on(dev_env.client, database_url, queue):
        handle, status = await open_council_round(dev_env, queue, CooperationKind.PROJECTVERENIGING)
        try:
            before = len(await events_of(handle))
            councils = pending_in_round(status)
            assert len(councils) >= 10
            send = via_updates(handle)
            for council in councils[:-1]:  # the round stays open
                await send("decide", decision_in(status, ROUND, council))
            after = await events_of(handle)
        finally:
            await handle.terminate("test finished")
    added = after[before:]
    accepted = [
        e for e in added if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == len(councils) - 1
    timers = [EventType.Name(e.event_type) for e in added if e.event_type in TIMER_EVENTS]
    assert timers == []


def fires_at(started: HistoryEvent) -> float:
    """The wall-clock second a started timer is due to fire."""
    timeout = started.timer_started_event_attributes.start_to_fire_timeout
    return started.event_time.ToDatetime().timestamp() + timeout.ToTimedelta().total_seconds()


async def test_a_timer_is_only_replaced_by_a_sooner_one(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    """Patch `alarm-kept`. The steps before the council round are done one after the other,
    each taking its reminder out of the alarm; when the earliest moment moves later, the
    running timer is kept (it fires early, once). So every timer cancelled was replaced by one
    due sooner, and none was cancelled for a later one."""
    queue = "lean-alarm"
    async with worker_on(dev_env.client, database_url, queue):
        handle, _ = await open_council_round(dev_env, queue, CooperationKind.PROJECTVERENIGING)
        try:
            events = await events_of(handle)
        finally:
            await handle.terminate("test finished")
    by_id = {e.event_id: e for e in events}
    started = [e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    assert started, "the open steps wait on a timer"
    for cancel in (e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_CANCELED):
        cancelled = by_id[cancel.timer_canceled_event_attributes.started_event_id]
        [replacement, *_] = [e for e in started if e.event_id > cancel.event_id]
        assert fires_at(replacement) < fires_at(cancelled), (
            f"timer of event {cancelled.event_id} replaced by a later one "
            f"(event {replacement.event_id})"
        )


async def test_messages_in_one_task_publish_once(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    """Decisions that arrive while no worker runs reach the next worker in one workflow task.
    Each council decides in both of its open rounds, so each council's second decision
    changes the pending authorities; the task publishes them once."""
    queue = "lean-publish"
    async with worker_on(dev_env.client, database_url, queue):
        handle, status = await open_council_round(dev_env, queue, CooperationKind.PROJECTVERENIGING)
        await until_settled(handle)
    try:
        councils = pending_in_round(status)[:5]
        rounds = [s.id for s in status.steps if s.status is StepStatus.OPEN and s.parties]
        assert len(rounds) == 2 and all(c in status.pending_authorities for c in councils)
        send = via_signals(handle)
        for council in councils:
            for step_id in rounds:
                await send("decide", decision_in(status, step_id, council))
        async with worker_on(dev_env.client, database_url, queue):
            final = await wait_for(handle, lambda s: not set(councils) & set(s.pending_authorities))
            events = await events_of(handle)
    finally:
        await handle.terminate("test finished")
    assert final.pending_authorities  # the other councils still have to decide
    signalled = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signalled) == len(councils) * len(rounds)
    # The task that took the signals in: its commands follow its WORKFLOW_TASK_COMPLETED.
    completed = next(
        i
        for i in range(signalled[-1], len(events))
        if events[i].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    commands: list[HistoryEvent] = []
    for event in events[completed + 1 :]:
        if event.event_type in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        ):
            break
        commands.append(event)
    upserts = [e for e in commands if e.event_type == UPSERT]
    assert len(upserts) == 1


async def test_live_flushes_carry_what_replays_leave_out(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    """A worker without a cache replays every earlier journal flush on every workflow task,
    and those replayed inputs carry neither records nor the full status (Temporal keeps the
    recorded ones). The flushes that run are whole: PostgreSQL holds every record in order
    and the full status of the phase the trajectory reached."""
    queue = "lean-flushes"
    async with worker_on(dev_env.client, database_url, queue):
        handle, _ = await open_council_round(dev_env, queue, CooperationKind.PROJECTVERENIGING)
        try:
            await until_settled(handle)
            status = await status_of(handle)
            phases = [e for e in status.timeline if e.kind is EventKind.PHASE_CHANGED]
            assert len(phases) >= 2  # the status was sent again at each of these
            conn = await asyncpg.connect(database_url)
            try:
                trajectory_id = await conn.fetchval(
                    "SELECT id FROM trajectories WHERE workflow_id = $1", handle.id
                )
                stored = await conn.fetchval(
                    "SELECT status FROM trajectories WHERE id = $1", trajectory_id
                )
                events = await trajectories.events_of(conn, trajectory_id)
            finally:
                await conn.close()
        finally:
            await handle.terminate("test finished")
    assert [e.seq for e in events] == list(range(1, len(status.timeline) + 1))
    assert [e.kind for e in events] == [e.kind for e in status.timeline]
    full = TrajectoryStatus.model_validate({**json.loads(stored), "timeline": ()})
    assert full.phase is status.phase
    assert [(s.id, s.status) for s in full.steps] == [(s.id, s.status) for s in status.steps]
