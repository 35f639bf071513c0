"""The profiled worker's statistics as text: own time summed by area (which package or which
of our folders burns the CPU), the top functions by cumulative time (where the time goes,
callers included) and by own time, and the project's own functions by cumulative time."""

from __future__ import annotations

import io
import pstats
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Our code: anything under the checkout but its virtual environment and the bench itself.
PROJECT_CODE = re.escape(str(ROOT)) + r"/(?!\.venv/|bench/)"
SITE_PACKAGES = "site-packages/"
# Built-ins that name an area of their own: the sandbox compiles and executes the workflow
# modules again for every workflow instance it builds; poll is the event loop waiting.
IDLE = "<method 'poll' of 'select.epoll' objects>"


def area(filename: str, function: str) -> str:
    """Where a function's own time belongs: a built-in by name, a package (temporalio by
    subpackage), one of our folders, or a module of the standard library."""
    if filename == "~":
        return "idle (event loop waiting)" if function == IDLE else f"built-in {function}"
    if SITE_PACKAGES in filename:
        parts = filename.split(SITE_PACKAGES, 1)[1].split("/")
        if parts[0] == "temporalio" and len(parts) > 2:
            return "/".join(parts[:3]) if parts[2] == "workflow_sandbox" else "/".join(parts[:2])
        return parts[0]
    if filename.startswith(f"{ROOT}/"):
        return "project " + filename.removeprefix(f"{ROOT}/").split("/")[0]
    return "standard library " + filename.rsplit("/", 1)[-1]


def areas(stats: pstats.Stats, count: int) -> str:
    own: Counter[str] = Counter()
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, tottime, _, _) in raw.items():
        own[area(filename, function)] += tottime
    busy = sum(seconds for name, seconds in own.items() if not name.startswith("idle"))
    lines = [f"--- own time by area (busy {busy:.1f} s, idle excluded from the shares) ---"]
    for name, seconds in own.most_common(count):
        share = "" if name.startswith("idle") else f" {100 * seconds / busy:5.1f}%"
        lines.append(f"{seconds:8.2f} s{share}  {name}")
    return "\n".join(lines) + "\n\n"


def top_functions(stats_file: Path, count: int) -> str:
    out = io.StringIO()
    out.write(areas(pstats.Stats(str(stats_file)), count))
    everything = pstats.Stats(str(stats_file), stream=out).strip_dirs()
    for order, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        out.write(f"--- top {count} functions of the trajectory worker by {title} ---\n")
        everything.sort_stats(order).print_stats(count)
    out.write(f"--- top {count} functions of the project's code by cumulative time ---\n")
    ours = pstats.Stats(str(stats_file), stream=out)
    ours.sort_stats("cumulative").print_stats(PROJECT_CODE, count)
    return out.getvalue().replace(f"{ROOT}/", "")
