"""Worker memory with many open trajectories, and the recovery after a crash.

Memory: the resident set size (RSS) of the `worker.py` process once every trajectory waits on
its councils and the worker is idle, against the RSS of a freshly started worker before any
trajectory reached it.

Recovery: the worker is killed (SIGKILL) and a fresh one started on the same task queue.
Measured from its launch: when Temporal sees it poll, and when every open trajectory has
answered a status read served by it (reads sent some at a time, each retried until
answered). A status read makes the worker rebuild the run from its history, as any first
workflow task after a restart does; it is what a coordinator's first command needs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from temporalio.client import Client
from temporalio.service import RPCError

from bench.trajectories import Handle
from bench.workers import WorkerPool, WorkerProcess, wait_polling
from tests.support.trajectories import status_of

SETTLE_SECONDS = 3.0
READ_CONCURRENCY = 20
READ_RETRY_PAUSE = 0.5


@dataclass(frozen=True)
class Recovery:
    trajectories: int
    answered: int
    polling_after: float
    all_answered_after: float | None
    fresh_rss: int  # the new worker once it polls, before any read
    rss_after: int  # once every trajectory answered


async def settled_rss(worker: WorkerProcess) -> int:
    """RSS once the worker is idle: the highest of a few samples over SETTLE_SECONDS."""
    samples = []
    for _ in range(3):
        await asyncio.sleep(SETTLE_SECONDS / 3)
        samples.append(worker.rss())
    return max(samples)


async def _answered(handle: Handle, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            await asyncio.wait_for(status_of(handle), timeout=max(deadline - time.monotonic(), 0.1))
            return True
        except (RPCError, TimeoutError):
            await asyncio.sleep(READ_RETRY_PAUSE)
    return False


async def recover(
    client: Client,
    pool: WorkerPool,
    worker: WorkerProcess,
    handles: list[Handle],
    *,
    within: float,
) -> tuple[WorkerProcess, Recovery]:
    worker.kill()
    began = time.monotonic()
    fresh = pool.launch_product(worker.task_queue)
    polling = await wait_polling(client, fresh, within=90.0)
    fresh_rss = fresh.rss()
    deadline = began + within
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(handle: Handle) -> bool:
        async with gate:
            return await _answered(handle, deadline)

    answered = sum(await asyncio.gather(*(read(h) for h in handles)))
    finished = time.monotonic() - began
    recovery = Recovery(
        trajectories=len(handles),
        answered=answered,
        polling_after=polling,
        all_answered_after=finished if answered == len(handles) else None,
        fresh_rss=fresh_rss,
        rss_after=await settled_rss(fresh),
    )
    return fresh, recovery
