"""`starter.py start`: start the trajectory of a cooperation of the register."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cli.common import (
    Progress,
    add_json_flag,
    answer_wait,
    calendar_today,
    database,
    err,
    id_list,
    optional_date,
    print_json,
    register_id,
    run,
    temporal_client,
    user_name,
    web_ui_link,
)
from cli.exit_codes import ExitCode
from cli.render import status_lines
from operations.queries import (
    TrajectoryNotFound,
    WorkerTrouble,
    describe,
    live_run,
    trajectory_status,
)
from operations.requests import (
    TrajectoryExists,
    build_request,
    parse_start_input,
    read_list_file,
    read_mapping_file,
)
from operations.start import start_trajectory
from schemas.trajectory import TrajectoryStatus, workflow_id_for
from settings import Settings

# The first status needs a worker to run the first workflow task; a stack without one should
# not keep the coordinator waiting long, the trajectory has started regardless.
FIRST_STATUS_TIMEOUT = timedelta(seconds=10)
# How long the check after a Ctrl-C waits for Temporal's answer.
INTERRUPT_CHECK = timedelta(seconds=4)

# Request fields as the options name them, for error messages.
OPTIONS = {
    "cooperation_id": "COOPERATION",
    "participants": "--participants",
    "planned_av_date": "--av-date",
    "effective_date": "--effective-date",
    "staff": "--staff-file",
    "assets": "--assets-file",
    "coordinator": "--coordinator",
    "calendar": "--speed",
    "calendar.speed": "--speed",
    "host": "--host",
    "continues_as": "--continues-as",
    "project_call": "--project-call",
}

_EPILOG = """\
The cooperation's name and kind, and each participant's name, kind, membership and votes,
come from the register. Without --participants the register's members of the cooperation
take part. The general assembly (AV) must lie in the future and the effective date on or
after it; an informal overleg has no general assembly, so no --av-date. Staff and assets
are refused by a route that cannot move them, with the reason.

