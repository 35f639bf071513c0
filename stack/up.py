"""`python -m stack up`: start the local stack in order, supervise it, stop it in reverse order.

Order: PostgreSQL (unless DATABASE_URL), the Temporal dev server (unless TEMPORAL_ADDRESS names
another host), search attributes, migrations, the worker, optionally the demo. Every child runs
in its own session, so Ctrl-C reaches only this supervisor, which then stops the children one
by one, newest first, by pid: the demo and worker finish against live servers, and PostgreSQL
and Temporal shut down cleanly instead of all at once.

A supervisor that dies without that shutdown (SIGKILL) still takes its children along: each
asked the kernel for its stop signal on the supervisor's death (stack.lifetime, Linux), which
is why every child is forked from this process's main thread. Whatever is left anyway (on a
platform without that request, or a child still shutting down) the next `up` stops first, by
pid file and process identity (stack.takeover).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from log import get_logger
from stack import codec_child, lifetime, pidfile, temporal_dev
from stack.pidfile import StackRecord
from stack.postgres import EmbeddedPostgres, PostgresError
from stack.preflight import ROOT, Plan, redact
from stack.processes import ProcessRecord, stop_child
from temporal_connection import TemporalUnavailable, connect, register_search_attributes

log = get_logger("stack")

WORKER_READY_TIMEOUT = 30.0
SUPERVISE_INTERVAL = 0.25
HURRY_AFTER = 1.0  # seconds between two signals before the second one means "hurry"


class StartupError(RuntimeError):
    """A step of the start failed; the message says which and what to do."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while the stack was starting."""


@dataclass
class Child:
    """A process this stack started, and how to stop it."""

    name: str
    process: subprocess.Popen[bytes]
    stop_signal: signal.Signals
    stop_timeout: float
    # The demo may finish on its own; any other child ending is a failure of the stack.
    may_finish: bool = False
    finished: bool = False

    def record(self) -> ProcessRecord:
        return ProcessRecord.of(self.name, self.process.pid, self.stop_signal, self.stop_timeout)


