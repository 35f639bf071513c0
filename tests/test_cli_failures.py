"""A coordinator never sees a traceback: each failure of a `starter.py` command is one line on
stderr and its exit code (cli/exit_codes.py), against the real dev server, real workers and a
fresh PostgreSQL database.

- a worker that stopped, or never ran: exit 6 within the bound, saying what to start and
  whether the message was delivered;
- a workflow task that keeps failing in the worker: exit 8, with the worker's error;
- Ctrl-C: what the command left behind (started or not, recorded or unknown), exit 130;
- stdout closed by its reader: silence, exit 141;
- an update sent with the `temporal` CLI whose payload fails validation: one readable line
  per problem, non-retryable.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.exit_codes import ExitCode
from cli.guard import LastResort
from operations.queries import describe
from schemas.common import CooperationKind
from stack.binaries import temporal_cli
from temporal_connection import INVALID_MESSAGE, MESSAGE_TYPES
from tests.conftest import CodecServer
from tests.support.trajectories import running_worker
from tests.test_cli_trajectories import (
    AV,
    EFFECTIVE,
    ROOT,
    Cli,
    Result,
    concurrently,
    is_open,
    run_process,
)
from workflows.trajectory import InkantelingTrajectory

# A command's bound on a worker's answer in these tests, and what it may take beyond it
# (interpreter start, connecting, describing the trajectory).
WAIT = 3.0
MARGIN = 8.0
CONDITION_TIMEOUT = 30.0
POLL = 0.05


def _env(dev_env: WorkflowEnvironment, queue: str, database_url: str) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "INKANTELING_TASK_QUEUE": queue,
        "DATABASE_URL": database_url,
        "INKANTELING_LOG_LEVEL": "error",
    }


def one_line(result: Result) -> str:
    """The command's stderr, which must be one line and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return result.error


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for a real condition (an awaitable predicate), bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONDITION_TIMEOUT
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not reached within {CONDITION_TIMEOUT} s")
        await asyncio.sleep(POLL)


