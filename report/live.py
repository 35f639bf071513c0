"""Live statuses from Temporal: the `status` query of each running trajectory.

Optional by design: the stored snapshots are a complete report on their own, so every failure
here (no server, no worker answering, a query timing out) only means "use the snapshot".
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client

from schemas.trajectory import TrajectoryStatus

QUERY_TIMEOUT = timedelta(seconds=5)


@dataclass
class LiveStatuses:
    statuses: dict[str, TrajectoryStatus] = field(default_factory=dict)  # by workflow id
    failures: dict[str, str] = field(default_factory=dict)  # workflow id -> why not


async def query_statuses(
    client: Client,
    workflows: Sequence[tuple[str, str]],
    *,
    query_timeout: timedelta = QUERY_TIMEOUT,
) -> LiveStatuses:
    """Query (workflow id, run id) pairs concurrently: a query waits for a worker to answer,
    so one at a time would cost a timeout per trajectory when no worker runs."""

    async def one(workflow_id: str, run_id: str) -> TrajectoryStatus:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        status: TrajectoryStatus = await asyncio.wait_for(
            handle.query("status", result_type=TrajectoryStatus, rpc_timeout=query_timeout),
            timeout=query_timeout.total_seconds() + 1,
        )
        return status

    results = await asyncio.gather(
        *(one(wid, rid) for wid, rid in workflows), return_exceptions=True
    )
    live = LiveStatuses()
    for (workflow_id, _), result in zip(workflows, results, strict=True):
        if isinstance(result, TrajectoryStatus):
            live.statuses[workflow_id] = result
        elif isinstance(result, asyncio.CancelledError):
            raise result
        else:
            live.failures[workflow_id] = str(result).strip() or type(result).__name__
    return live
