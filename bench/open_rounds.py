"""Bringing many trajectories to their open council round ("waiting on councils") with a few
drivers at once, each taking the next trajectory when it is done with one. Only the steps
the round depends on are driven (bench/trajectories.py, `council_round_path`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from temporalio.client import Client

from bench.drive import DriveFailed, DriveLog, drive, step_is
from bench.trajectories import (
    COUNCIL_ROUND,
    Handle,
    bench_request,
    council_round_path,
    register_cooperations,
    unique_labels,
)
from operations.start import start_trajectory
from schemas.trajectory import StepStatus, TrajectoryStatus

DRIVE_ONE_WITHIN = 300.0


@dataclass
class OpenRounds:
    """Trajectories waiting on their councils, with the status each was last read in."""

    handles: list[Handle] = field(default_factory=list)
    statuses: dict[str, TrajectoryStatus] = field(default_factory=dict)
    log: DriveLog = field(default_factory=DriveLog)
    started: int = 0
    seconds: float = 0.0

    @property
    def reached(self) -> int:
        return len(self.handles)


async def open_rounds(
    client: Client,
    database_url: str,
    task_queue: str,
    count: int,
    *,
    drivers: int,
    within: float,
    into: OpenRounds | None = None,
) -> OpenRounds:
    """Start `count` trajectories and drive them until their council round is open, or until
    `within` seconds have passed (those not there yet stay started and are counted apart)."""
    result = into or OpenRounds()
    began = time.monotonic()
    deadline = began + within
    requests = [bench_request(label) for label in unique_labels("open", count)]
    path = council_round_path() - {COUNCIL_ROUND}
    # Started one by one as a driver takes them, so running out of time leaves at most one
    # trajectory per driver on its way to the round.
    waiting = list(reversed(requests))
    await register_cooperations(database_url, requests)

    async def driver() -> None:
        while waiting and time.monotonic() < deadline:
            handle = await start_trajectory(client, task_queue, waiting.pop())
            result.started += 1
            log = DriveLog()
            try:
                status = await drive(
                    handle,
                    step_is(COUNCIL_ROUND, StepStatus.OPEN),
                    log,
                    within=min(DRIVE_ONE_WITHIN, max(deadline - time.monotonic(), 1.0)),
                    only=path,
                )
            except DriveFailed:
                if time.monotonic() < deadline:
                    raise
                continue  # out of time: this one stays on the way
            finally:
                result.log.merge(log)
            result.handles.append(handle)
            result.statuses[handle.id] = status

    await asyncio.gather(*(driver() for _ in range(drivers)))
    result.seconds += time.monotonic() - began
    return result
