"""Decision latency with many live workflows: from sending an update to its Ack.

Trajectory side: L trajectories wait on their councils (bench/open_rounds.py); C clients send
council decisions (approve) at once, each its next one as soon as the previous is answered,
going round the trajectories so consecutive decisions land on different ones. No status is
read while sampling: every party of an open round may decide in any order.

Bare side: L bare workflows are started and the same clients send the same number of
updates to them in the same order; each update brings the bare activities a council
decision brings in the calibration history.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.client import Client

from bench.bare import BARE_WORKFLOW, BarePlan, BareWorkflow
from bench.drive import DriveLog, approval, timed_update
from bench.histories import HistoryFigures
from bench.open_rounds import OpenRounds
from bench.stats import Latency
from bench.trajectories import COUNCIL_ROUND, PARTIES, Handle, terminate, unique_labels


@dataclass(frozen=True)
class Decision:
    handle: Handle
    authority_id: str


def council_decisions(rounds: OpenRounds) -> list[Decision]:
    """Every pending council decision, round the trajectories: all first parties, then all
    second ones, and so on."""
    return [Decision(handle, authority) for authority in PARTIES for handle in rounds.handles]


async def closed_loop(jobs: list[Callable[[], Awaitable[None]]], clients: int) -> None:
    """`clients` senders, each running the next job once its previous one is done."""
    queue = list(reversed(jobs))

    async def client() -> None:
        while queue:
            await queue.pop()()

    await asyncio.gather(*(client() for _ in range(clients)))


async def trajectory_latency(
    rounds: OpenRounds, decisions: list[Decision], clients: int
) -> Latency:
    log = DriveLog()

    def job(decision: Decision) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            status = rounds.statuses[decision.handle.id]
            message = approval(COUNCIL_ROUND, decision.authority_id, status)
            await timed_update(decision.handle, "decide", message, log)

        return send

    await closed_loop([job(d) for d in decisions], clients)
    return Latency.of(log.latencies)


def bare_latency_plan(calibration: HistoryFigures, updates: int) -> BarePlan:
    """Enough updates for the sampling, each followed by the activities of a council
    decision in the calibration history (the plan's last updates are the council's)."""
    council = list(calibration.activity_plan[-len(PARTIES) :]) or [1]
    per_update = list(itertools.islice(itertools.cycle(council), updates))
    return BarePlan(activities=[calibration.activity_plan[0], *per_update])


async def bare_latency(
    bare_client: Client,
    task_queue: str,
    calibration: HistoryFigures,
    live: int,
    samples: int,
    clients: int,
) -> Latency:
    plan = bare_latency_plan(calibration, samples // max(live, 1) + 1)
    handles: list[Handle] = list(
        await asyncio.gather(
            *(
                bare_client.start_workflow(
                    BARE_WORKFLOW, plan, id=f"bare-{label}", task_queue=task_queue
                )
                for label in unique_labels("lat", live)
            )
        )
    )
    latencies: list[float] = []

    def job(handle: Handle) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            began = time.monotonic()
            await handle.execute_update(BareWorkflow.advance, "decide")
            latencies.append(time.monotonic() - began)

        return send

    targets = list(itertools.islice(itertools.cycle(handles), samples))
    try:
        await closed_loop([job(h) for h in targets], clients)
    finally:
        await terminate(handles, "bench: latency measured")
    return Latency.of(latencies)
