"""A finished projectvereniging trajectory's history: driven to the end (council round,
general assembly, the waiting periods, the effective date, the transfer) on a compressed
calendar, then its history fetched once the workflow has returned (its journal persisted).

The calendar runs `days_per_second` trajectory days per second of wall time, so the legal
periods pass as real timers in seconds; slow enough that the bench, answering at once,
stays ahead of every reminder a prompt coordinator would not get.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from bench.drive import DriveFailed, DriveLog, drive, finished
from bench.health import troubles
from bench.histories import HistoryFigures, history_figures
from bench.trajectories import bench_request, start_all, terminate, unique_labels

SECONDS_PER_DAY = 86_400
AV_AFTER_DAYS = 200
EFFECTIVE_AFTER_DAYS = 260


async def finished_history(
    client: Client, database_url: str, task_queue: str, *, days_per_second: float, within: float
) -> HistoryFigures:
    request = bench_request(
        unique_labels("end", 1)[0],
        av_after_days=AV_AFTER_DAYS,
        effective_after_days=EFFECTIVE_AFTER_DAYS,
        speed=days_per_second * SECONDS_PER_DAY,
    )
    [handle] = await start_all(client, database_url, task_queue, [request])
    try:
        await drive(handle, finished, DriveLog(), within=within)
        await asyncio.wait_for(handle.result(), timeout=within)
        return await history_figures(handle)
    except (DriveFailed, TimeoutError) as exc:
        found = "; ".join(await troubles(handle)) or "no activity retried, no task failed"
        raise DriveFailed(f"{handle.id} did not finish ({exc!r}): {found}") from exc
    finally:
        await terminate([handle], "bench: did not finish")
