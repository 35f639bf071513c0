"""The profiled worker's statistics as text: the top functions by cumulative time (where the
time goes, callers included), by own time (what burns the CPU), and the project's own
functions by cumulative time (which of our code the time is spent under)."""

from __future__ import annotations

import io
import pstats
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Our code: anything under the checkout but its virtual environment and the bench itself.
PROJECT_CODE = re.escape(str(ROOT)) + r"/(?!\.venv/|bench/)"


def top_functions(stats_file: Path, count: int) -> str:
    out = io.StringIO()
    everything = pstats.Stats(str(stats_file), stream=out).strip_dirs()
    for order, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        out.write(f"--- top {count} functions of the trajectory worker by {title} ---\n")
        everything.sort_stats(order).print_stats(count)
    out.write(f"--- top {count} functions of the project's code by cumulative time ---\n")
    ours = pstats.Stats(str(stats_file), stream=out)
    ours.sort_stats("cumulative").print_stats(PROJECT_CODE, count)
    return out.getvalue().replace(f"{ROOT}/", "")
