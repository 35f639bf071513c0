"""Looking at trajectories: `status` (live, from the workflow), `list` (Temporal's
visibility, on our search attributes) and `history` (the audit trail in PostgreSQL)."""

from __future__ import annotations

import argparse
from enum import StrEnum
from typing import TypeVar

from cli.common import (
    InvalidInput,
    add_command,
    add_id_argument,
    add_json_flag,
    answer_wait,
    calendar_today,
    database,
    print_json,
    register_id,
    run,
    shown,
    temporal_client,
    web_ui_link,
    workflow_id_from,
)
from cli.exit_codes import ExitCode
from cli.render import history_lines, status_lines, summary_lines
from operations.queries import ListFilter, list_trajectories, trajectory_history, trajectory_status
from schemas.common import CooperationKind
from schemas.template import Phase
from settings import Settings

E = TypeVar("E", bound=StrEnum)


def _choice(enum: type[E], text: str | None, option: str) -> E | None:
    if text is None:
        return None
    try:
        return enum(text)
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        raise InvalidInput(f"{option}: must be one of {choices} (got {shown(text)})") from None


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        client = await temporal_client(settings)
        reading = await trajectory_status(client, workflow_id, answer_wait(args))
        if args.json:
            print_json(reading.status.model_dump(mode="json"))
        else:
            link = web_ui_link(settings, workflow_id, reading.run_id)
            today = calendar_today(reading.status)
            print("\n".join(status_lines(reading.status, today, link)))
        return ExitCode.OK

    return run(settings, work)


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        filters = ListFilter(
            phase=_choice(Phase, args.phase, "--phase"),
            kind=_choice(CooperationKind, args.kind, "--kind"),
            pending=register_id(args.pending, "--pending") if args.pending else None,
            overdue=args.overdue,
            include_closed=args.all,
        )
        client = await temporal_client(settings)
        summaries = await list_trajectories(client, filters, answer_wait(args))
        if args.json:
            print_json([s.as_json() for s in summaries])
        else:
            print("\n".join(summary_lines(summaries)))
        return ExitCode.OK

    return run(settings, work)


def _cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        workflow_id = workflow_id_from(args.id)
        async with database(settings) as conn:
            history = await trajectory_history(conn, workflow_id, args.run)
        if args.json:
            print_json([e.model_dump(mode="json", exclude={"data"}) for e in history.events])
        else:
            print("\n".join(history_lines(history)))
        return ExitCode.OK

    return run(settings, work)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status`, `list` and `history` to the starter's command line."""
    status = add_command(
        subparsers,
        "status",
        "where one trajectory stands: steps by lane, decisions, deadlines, overdue",
        "Overdue steps are marked with '!' and the word 'overdue'. A finished trajectory shows\n"
        "its final status.\n\n"
        "examples:\n"
        "  starter.py status projectvereniging-bie\n"
        "  starter.py status inkanteling-projectvereniging-bie --json\n",
        _cmd_status,
    )
    add_id_argument(status)
    add_json_flag(status, "the workflow's status query result as JSON")

    phases = ", ".join(p.value for p in Phase)
    kinds = ", ".join(k.value for k in CooperationKind)
    lister = add_command(
        subparsers,
        "list",
        "list trajectories, filtered on phase, kind, pending authority or overdue",
        f"phases: {phases}\nkinds: {kinds}\n\n"
        "Only running trajectories unless --all. Filters combine (AND).\n\n"
        "examples:\n"
        "  starter.py list\n"
        "  starter.py list --phase council-round --pending izegem\n"
        "  starter.py list --overdue --json\n",
        _cmd_list,
    )
    lister.add_argument("--phase", metavar="PHASE", help="only trajectories in this phase")
    lister.add_argument("--kind", metavar="KIND", help="only this kind of cooperation")
    lister.add_argument(
        "--pending", metavar="AUTHORITY", help="only those awaiting this authority's decision"
    )
    lister.add_argument("--overdue", action="store_true", help="only those with an overdue step")
    lister.add_argument("--all", action="store_true", help="include finished and aborted ones")
    add_json_flag(lister, "a JSON array")

    history = add_command(
        subparsers,
        "history",
        "the timeline of a trajectory from the audit trail",
        "Reads the events table in PostgreSQL; the latest run unless --run names another.\n\n"
        "examples:\n"
        "  starter.py history projectvereniging-bie\n"
        "  starter.py history projectvereniging-bie --run 0190c5e2-... --json\n",
        _cmd_history,
    )
    add_id_argument(history)
    history.add_argument("--run", metavar="RUN_ID", help="a specific run of the trajectory")
    add_json_flag(history, "a JSON array of events")
