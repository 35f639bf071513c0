"""Generate the report: load, build the view, write the files, record the report.

The report is recorded (for the next report's "since the previous report") only after its
files were written, and never on a dry run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from db.connect import DbConnection
from report.data import (
    SinceSource,
    load_report_data,
    previous_period_end,
    record_report,
)
from report.render_html import render_html
from report.render_markdown import render_markdown
from report.view import build_view
from schemas.trajectory import TrajectoryStatus

Format = Literal["md", "html"]
FILE_STEM = "stand-van-zaken"


class ReportWriteError(RuntimeError):
    """The report files cannot be written (the output directory is wrong or read-only)."""


@dataclass(frozen=True)
class ReportRequest:
    out_dir: Path
    report_date: date
    generated_at: datetime
    formats: tuple[Format, ...] = ("md", "html")
    since: date | None = None  # None: since the previous recorded report
    dry_run: bool = False
    # Only these trajectories (ids "workflow_id/run_id"); None: every one (a scenario's
    # report shows its own run alone).
    only: frozenset[str] | None = None


@dataclass(frozen=True)
class ReportResult:
    paths: tuple[Path, ...]
    since: date | None
    since_source: SinceSource
    trajectories: int
    live: int
    report_id: int | None  # None on a dry run


def report_path(out_dir: Path, report_date: date, fmt: Format) -> Path:
    return out_dir / f"{FILE_STEM}-{report_date.isoformat()}.{fmt}"


async def generate_report(
    conn: DbConnection,
    request: ReportRequest,
    live: Mapping[str, TrajectoryStatus] | None = None,
) -> ReportResult:
    since, source = await _since(conn, request.since)
    data = await load_report_data(
        conn,
        report_date=request.report_date,
        since=since,
        since_source=source,
        live=live,
        only=request.only,
    )
    view = build_view(data, generated_at=request.generated_at)
    paths = []
    for fmt in request.formats:
        text = render_markdown(view) if fmt == "md" else render_html(view)
        path = report_path(request.out_dir, request.report_date, fmt)
        _write(path, text)
        paths.append(path)
    report_id = None
    if not request.dry_run:
        report_id = await record_report(
            conn, generated_at=request.generated_at, period_end=request.report_date
        )
    return ReportResult(
        paths=tuple(paths),
        since=since,
        since_source=source,
        trajectories=len(data.trajectories),
        live=sum(1 for t in data.trajectories if t.live),
        report_id=report_id,
    )


async def _since(conn: DbConnection, given: date | None) -> tuple[date | None, SinceSource]:
    if given is not None:
        return given, "option"
    previous = await previous_period_end(conn)
    return (previous, "previous-report") if previous is not None else (None, "none")


def _write(path: Path, text: str) -> None:
    """Write beside the target, then rename: a reader never sees half a report."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise ReportWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