async def terminate(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    try:
        if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test finished")
    except RPCError:
        pass  # never started


@asynccontextmanager
async def trajectories(cli: Cli) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for cooperation_id in cli.cooperations:
            await terminate(cli.client, f"inkanteling-{cooperation_id}")


def dates() -> tuple[str, ...]:
    return ("--av-date", str(AV), "--effective-date", str(EFFECTIVE))


# --- a worker that stopped, or never ran ------------------------------------------------------


async def test_a_stopped_worker_is_said_within_the_bound(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    async with running_worker(dev_env.client, database_url) as queue:
        cli = Cli(_env(dev_env, queue, database_url), dev_env.client, database_url)
        coop = await cli.cooperation(CooperationKind.SHARED_SERVICE)
        started = await cli("start", coop, "--participants", "roeselare,izegem", *dates())
        assert started.code == ExitCode.OK, started.stderr
        await cli.wait(coop, is_open("business-case"))
    # The worker has shut down; the server still remembers its polls, so the commands cannot
    # know at once that nobody will answer: they wait for the bound, then say so.
    async with trajectories(cli):
        wait = ("--wait", str(WAIT))
        status, decide, task, abort, listed, history = await concurrently(
            cli(*wait, "status", coop),
            cli(*wait, "decide", coop, "dvv-midwest-rvb", "approve", "--reference", "r"),
            cli(*wait, "task", "done", coop, "business-case", "--evidence", "doc://x"),
            cli(*wait, "abort", coop, "--reason", "r"),
            cli(*wait, "list", "--json"),
            cli("history", coop),
        )
        for result in (status, decide, task, abort):
            assert (result.code, result.stdout) == (ExitCode.UNAVAILABLE, ""), result.stderr
            line = one_line(result)
            assert f"no answer from inkanteling-{coop} within {WAIT:g} s" in line
            assert f"no worker is running on task queue {queue!r}" in line
            assert "`make stack` or `python worker.py`" in line
            assert result.seconds < WAIT + MARGIN, result.seconds
        # Every message went out (decide too: it sends one update and reads no status
        # first); the server holds it for a worker.
        for result in (decide, task, abort):
            assert "may still be applied once a worker runs" in result.error
            assert f"`starter.py status inkanteling-{coop}`" in result.error
        # Visibility and the audit trail need no worker.
        assert listed.code == ExitCode.OK, listed.stderr
        assert history.code == ExitCode.OK, history.stderr
        assert "trajectory-started" in history.stdout


async def test_a_worker_that_never_ran_is_said_at_once(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:8]}"
    cli = Cli(_env(dev_env, queue, database_url), dev_env.client, database_url)
    coop = await cli.cooperation(CooperationKind.SHARED_SERVICE)
    async with trajectories(cli):
        started = await cli("start", coop, "--participants", "roeselare,izegem", *dates())
        assert started.code == ExitCode.OK, started.stderr
        assert started.stdout.startswith(f"started inkanteling-{coop} (run ")
        assert one_line(started).startswith("started, but no worker is running on task queue")
        # No --wait: the default bound is 15 s, and none of them waits for it.
        status, decide, task, abort = await concurrently(
            cli("status", coop),
            cli("decide", coop, "dvv-midwest-rvb", "approve", "--reference", "r"),
            cli("task", "done", coop, "business-case", "--evidence", "doc://x"),
            cli("abort", coop, "--reason", "r"),
        )
        for result in (status, decide, task, abort):
            assert (result.code, result.stdout) == (ExitCode.UNAVAILABLE, ""), result.stderr
            line = one_line(result)
            assert line.startswith(f"no worker is running on task queue {queue!r}")
            assert f"inkanteling-{coop} waits for one" in line
            assert result.seconds < MARGIN, result.seconds
        for result in (decide, task, abort):
            assert result.error.endswith("the message was not delivered")


# --- a workflow task that keeps failing --------------------------------------------------------


@workflow.defn(name="InkantelingTrajectory", sandboxed=False)
class BrokenTrajectory:
    """The trajectory's workflow type with a bug: every workflow task fails (a RuntimeError is
    not a workflow failure in the SDK, so the worker fails the task and Temporal retries it),
    as a nondeterminism error or a bad deploy would."""

    @workflow.run
    async def run(self, given: Any) -> None:
        raise RuntimeError("a bug in the workflow code")


async def test_a_failing_workflow_task_is_said(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    queue = f"broken-{uuid.uuid4().hex[:8]}"
    cli = Cli(_env(dev_env, queue, database_url), dev_env.client, database_url)
    coop = await cli.cooperation(CooperationKind.SHARED_SERVICE)
    workflow_id = f"inkanteling-{coop}"
    async with (
        Worker(dev_env.client, task_queue=queue, workflows=[BrokenTrajectory]),
        trajectories(cli),
    ):
        started = await cli("start", coop, "--participants", "roeselare,izegem", *dates())
        assert started.code == ExitCode.OK, started.stderr

        async def failed_twice() -> bool:
            return (await describe(dev_env.client, workflow_id)).task_attempt >= 2

        await until(failed_twice, "the workflow task failed")
        status, decide, task, abort, listed, history = await concurrently(
            cli("status", coop),
            cli("decide", coop, "dvv-midwest-rvb", "approve", "--reference", "r"),
            cli("task", "done", coop, "business-case", "--evidence", "doc://x"),
            cli("abort", coop, "--reason", "r"),
            cli("list", "--json"),
            cli("history", coop),
        )
        for result in (status, decide, task, abort):
            assert (result.code, result.stdout) == (ExitCode.STUCK, ""), result.stderr
            line = one_line(result)
            assert line.startswith(f"the trajectory {workflow_id} is stuck: the worker fails")
            assert "a bug in the workflow code" in line  # the worker's own error
            assert "the trajectory and its history are kept" in line
            assert f"temporal workflow reset --workflow-id {workflow_id} --run-id " in line
            assert result.seconds < MARGIN, result.seconds
        for result in (decide, task, abort):
            assert result.error.endswith("the message was not delivered")
        assert listed.code == ExitCode.OK, listed.stderr
        # The broken code never journaled anything: nothing recorded, said as such.
        assert history.code == ExitCode.NOT_FOUND
        assert one_line(history).startswith(f"no recorded history for {workflow_id}")


# --- Ctrl-C -------------------------------------------------------------------------------------


def _terminal_sigint() -> None:
    # As in a terminal: Ctrl-C raises KeyboardInterrupt, even if this test runs where SIGINT
    # is ignored (a background job), which the child would inherit.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def interrupted(
    cli: Cli,
    args: tuple[str, ...],
    ready: Callable[[bytes], Awaitable[bool]],
    env: dict[str, str] | None = None,
) -> Result:
    """Run `starter.py ARGS` in a fresh interpreter, send it SIGINT once `ready(stderr so
    far)` holds, and collect its result."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "starter.py"),
        *args,
        cwd=ROOT,
        env={**os.environ, **cli.env, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_terminal_sigint,
    )
    assert proc.stderr is not None and proc.stdout is not None
    seen = b""
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONDITION_TIMEOUT
        while not await ready(seen):
            assert proc.returncode is None, f"{args} ended before the interrupt: {seen!r}"
            if loop.time() > deadline:
                raise AssertionError(f"{args}: not ready within {CONDITION_TIMEOUT} s: {seen!r}")
            with suppress(TimeoutError):
                seen += await asyncio.wait_for(proc.stderr.read(4096), POLL)
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), CONDITION_TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), (seen + err).decode())


async def test_an_interrupted_start_says_whether_it_started(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    async with running_worker(dev_env.client, database_url) as queue:
        cli = Cli(_env(dev_env, queue, database_url), dev_env.client, database_url)
        first = await cli.cooperation(CooperationKind.SHARED_SERVICE)
        started = await cli("start", first, "--participants", "roeselare", *dates())
        assert started.code == ExitCode.OK, started.stderr
        await cli.wait(first, is_open("business-case"))  # the worker has polled
    # The worker stopped: `start` starts the trajectory, then waits for its first status.
    # Interrupted once Temporal has the trajectory, it says so, and where to look.
    coop = await cli.cooperation(CooperationKind.SHARED_SERVICE)
    stalled = await cli.cooperation(CooperationKind.SHARED_SERVICE)
    workflow_id = f"inkanteling-{coop}"

    async def exists(_: bytes) -> bool:
        try:
            await describe(dev_env.client, workflow_id)
        except LookupError:
            return False
        return True

    async with trajectories(cli):
        started = await interrupted(
            cli, ("--wait", "30", "start", coop, "--participants", "roeselare", *dates()), exists
        )
        assert started.code == ExitCode.INTERRUPTED, started.stderr
        line = one_line(started)
        assert line.startswith(
            f"interrupted; the trajectory was started nevertheless: {workflow_id} (run "
        )
        run_id = (await describe(dev_env.client, workflow_id)).run_id
        assert run_id in line and line.endswith(f"`starter.py status {workflow_id}` shows it")

        # PostgreSQL that accepts the connection and never answers: the start is interrupted
        # while it reads the register, before anything reached Temporal.
        connected = asyncio.Event()

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connected.set()
            await reader.read()  # until the client goes away
            writer.close()

        silent = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]

        async def in_database(_: bytes) -> bool:
            return connected.is_set()

        try:
            not_started = await interrupted(
                cli,
                ("start", stalled, "--participants", "roeselare", *dates()),
                in_database,
                env={"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x"},
            )
        finally:
            silent.close()
        assert not_started.code == ExitCode.INTERRUPTED, not_started.stderr
        assert one_line(not_started) == "interrupted; the trajectory was not started"
        with pytest.raises(LookupError):
            await describe(dev_env.client, f"inkanteling-{stalled}")

        # A message interrupted once it is on its way: whether it was recorded is unknown,
        # and the line says how to find out. (Debug logging says when the update is sent.)
        message = await interrupted(
            cli,
            ("--wait", "30", "task", "done", first, "business-case", "--evidence", "doc://x"),
            lambda seen: _async(b"sending update" in seen),
            env={"INKANTELING_LOG_LEVEL": "debug"},
        )
        assert message.code == ExitCode.INTERRUPTED, message.stderr
        assert "Traceback" not in message.stderr, message.stderr
        first_id = f"inkanteling-{first}"
        assert message.stderr.splitlines()[-1] == (
            "interrupted; whether the task completion was recorded is unknown: check with "
            f"`starter.py status {first_id}` or `starter.py history {first_id}` before "
            "sending it again"
        )


async def _async(value: bool) -> bool:
    return value


# --- a closed stdout ----------------------------------------------------------------------------


async def closed_stdout(cli: Cli, *args: str) -> Result:
    """`starter.py ARGS` writing into a pipe whose reader is gone before it writes, as with
    `starter.py list | head -0` (or `head -1` once head has its line)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "starter.py"),
            *args,
            cwd=ROOT,
            env={**os.environ, **cli.env},
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    _, err = await asyncio.wait_for(proc.communicate(), CONDITION_TIMEOUT)
    assert proc.returncode is not None
    return Result(proc.returncode, "", err.decode())


