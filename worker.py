"""The worker: connects to Temporal and PostgreSQL, runs trajectories until stopped.

Run as many as you like on one task queue; Temporal shares the work between them.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from activities.registry import activities_for
from db.connect import DatabaseUnavailable, create_pool, database_url
from log import configure_logging, get_logger
from settings import Settings, SettingsError, load_settings
from temporal_connection import TemporalUnavailable, connect
from workflows.registry import WORKFLOWS


def build_worker(client: Client, settings: Settings, pool: object) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities_for(pool),  # type: ignore[arg-type]
    )


async def run(settings: Settings) -> None:
    log = get_logger("worker", task_queue=settings.task_queue)
    client = await connect(settings)
    # min_size=0: the pool opens connections on demand, so a worker started while PostgreSQL
    # is briefly away still comes up, and activities retry until it is back.
    pool = await create_pool(database_url(settings), min_size=0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with build_worker(client, settings, pool):
            log.info("worker running", namespace=settings.temporal_namespace)
            await stop.wait()
            log.info("worker stopping")
    finally:
        await pool.close()


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        asyncio.run(run(settings))
    except (TemporalUnavailable, DatabaseUnavailable) as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 6
    return 0


if __name__ == "__main__":
    sys.exit(main())