@dataclass
class Stack:
    plan: Plan
    children: list[Child] = field(default_factory=list)
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    hurry: asyncio.Event = field(default_factory=asyncio.Event)
    database_url: str = ""
    client: Client | None = None
    codec: codec_child.LocalCodec | None = None
    record: StackRecord | None = None
    first_signal_at: float = 0.0

    # -- signals -----------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        now = time.monotonic()
        if not self.stop_requested.is_set():
            log.info("stopping", signal=sig.name)
            self.stop_requested.set()
            self.first_signal_at = now
        elif now - self.first_signal_at > HURRY_AFTER:
            # A second Ctrl-C: stop waiting for clean shutdowns. One that follows the first
            # at once is the same keypress delivered twice (e.g. through `timeout`), not a wish.
            log.warning("stopping without waiting", signal=sig.name)
            self.hurry.set()

    def _check_interrupted(self) -> None:
        if self.stop_requested.is_set():
            raise Interrupted

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.plan.settings
        try:
            self.plan.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(
                f"cannot create the data folder {self.plan.data_dir} ({exc.strerror}); "
                "set INKANTELING_DATA_DIR to a writable folder"
            ) from None
        self.record = StackRecord(supervisor=ProcessRecord.of("stack", os.getpid()))
        self._save()
        # The key ring first: every client and worker of the stack refuses to start without it.
        self._prepare_codec()

        if self.plan.embedded_postgres:
            await self._start_postgres()
        else:
            self.database_url = settings.database_url or ""
        self._check_interrupted()

        if self.plan.local_temporal:
            await self._start_temporal()
            self._check_interrupted()
            await self._start_codec_server()
        self._check_interrupted()

        await self._register_search_attributes()
        self._check_interrupted()
        await self._apply_migrations()
        self._check_interrupted()

        if self.plan.worker:
            await self._start_worker()
            self._check_interrupted()

        self.record.state = "running"
        self.record.web_ui = settings.temporal_ui_url if self.plan.local_temporal else None
        self.record.temporal_address = settings.temporal_address
        self.record.database = redact(self.database_url)
        self._save()

    async def _start_postgres(self) -> None:
        server = EmbeddedPostgres(
            self.plan.data_dir / "postgres",
            self.plan.settings.embedded_postgres_port,
            end_with_parent=True,
        )
        try:
            # The blocking parts in a thread, so that Ctrl-C is still noticed meanwhile; the
            # launch itself on this (main) thread, which the server must not outlive.
            await asyncio.to_thread(server.init)
            server.launch()
            await asyncio.to_thread(server.wait_ready)
        except (PostgresError, subprocess.CalledProcessError, OSError) as exc:
            raise StartupError(f"PostgreSQL did not start: {_one_line(exc)}") from None
        finally:
            if server.process is not None:
                self._adopt(Child("postgres", server.process, signal.SIGINT, 30.0))
        self.database_url = server.url
        log.info("postgres started", pid=server.pid, url=server.url, data=str(server.pgdata))

    async def _start_temporal(self) -> None:
        settings = self.plan.settings
        server = temporal_dev.TemporalDevServer(
            self.plan.data_dir / "temporal",
            port=self.plan.temporal_port,
            ui_port=settings.temporal_ui_port,
            namespace=settings.temporal_namespace,
            end_with_parent=True,
            ui_codec_endpoint=self.codec.ui_endpoint if self.codec else None,
        )
        server.launch()
        assert server.process is not None
        self._adopt(
            Child("temporal", server.process, temporal_dev.STOP_SIGNAL, temporal_dev.STOP_TIMEOUT)
        )
        try:
            await server.wait_ready(within=60.0)
        except temporal_dev.TemporalDevError as exc:
            raise StartupError(_one_line(exc)) from None
        log.info(
            "temporal dev server started",
            pid=server.pid,
            address=server.address,
            web_ui=settings.temporal_ui_url,
            state=str(server.db_file),
        )

    def _prepare_codec(self) -> None:
        try:
            self.codec = codec_child.prepare(self.plan.settings)
        except codec_child.CodecSetupError as exc:
            raise StartupError(str(exc)) from None
        for path in self.codec.created:
            log.info("codec file created", path=path)

    async def _start_codec_server(self) -> None:
        """The Web UI's codec server (codec/server.py), a child like the others."""
        assert self.codec is not None
        env = dict(os.environ)
        env["TEMPORAL_ADDRESS"] = self.plan.settings.temporal_address
        env["INKANTELING_DATA_DIR"] = str(self.plan.data_dir)
        process = codec_child.launch(env, ROOT, lifetime.end_with_parent(codec_child.STOP_SIGNAL))
        self._adopt(Child("codec", process, codec_child.STOP_SIGNAL, codec_child.STOP_TIMEOUT))
        try:
            await codec_child.wait_ready(self.codec, process)
        except codec_child.CodecSetupError as exc:
            raise StartupError(str(exc)) from None
        log.info("codec server started", pid=process.pid, url=self.codec.url)

    async def _register_search_attributes(self) -> None:
        try:
            self.client = await connect(self.plan.settings)
            added = await register_search_attributes(self.client)
        except TemporalUnavailable as exc:
            raise StartupError(_one_line(exc)) from None
        log.info("search attributes registered", added=added or "none (all present)")

    async def _apply_migrations(self) -> None:
        try:
            # Imported here: the stack must load (and `down`/`status` work) without db/.
            from db.migrate import apply_migrations
        except ModuleNotFoundError as exc:
            if exc.name not in ("db", "db.migrate"):
                raise
            raise StartupError(
                "the database migrations (db/migrate.py) are missing from this checkout"
            ) from None
        try:
            await apply_migrations(self.database_url)
        except Exception as exc:
            log.exception("migrations failed")
            raise StartupError(
                f"applying the database migrations to {redact(self.database_url)} failed: "
                f"{_one_line(exc)}"
            ) from None
        log.info("migrations applied", database=redact(self.database_url))

    async def _start_worker(self) -> None:
        started = datetime.now(UTC)
        worker = self._spawn("worker", "worker.py")
        self._adopt(worker)
        # The worker counts as up once Temporal sees it poll the task queue.
        deadline = time.monotonic() + WORKER_READY_TIMEOUT
        while time.monotonic() < deadline and not self.stop_requested.is_set():
            code = worker.process.poll()
            if code is not None:
                raise StartupError(
                    f"the worker exited at start with code {code}; see its output above"
                )
            if await self._worker_polls(since=started):
                log.info("worker started", pid=worker.process.pid, task_queue=self._task_queue)
                return
            await asyncio.sleep(0.2)
        if not self.stop_requested.is_set():
            log.warning("worker runs but does not poll yet", pid=worker.process.pid)

    @property
    def _task_queue(self) -> str:
        return self.plan.settings.task_queue

    async def _worker_polls(self, *, since: datetime) -> bool:
        assert self.client is not None
        response = await self.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.client.namespace,
                task_queue=TaskQueue(name=self._task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        # Pollers are remembered for minutes; only a fresh one can be the worker just started.
        return any(
            poller.last_access_time.ToDatetime(tzinfo=UTC) >= since for poller in response.pollers
        )

    def _spawn(self, name: str, script: str, *, may_finish: bool = False) -> Child:
        env = dict(os.environ)
        env["DATABASE_URL"] = self.database_url
        env["TEMPORAL_ADDRESS"] = self.plan.settings.temporal_address
        env["INKANTELING_DATA_DIR"] = str(self.plan.data_dir)
        process = subprocess.Popen(
            [sys.executable, str(self.plan.script(script))],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lifetime.end_with_parent(signal.SIGTERM),
        )
        log.info(f"{name} launched", pid=process.pid)
        return Child(name, process, signal.SIGTERM, 30.0 if name == "worker" else 10.0, may_finish)

    def _adopt(self, child: Child) -> None:
        self.children.append(child)
        self._save()

    def _save(self) -> None:
        if self.record is None:
            return
        # A demo that has finished is no longer part of what runs.
        self.record.processes = [child.record() for child in self.children if not child.finished]
        pidfile.write(self.plan.data_dir, self.record)

    def start_demo(self) -> None:
        """After the banner, so that the demo's own output follows it."""
        if self.plan.demo:
            self._adopt(self._spawn("demo", "demo.py", may_finish=True))

    # -- run ---------------------------------------------------------------------------------

    def banner(self) -> str:
        settings = self.plan.settings
        lines = ["", "inkanteling local stack is running; Ctrl-C stops it."]
        if self.plan.local_temporal:
            lines.append(f"  Temporal Web UI    {settings.temporal_ui_url}")
            lines.append(
                f"  Codec server       {self.codec.url if self.codec else '-'} (the Web UI "
                f"decodes payloads; token in {settings.codec_token_path})"
            )
        if self.plan.worker and settings.metrics_port:  # docs/operations.md, "Metrics"
            lines.append(f"  Worker metrics     http://localhost:{settings.metrics_port}/metrics")
        lines += [
            f"  Temporal address   {settings.temporal_address} (namespace "
            f"{settings.temporal_namespace}, task queue {settings.task_queue})",
            f"  Database           {redact(self.database_url)}",
            f"  Data folder        {self.plan.data_dir}",
            "  Processes          "
            + ", ".join(f"{child.name} pid {child.process.pid}" for child in self.children),
            "",
        ]
        return "\n".join(lines)

    async def supervise(self) -> int:
        """Until a stop signal (0), or until a child ends unexpectedly (1)."""
        while True:
            try:
                await asyncio.wait_for(self.stop_requested.wait(), SUPERVISE_INTERVAL)
                return 0
            except TimeoutError:
                pass
            for child in self.children:
                code = child.process.poll()
                if code is None or child.finished:
                    continue
                child.finished = True
                if child.may_finish and code == 0:
                    log.info(f"{child.name} finished", pid=child.process.pid)
                    self._save()
                    continue
                _say(
                    f"the {child.name} (pid {child.process.pid}) exited unexpectedly with code "
                    f"{code}; stopping the stack"
                )
                return 1

    async def shutdown(self) -> bool:
        """Stop every child, newest first; True when none is left running."""
        if self.record is not None and self.children:
            self.record.state = "stopping"
            self._save()
        for child in reversed(self.children):
            if child.process.poll() is not None:
                continue
            code = await stop_child(
                child.process, child.stop_signal, child.stop_timeout, self.hurry
            )
            log.info(f"{child.name} stopped", pid=child.process.pid, exit_code=code)
        left = [child for child in self.children if child.process.poll() is None]
        if not left and self.record is not None:
            pidfile.remove(self.plan.data_dir)
        return not left


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _say(message: str) -> None:
    print(f"stack: {message}", file=sys.stderr, flush=True)


async def run(plan: Plan) -> int:
    """Start, supervise and stop the stack; the process exit code."""
    stack = Stack(plan)
    stack.install_signal_handlers()
    code = 0
    try:
        await stack.start()
        print(stack.banner(), flush=True)
        stack.start_demo()
        code = await stack.supervise()
    except Interrupted:
        code = 0
    except StartupError as exc:
        _say(str(exc))
        code = 1
    finally:
        clean = await stack.shutdown()
    return code if clean else 1
