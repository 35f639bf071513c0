"""Processes of the stack, known and stopped by process id.

A pid alone is not proof: after a reboot or a long time the kernel hands the same number to
another program. So every recorded pid comes with an identity (start time and program) and
we signal a pid only while that identity still matches.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def process_identity(pid: int) -> str | None:
    """Start time and program of a live process, or None when it is gone (or a zombie)."""
    if pid <= 0:
        return None
    if sys.platform.startswith("linux"):
        return _identity_from_proc(pid)
    return _identity_from_ps(pid)  # pragma: no cover - macOS and other Unixes


def _identity_from_proc(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name in parentheses may itself hold spaces or parentheses.
    fields = stat[stat.rfind(")") + 2 :].split()
    state, start_ticks = fields[0], fields[19]
    if state in ("Z", "X"):
        return None
    program = Path(argv[0].decode(errors="replace")).name if argv and argv[0] else "?"
    return f"{start_ticks} {program}"


def _identity_from_ps(pid: int) -> str | None:  # pragma: no cover - macOS and other Unixes
    result = subprocess.run(
        ["ps", "-ww", "-o", "stat=", "-o", "lstart=", "-o", "comm=", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    line = result.stdout.strip()
    if result.returncode != 0 or not line or line.startswith("Z"):
        return None
    _, _, rest = line.partition(" ")
    return " ".join(rest.split())


@dataclass(frozen=True)
class ProcessRecord:
    """One process of a running stack, as written to the pid file."""

    name: str
    pid: int
    identity: str
    stop_signal: str = "SIGTERM"
    stop_timeout: float = 30.0

    @classmethod
    def of(
        cls,
        name: str,
        pid: int,
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_timeout: float = 30.0,
    ) -> ProcessRecord:
        identity = process_identity(pid) or "gone"
        return cls(name, pid, identity, stop_signal.name, stop_timeout)

    def alive(self) -> bool:
        """True while this pid still is the process we recorded."""
        return process_identity(self.pid) == self.identity

    def stop(self, *, timeout: float | None = None) -> bool:
        """Signal the recorded process (not our child), wait, then SIGKILL; True when gone."""
        self._send(signal.Signals[self.stop_signal])
        if _wait_gone(self, self.stop_timeout if timeout is None else timeout):
            return True
        self._send(signal.SIGKILL)
        return _wait_gone(self, 5.0)

    def _send(self, sig: signal.Signals) -> None:
        # Re-check the identity right before signalling: the pid may have been recycled.
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)


def _wait_gone(record: ProcessRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not record.alive():
            return True
        time.sleep(0.1)
    return not record.alive()


async def stop_child(
    process: subprocess.Popen[bytes],
    sig: signal.Signals,
    grace: float,
    hurry: asyncio.Event | None = None,
) -> int:
    """Stop a child of ours: `sig`, then SIGKILL after `grace` seconds (at once when hurried).

    Polls instead of blocking in wait() so that the event loop still sees a second Ctrl-C.
    Returns the exit status (negative: killed by that signal).
    """
    if process.poll() is not None:
        return process.returncode
    process.send_signal(sig)
    deadline = time.monotonic() + grace
    while process.poll() is None and time.monotonic() < deadline:
        if hurry is not None and hurry.is_set():
            break
        await asyncio.sleep(0.05)
    if process.poll() is None:
        process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(process.wait, 10.0)
    return process.returncode if process.returncode is not None else -signal.SIGKILL