A shared service names its trekkende gemeente (--host, default: the register's host). A
regional role that applies to a project call after the assembly says so (--project-call);
a call that is not granted is noted and the trajectory goes on. --continues-as gives the
name the work carries on under in DVV Midwest, which the register records.

A request file (JSON, or YAML unless the name ends in .json) may hold the same fields, plus
`deadlines` to override the legal lead times; options given beside it win:
  cooperation_id: projectvereniging-bie
  participants: [roeselare, izegem, tielt]
  planned_av_date: 2027-06-15
  effective_date: 2028-01-01
  staff: [{name: An Peeters, statute: contractual, route: transfer}]
  assets: [{description: Erfgoeddepot, kind: asset, value_eur: 12000}]
  deadlines: {union_convocation_working_days: 15}
  continues_as: Cultuur- en erfgoedplatform Midwest
Several cooperations go up in one trajectory with `merged`, each with how it ends
(dissolved, continued-outside-region or ended), recorded when the old structures end:
  merged: [{cooperation_id: regionaal-sportoverleg, name: Regionaal Sportoverleg,
            end: dissolved, note: Opgegaan in Sport Midwest}]

--staff-file and --assets-file hold a list in the same form as `staff` and `assets`.
--speed compresses the trajectory's calendar for a demonstration: 43200 lets a day pass
in two seconds (workflow time only; 1 is real time).

examples:
  starter.py start projectvereniging-bie --participants roeselare,izegem,tielt \\
      --av-date 2027-06-15 --effective-date 2028-01-01 --staff-file staff.yaml
  starter.py start --request bie.yaml --coordinator "Coördinator Midwest"
  starter.py start intergemeentelijk-archiefteam --participants roeselare,izegem --host izegem \\
      --av-date 2027-03-01 --effective-date 2027-05-01 --speed 43200 --json
"""


def _options(args: argparse.Namespace) -> dict[str, str]:
    """OPTIONS, but staff and assets are named as the request file names them when they come
    from it rather than from --staff-file or --assets-file."""
    options = dict(OPTIONS)
    for field, given in (("staff", args.staff_file), ("assets", args.assets_file)):
        if given is None:
            del options[field]
    return options


def _option_layer(args: argparse.Namespace) -> dict[str, Any]:
    """The values the options give (None: not given), checked for form only."""
    return {
        "cooperation_id": (
            register_id(args.cooperation, "COOPERATION") if args.cooperation else None
        ),
        "participants": id_list(args.participants, "--participants"),
        "planned_av_date": optional_date(args.av_date, "--av-date"),
        "effective_date": optional_date(args.effective_date, "--effective-date"),
        "staff": read_list_file(args.staff_file) if args.staff_file else None,
        "assets": read_list_file(args.assets_file) if args.assets_file else None,
        "coordinator": args.coordinator,
        "calendar": {"speed": args.speed} if args.speed is not None else None,
        "host": register_id(args.host, "--host") if args.host else None,
        "continues_as": args.continues_as,
        "project_call": True if args.project_call else None,
    }


def _print_started(
    workflow_id: str, run_id: str, link: str, status: TrajectoryStatus | None, as_json: bool
) -> None:
    if as_json:
        print_json(
            {
                "workflow_id": workflow_id,
                "run_id": run_id,
                "web_ui": link,
                "status": status.model_dump(mode="json") if status else None,
            }
        )
        return
    print(f"started {workflow_id} (run {run_id})")
    if status is not None:
        print("\n".join(status_lines(status, calendar_today(status), link)))
    else:
        print(f"web UI: {link}")


def _cmd_start(args: argparse.Namespace, settings: Settings) -> int:
    progress = Progress(interrupted="the trajectory was not started")

    async def work() -> int:
        layers = [read_mapping_file(args.request)] if args.request else []
        given = parse_start_input([*layers, _option_layer(args)])
        client = await temporal_client(settings)
        wait = answer_wait(args)
        if given.cooperation_id is not None:
            # A live trajectory is the answer that matters, whatever else the request says.
            workflow_id = workflow_id_for(given.cooperation_id)
            if await live_run(client, workflow_id, wait) is not None:
                raise TrajectoryExists(
                    f"a trajectory for {given.cooperation_id!r} is already running "
                    f"({workflow_id}); finish or abort it before starting another"
                )
        async with database(settings) as conn:
            # Wall-clock today is right here: the AV must lie ahead of the real calendar.
            request = await build_request(conn, given, today=date.today(), coordinator=user_name())
        workflow_id = workflow_id_for(request.cooperation_id)
        # From here an interrupt may fall after Temporal started the trajectory: ask it.
        progress.interrupted = (
            "whether the trajectory was started is unknown (Temporal did not answer in time): "
            f"check with `starter.py status {workflow_id}`"
        )
        progress.check = lambda: _started(settings, workflow_id)
        handle = await start_trajectory(client, settings.task_queue, request)
        run_id = handle.result_run_id or ""
        link = web_ui_link(settings, handle.id, run_id)
        status: TrajectoryStatus | None = None
        try:
            first = min(FIRST_STATUS_TIMEOUT, wait)
            status = (await trajectory_status(client, handle.id, first)).status
        except WorkerTrouble as exc:
            err(f"started, but {exc}")
        _print_started(handle.id, run_id, link, status, args.json)
        return ExitCode.OK

    return run(settings, work, _options(args), progress)


async def _started(settings: Settings, workflow_id: str) -> str:
    """After a Ctrl-C that may have fallen after the start request: did Temporal start it? The
    command refused to start beside a live run, so a live run now is the one it started."""
    client = await temporal_client(settings)
    try:
        described = await describe(client, workflow_id, INTERRUPT_CHECK)
    except TrajectoryNotFound:
        return "the trajectory was not started"
    if not described.running:
        return "the trajectory was not started"
    return (
        f"the trajectory was started nevertheless: {workflow_id} (run {described.run_id}); "
        f"`starter.py status {workflow_id}` shows it"
    )


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `start` to the starter's command line."""
    parser = subparsers.add_parser(
        "start",
        help="start the inkanteling trajectory of a cooperation",
        description="Start the inkanteling trajectory of a cooperation of the register.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_cmd_start)
    parser.add_argument(
        "cooperation", metavar="COOPERATION", nargs="?", help="register id of the cooperation"
    )
    parser.add_argument(
        "--request", type=Path, metavar="FILE", help="request file, JSON or YAML (see below)"
    )
    parser.add_argument(
        "--participants",
        metavar="IDS",
        help="authority ids, comma-separated (default: the register's members)",
    )
    parser.add_argument("--av-date", metavar="YYYY-MM-DD", help="planned general assembly")
    parser.add_argument("--effective-date", metavar="YYYY-MM-DD", help="planned effective date")
    parser.add_argument("--staff-file", type=Path, metavar="FILE", help="staff (JSON/YAML list)")
    parser.add_argument(
        "--assets-file", type=Path, metavar="FILE", help="assets, contracts, subsidies (list)"
    )
    parser.add_argument(
        "--coordinator", metavar="NAME", help="who coordinates (default: $USER or 'coordinator')"
    )
    parser.add_argument(
        "--speed", metavar="N", help="compressed calendar for demonstrations (default 1)"
    )
    parser.add_argument(
        "--host", metavar="ID", help="shared service: the trekkende gemeente (a participant)"
    )
    parser.add_argument(
        "--continues-as", metavar="NAME", help="the name the work continues under in Midwest"
    )
    parser.add_argument(
        "--project-call",
        action="store_true",
        help="regional role: apply to a project call after the assembly",
    )
    add_json_flag(parser, "workflow id, run id, Web UI link and status as JSON")