async def test_a_closed_stdout_ends_quietly(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    async with running_worker(dev_env.client, database_url) as queue:
        cli = Cli(_env(dev_env, queue, database_url), dev_env.client, database_url)
        coop = await cli.cooperation(CooperationKind.SHARED_SERVICE)
        async with trajectories(cli):
            started = await cli("start", coop, "--participants", "roeselare,izegem", *dates())
            assert started.code == ExitCode.OK, started.stderr
            results = await concurrently(
                closed_stdout(cli, "list"),
                closed_stdout(cli, "history", coop),
                closed_stdout(cli, "status", coop, "--json"),
                closed_stdout(cli, "--help"),
            )
            for result in results[:-1]:
                assert (result.code, result.stderr) == (ExitCode.BROKEN_PIPE, ""), results
            # argparse prints --help itself and ignores a failed write: quiet, exit 0.
            assert (results[-1].code, results[-1].stderr) == (ExitCode.OK, "")
            # And through a shell, with head reading one line: no traceback whatever the timing
            # (head may take its line before or after the command has written everything).
            command = f"{sys.executable} starter.py history {coop} | head -1"
            piped = await run_process("sh", "-c", command, env=cli.env)
            assert piped.code == 0 and piped.stderr == "", piped.stderr
            assert piped.stdout.startswith(f"history of inkanteling-{coop}, run ")


# --- anything else ------------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> int:
        return {"a": 1}["b"]

    guard = LastResort()
    assert guard.run(broken) == ExitCode.UNEXPECTED
    err = capsys.readouterr().err
    assert err == (
        "unexpected error: KeyError: 'b'; run the command again as `starter.py --debug ...` "
        "for the traceback\n"
    )
    guard.debug = True
    assert guard.run(broken) == ExitCode.UNEXPECTED
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("unexpected error: KeyError: 'b' (traceback above)\n")


# --- the `temporal` CLI: a payload that fails validation ----------------------------------------


def test_the_message_types_are_the_update_inputs() -> None:
    """The converter wraps exactly the inputs of the workflow's updates."""
    definition = workflow._Definition.must_from_class(InkantelingTrajectory)
    inputs = {arg for update in definition.updates.values() for arg in update.arg_types or ()}
    assert inputs == MESSAGE_TYPES


async def test_an_invalid_payload_from_the_temporal_cli(
    dev_env: WorkflowEnvironment, database_url: str, codec_server: CodecServer
) -> None:
    async with running_worker(dev_env.client, database_url) as queue:
        cli = Cli(_env(dev_env, queue, database_url), dev_env.client, database_url)
        coop = await cli.cooperation(CooperationKind.SHARED_SERVICE)
        workflow_id = f"inkanteling-{coop}"
        async with trajectories(cli):
            started = await cli("start", coop, "--participants", "roeselare,izegem", *dates())
            assert started.code == ExitCode.OK, started.stderr
            temporal = (
                str(temporal_cli()), "--address", cli.env["TEMPORAL_ADDRESS"],
                *codec_server.cli_options(), "workflow",
            )  # fmt: skip
            payload = '{"outcome": "approve", "votes_for": -3, "colour": "red"}'
            sent = await run_process(
                *temporal, "update", "execute", "--workflow-id", workflow_id,
                "--name", "decide", "--input", payload, env={},
            )  # fmt: skip
            assert sent.code != 0
            lines = sent.stderr.splitlines()
            assert lines[0] == "Error: unable to update workflow: invalid DecisionInput payload:"
            assert lines[1:] == [
                "authority_id: Field required",
                "reference: Field required",
                "votes_for: Input should be greater than or equal to 0",
                "recorded_by: Field required",
                "colour: Extra inputs are not permitted (type: InvalidMessage, retryable: false)",
            ]
            assert "pydantic" not in sent.stderr and "http" not in sent.stderr

            # What an SDK client sees: the rejection's cause, typed and non-retryable.
            handle = dev_env.client.get_workflow_handle(workflow_id)
            with pytest.raises(WorkflowUpdateFailedError) as failed:
                await handle.execute_update(
                    "decide", {"outcome": "maybe"}, rpc_timeout=timedelta(seconds=15)
                )
            cause = failed.value.cause
            assert isinstance(cause, ApplicationError)
            assert (cause.type, cause.non_retryable) == (INVALID_MESSAGE, True)
            assert cause.message.splitlines()[0] == "invalid DecisionInput payload:"
            assert "outcome: Input should be 'approve', 'reject', 'postpone' or 'abstain'" in (
                cause.message.splitlines()
            )
            # Refused before the history: the trajectory runs on, untouched.
            status = await cli("status", coop, "--json")
            assert status.code == ExitCode.OK, status.stderr
            assert status.json()["rejected_messages"] == 0
