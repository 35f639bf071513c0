"""`<data>/stack.pids`: what a running stack consists of, for `status` and `down` elsewhere.

Written by the stack itself after every process it starts, so that even a stack killed with
SIGKILL leaves enough behind for `python -m stack down` to stop its children by pid.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from stack.processes import ProcessRecord

FILENAME = "stack.pids"

State = Literal["starting", "running", "stopping"]


@dataclass
class StackRecord:
    """The supervisor (`python -m stack up`) and the processes it started, in start order."""

    supervisor: ProcessRecord
    state: State = "starting"
    processes: list[ProcessRecord] = field(default_factory=list)
    # Shown by `status`; the database URL is stored without its password.
    web_ui: str | None = None
    temporal_address: str | None = None
    database: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> StackRecord:
        raw: dict[str, Any] = json.loads(text)
        return cls(
            supervisor=ProcessRecord(**raw["supervisor"]),
            state=raw.get("state", "starting"),
            processes=[ProcessRecord(**item) for item in raw.get("processes", [])],
            web_ui=raw.get("web_ui"),
            temporal_address=raw.get("temporal_address"),
            database=raw.get("database"),
        )


def pid_file(data_dir: Path) -> Path:
    return data_dir / FILENAME


def read(data_dir: Path) -> StackRecord | None:
    """The record of the stack using `data_dir`, or None (no file, or one we cannot parse)."""
    try:
        return StackRecord.from_json(pid_file(data_dir).read_text())
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None


def write(data_dir: Path, record: StackRecord) -> None:
    """Replace the file atomically: a reader never sees half a record."""
    path = pid_file(data_dir)
    tmp = path.with_name(f".{FILENAME}.{os.getpid()}.tmp")
    tmp.write_text(record.to_json())
    tmp.replace(path)


def remove(data_dir: Path) -> None:
    pid_file(data_dir).unlink(missing_ok=True)
