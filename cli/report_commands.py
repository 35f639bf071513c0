"""`starter.py report`: write the "Stand van zaken" for the Midwestoverleg (Markdown, HTML)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime
from pathlib import Path

import asyncpg

from cli.exit_codes import ExitCode
from db.connect import DatabaseUnavailable, DbConnection, connect, database_url, unavailable
from db.trajectories import running_workflows
from report.generate import Format, ReportRequest, ReportResult, ReportWriteError, generate_report
from report.live import LiveStatuses, query_statuses
from settings import Settings
from temporal_connection import TemporalUnavailable
from temporal_connection import connect as temporal_connect

TEMPORAL_CONNECT_TIMEOUT = 5.0

_EPILOG = """\
The report lists every trajectory (running, integrated, aborted) with its phase, dates,
decisions received and pending, next deadline, overdue steps, a timeline (HTML) and what
happened since the previous report. Running trajectories are asked for their live status
through Temporal; when Temporal cannot be reached the stored snapshots are used instead.

examples:
  starter.py report
  starter.py report --out /srv/midwest/verslagen --format html
  starter.py report --since 2026-10-01 --dry-run --json

Files are named stand-van-zaken-YYYY-MM-DD.md / .html. Every report except a --dry-run is
recorded, and the next report shows the events from that date on.
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the Dutch status report (Stand van zaken) for the Midwestoverleg",
        description="Write the Dutch status report of the inkanteling trajectories.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="directory for the report files (default: reports/)",
    )
    parser.add_argument(
        "--since",
        type=_iso_date,
        metavar="DATE",
        help="list the events from DATE on (YYYY-MM-DD); default: the date of the previous "
        "recorded report, or everything for the first report",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="write the files but do not record the report as the previous one",
    )
    parser.add_argument(
        "--format",
        choices=("md", "html", "both"),
        default="both",
        help="Markdown, HTML or both (default: both)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run_report)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    formats: tuple[Format, ...] = ("md", "html") if args.format == "both" else (args.format,)
    now = datetime.now().astimezone()
    request = ReportRequest(
        out_dir=args.out,
        report_date=now.date(),
        generated_at=now,
        formats=formats,
        since=args.since,
        dry_run=args.dry_run,
    )
    try:
        result = asyncio.run(_generate(settings, request))
    except DatabaseUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return ExitCode.UNAVAILABLE
    except ReportWriteError as exc:
        print(str(exc), file=sys.stderr)
        return ExitCode.INVALID_INPUT
    _print(result, request, as_json=args.json)
    return ExitCode.OK


async def _generate(settings: Settings, request: ReportRequest) -> ReportResult:
    url = database_url(settings)
    conn = await connect(url)
    try:
        live = await _live_statuses(settings, conn)
        return await generate_report(conn, request, live.statuses)
    except asyncpg.UndefinedTableError:
        raise DatabaseUnavailable(
            "the database lacks the trajectory or report tables; run `python -m db.migrate` "
            "(or start the local stack with `make stack`)"
        ) from None
    except (OSError, asyncpg.ConnectionDoesNotExistError) as exc:
        # The server went away after we connected: the same advice as at connect time.
        raise unavailable(url, exc) from exc
    finally:
        await conn.close()


async def _live_statuses(settings: Settings, conn: DbConnection) -> LiveStatuses:
    """Live statuses of the running trajectories, or none (with one line on stderr)."""
    workflows = await running_workflows(conn)
    if not workflows:
        return LiveStatuses()
    try:
        client = await asyncio.wait_for(
            temporal_connect(settings), timeout=TEMPORAL_CONNECT_TIMEOUT
        )
    except (TemporalUnavailable, TimeoutError) as exc:
        reason = str(exc) or f"no answer within {TEMPORAL_CONNECT_TIMEOUT:.0f} s"
        print(
            f"Temporal not reachable ({reason}); the report uses the stored snapshots",
            file=sys.stderr,
        )
        return LiveStatuses()
    live = await query_statuses(client, workflows)
    if live.failures:
        first = next(iter(live.failures.items()))
        print(
            f"no live status for {len(live.failures)} of {len(workflows)} running trajectories "
            f"(e.g. {first[0]}: {first[1]}); their stored snapshots are used",
            file=sys.stderr,
        )
    return live


def _print(result: ReportResult, request: ReportRequest, *, as_json: bool) -> None:
    if as_json:
        payload = {
            "files": [str(p) for p in result.paths],
            "report_date": request.report_date.isoformat(),
            "since": result.since.isoformat() if result.since else None,
            "since_source": result.since_source,
            "trajectories": result.trajectories,
            "live": result.live,
            "recorded": result.report_id is not None,
            "report_id": result.report_id,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for path in result.paths:
        print(path)
    since = (
        f"events since {result.since.isoformat()} ({result.since_source})"
        if result.since
        else "all events (first report)"
    )
    recorded = (
        f"recorded as report {result.report_id}"
        if result.report_id is not None
        else "dry run: not recorded"
    )
    print(
        f"{result.trajectories} trajectories ({result.live} with live status); {since}; {recorded}"
    )
