"""The worker: connects to Temporal and PostgreSQL, runs trajectories until stopped.

Run as many as you like on one task queue; Temporal shares the work between them.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys

import asyncpg
from structlog.stdlib import BoundLogger
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.registry import activities_for
from codec.keyring import KeyRingError
from db.connect import DatabaseUnavailable, create_pool, database_url
from log import configure_logging, get_logger
from metrics.endpoint import WorkerMetrics, start_worker_metrics
from settings import Settings, SettingsError, load_settings
from temporal_connection import TemporalUnavailable, codec_keyring, connect
from workflows.registry import WORKFLOWS

# No workflow cache, so no sticky queues: every workflow task replays the run's history on
# whichever worker takes it. With a cache, a worker answering a query for a run whose task
# waits on a dead worker's sticky queue takes in that task's events early, and the task it
# then runs carries commands in an order a replay does not produce (sdk_reports/, claim 2).
# Without a cache, two workflow tasks in a row around an activity that leave no commands are
# batched otherwise by the worker than by a replay (claim 1); the workflow never leaves such a
# pair (each journal flush upserts the memo; refusals are accepted updates that fail; repeats
# are recorded), see docs/architecture.md, "Concurrent messages". The cost: a replay per task,
# and concurrent queries to one run can stall (claim 3; docs/performance.md).
WORKFLOW_CACHE_SIZE = 0

# Without a cache every workflow task builds a run afresh, and the SDK's sandbox then costs
# about as much as the rest of the replay: it executes code inside the sandbox for every
# activation and every payload sequence (sdk_reports/sandbox_replay_cost.py, claim 6). The
# product's worker runs the workflows without it, as do most test workers. Determinism is
# kept where the sandbox checks it: every replay in the suite (CI's recorded histories, every
# concurrency, stress and durability test's history) and the templates' test worker, which
# takes the live-only paths, run in the sandbox, which refuses a non-deterministic call at run
# time; tests/test_workflow_determinism.py checks on the source that the workflow's modules
# import and call nothing that does I/O, reads a clock or the environment.
WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()


def build_worker(client: Client, settings: Settings, pool: asyncpg.Pool[asyncpg.Record]) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities_for(pool),
        max_cached_workflows=WORKFLOW_CACHE_SIZE,
        workflow_runner=WORKFLOW_RUNNER,
    )


async def run(settings: Settings) -> None:
    log = get_logger("worker", task_queue=settings.task_queue)
    # Prometheus on INKANTELING_METRICS_PORT: the runtime's metrics and the domain's gauges.
    metrics = start_worker_metrics(settings)
    try:
        await _serve(settings, metrics, log)
    finally:
        metrics.stop()


async def _serve(settings: Settings, metrics: WorkerMetrics, log: BoundLogger) -> None:
    client = await connect(settings, runtime=metrics.runtime)
    url = database_url(settings)
    # The pool opens connections on demand (min_size=0), so a worker (re)started while
    # PostgreSQL is away still comes up: its activities retry with backoff until it is back.
    pool: asyncpg.Pool[asyncpg.Record] = await asyncpg.create_pool(url, min_size=0, max_size=10)
    try:
        probe = await create_pool(url, min_size=1, max_size=1)
        await probe.close()
    except DatabaseUnavailable as exc:
        log.warning("database not reachable yet; activities will retry", reason=str(exc))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with (
            build_worker(client, settings, pool),
            metrics.recounting(client, settings.metrics_refresh_seconds),
        ):
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
    try:
        codec_keyring(settings)  # before anything starts: without the ring, no worker
    except KeyRingError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        asyncio.run(run(settings))
    except (TemporalUnavailable, DatabaseUnavailable) as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 6
    except KeyRingError as exc:
        # The ring became unreadable since the check: still no plaintext fallback (codec/).
        print(f"worker: {exc}", file=sys.stderr)
        return 2
    finally:
        # The client and the metrics' Runtime are freed while Python still runs: a Runtime of
        # our own left to the interpreter's exit aborts it (SIGABRT, PyGILState_Release) in
        # about two of three exits here, as starter.py notes (temporalio/sdk-python#300).
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
