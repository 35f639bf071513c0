"""`python -m stack status` and `python -m stack down`: a stack started in another terminal,
known only through its pid file."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from stack import pidfile
from stack.processes import ProcessRecord

# Longer than the stack's own shutdown of all its children (each has its own timeout).
SUPERVISOR_TIMEOUT = 120.0


def status(data_dir: Path) -> int:
    """Print what runs; 0 when the stack runs, 1 when it does not (or only in part)."""
    record = pidfile.read(data_dir)
    if record is None:
        print(f"no stack runs from {data_dir}")
        return 1
    running = record.supervisor.alive()
    print(
        f"stack {record.state if running else 'not running (stale pid file)'} "
        f"from {data_dir} (pid {record.supervisor.pid})"
    )
    for label, value in (
        ("Temporal Web UI", record.web_ui),
        ("Temporal address", record.temporal_address),
        ("Database", record.database),
    ):
        if value:
            print(f"  {label:<18} {value}")
    for process in record.processes:
        state = "running" if process.alive() else "gone"
        print(f"  {process.name:<18} pid {process.pid:<8} {state}")
    return 0 if running and all(p.alive() for p in record.processes) else 1


def down(data_dir: Path) -> int:
    """Stop the stack using `data_dir`: through its supervisor, else each process by pid."""
    record = pidfile.read(data_dir)
    if record is None:
        print(f"no stack runs from {data_dir}")
        return 0
    supervisor = record.supervisor
    if supervisor.alive():
        print(f"stopping the stack (pid {supervisor.pid}) ...", flush=True)
        # The supervisor stops its children in order; we only wait for it.
        supervisor = ProcessRecord(
            supervisor.name, supervisor.pid, supervisor.identity, signal.SIGTERM.name,
            SUPERVISOR_TIMEOUT,
        )  # fmt: skip
        supervisor.stop()
    # Whatever is left (the supervisor was killed, or did not finish): stop it ourselves.
    for process in reversed(record.processes):
        if process.alive():
            print(f"stopping {process.name} (pid {process.pid}) ...", flush=True)
            process.stop()
    left = [p for p in [record.supervisor, *record.processes] if p.alive()]
    if left:
        names = ", ".join(f"{p.name} pid {p.pid}" for p in left)
        print(f"stack: could not stop {names}", file=sys.stderr)
        return 1
    pidfile.remove(data_dir)
    print("stack stopped")
    return 0
