"""Everything `stack up` checks before it starts anything, each failure one actionable line.

The plan decides what the stack runs itself: PostgreSQL unless DATABASE_URL is set, the
Temporal dev server unless TEMPORAL_ADDRESS names another host.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from temporalio.client import Client

from settings import Settings
from stack import binaries, postgres
from stack.ports import port_in_use

ROOT = Path(__file__).resolve().parent.parent
# The dev server binds 127.0.0.1, so only these names mean "run it here".
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
CHECK_TIMEOUT = 3.0


class PreflightError(RuntimeError):
    """A reason not to start, phrased as what the user should do."""


@dataclass(frozen=True)
class Plan:
    settings: Settings
    data_dir: Path
    worker: bool
    demo: bool

    @property
    def embedded_postgres(self) -> bool:
        return self.settings.database_url is None

    @property
    def temporal_host(self) -> str:
        return self.settings.temporal_address.rsplit(":", 1)[0]

    @property
    def temporal_port(self) -> int:
        return int(self.settings.temporal_address.rsplit(":", 1)[1])

    @property
    def local_temporal(self) -> bool:
        return self.temporal_host.lower() in LOCAL_HOSTS

    def script(self, name: str) -> Path:
        return ROOT / name


def make_plan(settings: Settings, *, worker: bool, demo: bool) -> Plan:
    return Plan(settings, settings.data_dir.resolve(), worker, demo)


def redact(url: str) -> str:
    """The URL without its password, fit for a log line or the banner."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


async def check(plan: Plan) -> None:
    """Raise PreflightError on the first reason the stack cannot start; start nothing.

    Run after stack.takeover.stop_leftovers, which refuses a stack that still runs and stops
    what a killed one left behind (it holds the ports checked here).
    """
    _check_binaries(plan)
    _check_scripts(plan)
    _check_ports(plan)
    if not plan.embedded_postgres:
        await _check_database(plan.settings.database_url or "")
    if not plan.local_temporal:
        await _check_temporal(plan.settings.temporal_address)


def _check_binaries(plan: Plan) -> None:
    try:
        if plan.local_temporal:
            binaries.temporal_cli()
        if plan.embedded_postgres:
            postgres.binary_dir()
    except (binaries.MissingBinary, postgres.PostgresError) as exc:
        raise PreflightError(str(exc)) from None


def _check_scripts(plan: Plan) -> None:
    wanted = [("worker.py", "with --no-worker")] if plan.worker else []
    wanted += [("demo.py", "without --demo (`make stack`)")] if plan.demo else []
    for name, how in wanted:
        if not plan.script(name).exists():
            raise PreflightError(f"{plan.script(name)} is missing; start the stack {how}")


def _check_ports(plan: Plan) -> None:
    other = "another stack? `python -m stack down` stops one"
    wanted: list[tuple[int, str, str]] = []
    if plan.local_temporal:
        wanted += [
            (plan.temporal_port, "Temporal frontend", "set TEMPORAL_ADDRESS=localhost:<free port>"),
            (plan.settings.temporal_ui_port, "Temporal Web UI", "set INKANTELING_UI_PORT"),
        ]
    if plan.embedded_postgres:
        wanted.append(
            (
                plan.settings.embedded_postgres_port,
                "embedded PostgreSQL",
                "set INKANTELING_PG_PORT, or DATABASE_URL to use a running server",
            )
        )
    seen: dict[int, str] = {}
    for port, what, fix in wanted:
        if port in seen:
            raise PreflightError(
                f"port {port} is configured for both {seen[port]} and {what}; {fix}"
            )
        seen[port] = what
        if port_in_use(port):
            raise PreflightError(
                f"port {port} ({what}) is already in use; "
                f"stop what listens there ({other}) or {fix}"
            )


async def _check_database(url: str) -> None:
    try:
        connection = await asyncpg.connect(url, timeout=CHECK_TIMEOUT)
    # Any failure (refused, timeout, unknown host, bad password, no such database) is the answer.
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise PreflightError(
            f"cannot reach the database in DATABASE_URL={redact(url)} ({reason}); start that "
            "server or fix DATABASE_URL, or unset it to run the embedded PostgreSQL"
        ) from None
    await connection.close()


async def _check_temporal(address: str) -> None:
    try:
        await asyncio.wait_for(
            Client.connect(address, connect_timeout=timedelta(seconds=CHECK_TIMEOUT)),
            CHECK_TIMEOUT + 1,
        )
    except Exception as exc:
        raise PreflightError(
            f"cannot reach Temporal at TEMPORAL_ADDRESS={address} ({_grpc_reason(exc)}); start "
            "that server, or set TEMPORAL_ADDRESS=localhost:7233 to run the dev server here"
        ) from None


def _grpc_reason(exc: BaseException) -> str:
    """The human part of the SDK's nested Rust error text (its innermost quoted message)."""
    text = " ".join(str(exc).split())
    quoted: list[str] = re.findall(r'(?:message|error): "([^"]+)"', text)
    if quoted:
        return quoted[-1]
    return text[:160] or type(exc).__name__
