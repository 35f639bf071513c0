"""The profiled worker's statistics as text: the top functions by cumulative time (where the
time goes, callers included) and by own time (what burns the CPU)."""

from __future__ import annotations

import io
import pstats
from pathlib import Path


def top_functions(stats_file: Path, count: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(stats_file), stream=out)
    stats.strip_dirs()
    for order, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        out.write(f"--- top {count} functions of the trajectory worker by {title} ---\n")
        stats.sort_stats(order).print_stats(count)
    return out.getvalue()
