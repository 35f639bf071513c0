"""Worker processes of the bench, each ours by process id: the product's `worker.py` (plain
or under the profiler) and the bare worker, one process per task queue.

A worker counts as started once Temporal lists it (by its identity, the SDK's default
`pid@host`) among the pollers of its task queue for workflow and activity tasks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from bench.process_figures import cpu_seconds, rss_bytes
from bench.servers import BenchStack

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 30.0


class WorkerFailed(RuntimeError):
    """A worker process exited or never polled its task queue."""


@dataclass
class WorkerProcess:
    name: str
    task_queue: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def identity(self) -> str:
        return f"{self.pid}@{socket.gethostname()}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def kill(self) -> None:
        """SIGKILL by pid: a crash, nothing of the worker's shutdown runs."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM (the worker finishes its tasks and exits), SIGKILL after STOP_TIMEOUT."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def worker_environment(stack: BenchStack, task_queue: str) -> dict[str, str]:
    """The product's configuration for our stack; nothing of the caller's INKANTELING_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKANTELING_")}
    env.pop("TEMPORAL_NAMESPACE", None)
    env.update(
        TEMPORAL_ADDRESS=stack.temporal_address,
        DATABASE_URL=stack.database_url,
        INKANTELING_TASK_QUEUE=task_queue,
        INKANTELING_DATA_DIR=str(stack.root),
        INKANTELING_LOG_FORMAT="json",
        INKANTELING_LOG_LEVEL="warning",
    )
    return env


class WorkerPool:
    """Starts worker processes on our stack and stops whatever is still alive at the end."""

    def __init__(self, stack: BenchStack, extra_env: dict[str, str] | None = None) -> None:
        self.stack = stack
        self.extra_env = extra_env or {}
        self.started: list[WorkerProcess] = []

    def _launch(self, name: str, task_queue: str, argv: Sequence[str]) -> WorkerProcess:
        log = self.stack.root / f"{name}-{len(self.started)}.log"
        env = worker_environment(self.stack, task_queue) | self.extra_env
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, *argv],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the bench, which stops it by pid
            )
        worker = WorkerProcess(name, task_queue, process, log)
        self.started.append(worker)
        return worker

    async def product(self, task_queue: str, *, profile_to: Path | None = None) -> WorkerProcess:
        """`python worker.py`, or the same under the profiler writing to `profile_to`."""
        if profile_to is None:
            argv: list[str] = ["worker.py"]
        else:
            argv = ["-m", "bench.profiled_worker", str(profile_to)]
        return await self._started(self._launch("worker", task_queue, argv))

    async def bare(self, task_queue: str) -> WorkerProcess:
        return await self._started(
            self._launch("bare-worker", task_queue, ["-m", "bench.bare_worker"])
        )

    def launch_product(self, task_queue: str) -> WorkerProcess:
        """Launch without waiting (the recovery measurement times the start itself)."""
        return self._launch("worker", task_queue, ["worker.py"])

    async def _started(self, worker: WorkerProcess) -> WorkerProcess:
        await wait_polling(self.stack.client, worker, within=90.0)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


async def wait_polling(client: Client, worker: WorkerProcess, *, within: float) -> float:
    """Seconds until Temporal lists the worker as a poller of both task types."""
    began = time.monotonic()
    while time.monotonic() - began < within:
        if not worker.alive():
            raise WorkerFailed(f"{worker.name} {worker.pid} exited:\n{worker.log_tail()}")
        kinds = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
        identities = [await _poller_identities(client, worker.task_queue, kind) for kind in kinds]
        if all(worker.identity in found for found in identities):
            return time.monotonic() - began
        await asyncio.sleep(0.1)
    raise WorkerFailed(f"{worker.name} {worker.pid} did not poll within {within:.0f} s")


async def _poller_identities(
    client: Client, task_queue: str, kind: TaskQueueType.ValueType
) -> set[str]:
    try:
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=kind,
            )
        )
    except RPCError:
        return set()
    return {poller.identity for poller in response.pollers}
