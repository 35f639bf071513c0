"""The next `up` takes over from a stack whose supervisor was killed.

A supervisor killed with SIGKILL leaves its pid file behind, and possibly children that are
still shutting down (or, where the kernel cannot signal them on its death, still running: see
stack.lifetime). They hold the ports and the data folders the new stack needs. A recorded
process is stopped only while its pid still has the recorded identity (start time and program,
stack.processes), so a pid the kernel has since handed to another program is never signalled.
"""

from __future__ import annotations

from pathlib import Path

from stack import pidfile
from stack.preflight import PreflightError
from stack.processes import ProcessRecord


class EarlierStackRuns(PreflightError):
    """The pid file's supervisor is alive: that stack is not ours to stop."""


class LeftoversRemain(PreflightError):
    """A process of the earlier stack would not stop."""


def stop_leftovers(data_dir: Path) -> list[ProcessRecord]:
    """Stop what a dead supervisor left running from `data_dir`, newest first; return it.

    Raises EarlierStackRuns when the supervisor itself is alive, LeftoversRemain when a
    leftover survives SIGKILL. Removes the stale pid file once nothing recorded in it runs.
    """
    record = pidfile.read(data_dir)
    if record is None:
        return []
    if record.supervisor.alive():
        raise EarlierStackRuns(
            f"a stack already runs from {data_dir} (pid {record.supervisor.pid}); "
            "stop it with `python -m stack down` or set INKANTELING_DATA_DIR to another folder"
        )
    leftovers = [process for process in reversed(record.processes) if process.alive()]
    for process in leftovers:
        # Its configured stop signal first (a clean shutdown), SIGKILL after its timeout.
        process.stop()
    remaining = [process for process in leftovers if process.alive()]
    if remaining:
        names = ", ".join(f"{p.name} pid {p.pid}" for p in remaining)
        raise LeftoversRemain(
            f"processes of an earlier stack from {data_dir} would not stop ({names}); "
            "stop them by hand, then start again"
        )
    pidfile.remove(data_dir)
    return leftovers
