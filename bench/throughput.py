"""Throughput: N trajectories driven at once to the end of their council round, against N bare
workflows doing the same updates and activities, on the same server, one worker process each.

First one trajectory is driven alone (calibration): its history gives the number of updates
and activities and their order (the bare workflow's plan), and its drive the size of each
batch of updates sent after a status read. The bare workflows are then driven in the same
batches, each batch after a query, so both sides see the same pattern of client calls.
The sides take turns over the passes (bare, trajectory, trajectory, bare, ...); the ratio is
the trajectory's updates per second over the bare workflow's, each over all its passes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench.bare import BARE_WORKFLOW, BarePlan, BareWorkflow
from bench.drive import DriveLog, drive, step_is
from bench.health import troubles
from bench.histories import HistoryFigures, history_figures
from bench.stats import Latency
from bench.trajectories import COUNCIL_ROUND, bench_request, start_all, terminate, unique_labels
from bench.workers import WorkerProcess
from schemas.trajectory import StepStatus

DRIVE_WITHIN = 900.0


@dataclass(frozen=True)
class Side:
    workflows: int
    updates: int
    seconds: float
    latency: Latency
    worker_cpu: float = 0.0  # CPU seconds its worker process used meanwhile

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_update(self) -> float:
        """The worker's CPU per update: less disturbed by a shared machine than a rate."""
        return self.worker_cpu / self.updates if self.updates else 0.0


@dataclass(frozen=True)
class Throughput:
    calibration: HistoryFigures
    batches: tuple[int, ...]
    trajectory: Side
    bare: Side
    bare_history: HistoryFigures
    status_reads: int  # by the trajectory drivers, polls while activities run included
    pass_ratios: tuple[float, ...]  # the ratio of each pass alone: how noisy the machine was
    # Activities retried and failed workflow tasks: figures of a sick trajectory are not the
    # core's, so they are shown with the figures.
    troubles: tuple[str, ...] = ()

    @property
    def ratio(self) -> float:
        return self.trajectory.rate / self.bare.rate if self.bare.rate > 0 else 0.0


async def calibrate(
    client: Client, database_url: str, task_queue: str
) -> tuple[HistoryFigures, DriveLog, list[str]]:
    [handle] = await start_all(
        client, database_url, task_queue, [bench_request(unique_labels("cal", 1)[0])]
    )
    log = DriveLog()
    try:
        await drive(handle, step_is(COUNCIL_ROUND, StepStatus.DONE), log, within=DRIVE_WITHIN)
        return await history_figures(handle), log, await troubles(handle)
    finally:
        await terminate([handle], "bench: calibration done")


def batches_for(plan: BarePlan, batches: list[int]) -> list[int]:
    """The trajectory's batch sizes, trimmed or filled with single updates to the plan's count
    (they differ only if the calibration drive had a refusal)."""
    shaped: list[int] = []
    left = plan.updates
    for size in batches:
        if left <= 0:
            break
        shaped.append(min(size, left))
        left -= shaped[-1]
    return shaped + [1] * left


async def drive_bare(
    handle: WorkflowHandle[Any, Any], batches: list[int], latencies: list[float]
) -> None:
    for size in batches:
        await handle.query(BareWorkflow.received)

        async def one() -> None:
            began = time.monotonic()
            await handle.execute_update(BareWorkflow.advance, "step")
            latencies.append(time.monotonic() - began)

        await asyncio.gather(*(one() for _ in range(size)))
    await handle.result()


async def bare_side(
    client: Client, task_queue: str, plan: BarePlan, batches: list[int], count: int
) -> tuple[Side, list[float], HistoryFigures]:
    """The bare side, its latencies, and the history of one of its workflows (to show that
    it matches the plan)."""
    latencies: list[float] = []
    began = time.monotonic()
    handles = await asyncio.gather(
        *(
            client.start_workflow(BARE_WORKFLOW, plan, id=f"bare-{label}", task_queue=task_queue)
            for label in unique_labels("tp", count)
        )
    )
    await asyncio.gather(*(drive_bare(h, batches, latencies) for h in handles))
    side = Side(count, len(latencies), time.monotonic() - began, Latency.of(latencies))
    return side, latencies, await history_figures(handles[0])


