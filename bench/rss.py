"""Resident memory of a process, through psutil (which ships no type information)."""

from __future__ import annotations

import psutil  # type: ignore[import-untyped]


def rss_bytes(pid: int) -> int:
    """The resident set size of `pid` in bytes."""
    return int(psutil.Process(pid).memory_info().rss)
