"""`python -m bench.bare_worker`: the bare workflow's worker process, configured from the same
environment as `worker.py` (TEMPORAL_ADDRESS, INKANTELING_TASK_QUEUE, DATABASE_URL) and with
the product worker's cache and concurrency (bench/worker_settings.py). It uses the SDK's
default data converter: bare Temporal. Runs until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import BareWorkflow, bare_step
from bench.worker_settings import describe, product_worker_settings


async def run() -> None:
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"])
    settings, source = await product_worker_settings(client, os.environ["DATABASE_URL"])
    print(f"bare worker settings from {source}: {describe(settings)}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Worker(
        client,
        task_queue=os.environ["INKANTELING_TASK_QUEUE"],
        workflows=[BareWorkflow],
        activities=[bare_step],
        **settings,
    ):
        await stop.wait()


def main() -> int:
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
