"""Resident memory and CPU time of a process, through psutil (which ships no type hints)."""

from __future__ import annotations

import psutil  # type: ignore[import-untyped]


def rss_bytes(pid: int) -> int:
    """The resident set size of `pid` in bytes."""
    return int(psutil.Process(pid).memory_info().rss)


def cpu_seconds(pid: int) -> float:
    """CPU time `pid` has used so far, user and system, its threads included."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)
