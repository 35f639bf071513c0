"""Starting trajectories of the default template for the bench: projectvereniging, the 16
municipalities and WVI as parties, a cooperation of its own in the register for each (one
live trajectory per cooperation), built with the tests' request helper so the bench follows
the request model wherever the tests go."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from db.register import upsert_cooperations
from operations.start import start_trajectory
from schemas.common import CooperationKind
from schemas.register import CooperationFiche
from schemas.trajectory import TrajectoryRequest
from templates.loader import load_template
from tests.support.members import MUNICIPALITIES
from tests.support.trajectories import make_request

KIND = CooperationKind.PROJECTVERENIGING
PARTIES = (*MUNICIPALITIES, "wvi")
COUNCIL_ROUND = "council-round"
START_CONCURRENCY = 20

Handle = WorkflowHandle[Any, Any]


def bench_request(
    label: str,
    *,
    av_after_days: int = 180,
    effective_after_days: int = 240,
    speed: float = 1.0,
) -> TrajectoryRequest:
    cooperation = (f"bench-{label}", f"Bench {label}")
    return make_request(
        KIND,
        participants=PARTIES,
        start=date.today(),
        av_after_days=av_after_days,
        effective_after_days=effective_after_days,
        speed=speed,
        cooperation=cooperation,
    )


async def register_cooperations(database_url: str, requests: Iterable[TrajectoryRequest]) -> None:
    """Put each request's cooperation in the register, as a coordinator's fiche would."""
    fiches = [
        CooperationFiche(id=r.cooperation_id, name=r.cooperation_name, kind=r.kind)
        for r in requests
    ]
    conn = await asyncpg.connect(database_url)
    try:
        await upsert_cooperations(conn, fiches)
    finally:
        await conn.close()


async def start_all(
    client: Client, database_url: str, task_queue: str, requests: Iterable[TrajectoryRequest]
) -> list[Handle]:
    """Register each request's cooperation, then start its trajectory (some at a time)."""
    wanted = list(requests)
    await register_cooperations(database_url, wanted)
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(request: TrajectoryRequest) -> Handle:
        async with gate:
            return await start_trajectory(client, task_queue, request)

    return list(await asyncio.gather(*(one(r) for r in wanted)))


def unique_labels(prefix: str, count: int) -> list[str]:
    salt = uuid.uuid4().hex[:6]
    return [f"{prefix}-{salt}-{index}" for index in range(count)]


def council_round_path() -> frozenset[str]:
    """The steps the council round waits for (its dependencies, transitively) and itself:
    driving only these opens the round with the fewest messages, the other lanes left open
    as they would be in a real trajectory waiting on its councils."""
    steps = {step.id: step for step in load_template(KIND).steps}
    wanted: set[str] = set()
    todo = [COUNCIL_ROUND]
    while todo:
        step_id = todo.pop()
        if step_id not in wanted:
            wanted.add(step_id)
            todo += list(steps[step_id].depends_on)
    return frozenset(wanted)


async def terminate(handles: Iterable[Handle], reason: str) -> None:
    async def one(handle: Handle) -> None:
        try:
            if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate(reason)
        except RPCError:
            pass  # ended meanwhile

    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def gated(handle: Handle) -> None:
        async with gate:
            await one(handle)

    await asyncio.gather(*(gated(h) for h in handles))