async def trajectory_side(
    client: Client, database_url: str, task_queue: str, count: int
) -> tuple[Side, DriveLog, list[str]]:
    began = time.monotonic()
    requests = [bench_request(label) for label in unique_labels("tp", count)]
    handles = await start_all(client, database_url, task_queue, requests)
    logs = [DriveLog() for _ in handles]
    try:
        await asyncio.gather(
            *(
                drive(h, step_is(COUNCIL_ROUND, StepStatus.DONE), log, within=DRIVE_WITHIN)
                for h, log in zip(handles, logs, strict=True)
            )
        )
        seconds = time.monotonic() - began
        found = [line for h in handles for line in await troubles(h)]
    finally:
        await terminate(handles, "bench: throughput measured")
    total = DriveLog()
    for log in logs:
        total.merge(log)
    return Side(count, len(total.latencies), seconds, Latency.of(total.latencies)), total, found


def combined(passes: list[tuple[Side, list[float]]]) -> Side:
    """One side over every pass: updates and seconds (and CPU) summed, latencies pooled."""
    sides = [side for side, _ in passes]
    return Side(
        workflows=sum(side.workflows for side in sides),
        updates=sum(side.updates for side in sides),
        seconds=sum(side.seconds for side in sides),
        latency=Latency.of([value for _, latencies in passes for value in latencies]),
        worker_cpu=sum(side.worker_cpu for side in sides),
    )


async def measure_throughput(
    client: Client,
    bare_client: Client,
    database_url: str,
    workers: tuple[WorkerProcess, WorkerProcess],
    count: int,
    passes: int,
) -> Throughput:
    """`workers`: the trajectory worker and the bare worker, each on its own task queue.
    The sides take turns, bare first in even passes and trajectory first in odd ones (bare,
    trajectory, trajectory, bare, ...), so that a load that comes or goes on the shared
    machine weighs on both."""
    worker, bare_worker = workers
    calibration, calibration_log, sick = await calibrate(client, database_url, worker.task_queue)
    plan = calibration.bare_plan()
    batches = batches_for(plan, calibration_log.batches)
    bare_passes: list[tuple[Side, list[float]]] = []
    trajectory_passes: list[tuple[Side, list[float]]] = []
    reads = 0
    troubled = list(sick)

    async def bare_pass() -> HistoryFigures:
        cpu = bare_worker.cpu()
        side, latencies, history = await bare_side(
            bare_client, bare_worker.task_queue, plan, batches, count
        )
        bare_passes.append(
            (dataclasses.replace(side, worker_cpu=bare_worker.cpu() - cpu), latencies)
        )
        return history

    async def trajectory_pass() -> None:
        nonlocal reads
        cpu = worker.cpu()
        side, log, found = await trajectory_side(client, database_url, worker.task_queue, count)
        side = dataclasses.replace(side, worker_cpu=worker.cpu() - cpu)
        trajectory_passes.append((side, log.latencies))
        reads += log.reads
        troubled.extend(found)

    bare_history = None
    for index in range(passes):
        if index % 2 == 0:
            bare_history = await bare_pass()
            await trajectory_pass()
        else:
            await trajectory_pass()
            bare_history = await bare_pass()
    assert bare_history is not None
    ratios = tuple(
        t.rate / b.rate if b.rate > 0 else 0.0
        for (t, _), (b, _) in zip(trajectory_passes, bare_passes, strict=True)
    )
    return Throughput(
        calibration,
        tuple(batches),
        combined(trajectory_passes),
        combined(bare_passes),
        bare_history,
        reads,
        ratios,
        tuple(troubled),
    )
