"""`starter.py scenario list|run`: the organisation's five real cases, end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import (
    InvalidInput,
    add_command,
    add_json_flag,
    database,
    err,
    print_json,
    run,
    temporal_client,
    web_ui_link,
)
from cli.exit_codes import ExitCode
from register.suggest import suggest
from scenarios.actor import ScenarioRefused
from scenarios.catalogue import SCENARIOS, Scenario
from scenarios.register import scenario_cooperation_id
from scenarios.runner import SECONDS_PER_DAY, ScenarioOutcome, run_scenario
from schemas.trajectory import workflow_id_for
from settings import Settings

_RUN_EPILOG = """\
Runs one of the five trajectories of the organisation's account (section 3.2) from its real
dates, on a compressed calendar (one day in --seconds-per-day seconds), with the coordinator,
boards, councils and general assembly played by the scenario. It works on the register's
copies of the cooperations, named "(scenario)": the register's own rows keep the real history.
At the end it prints what the account states, what the scenario had to choose where the
account is silent, the register as the trajectory left it, and the path of the Dutch report.
A scenario may be run again; its copies start from active each time.

examples:
  starter.py scenario list
  starter.py scenario run sport-midwest
  starter.py scenario run bie --seconds-per-day 0.1 --out reports/scenarios --json
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser(
        "scenario",
        help="run the organisation's five real cases as scenarios",
        description="The five real trajectories of the organisation's account, end to end.",
    )
    commands = group.add_subparsers(dest="scenario_command", required=True, metavar="COMMAND")
    lister = add_command(
        commands,
        "list",
        "list the scenarios",
        "example:\n  starter.py scenario list --json\n",
        _cmd_list,
    )
    add_json_flag(lister, "the scenarios as JSON")
    runner = add_command(commands, "run", "run a scenario end to end", _RUN_EPILOG, _cmd_run)
    runner.add_argument("name", metavar="NAME", help=f"one of {', '.join(SCENARIOS)}")
    runner.add_argument(
        "--seconds-per-day",
        type=float,
        default=SECONDS_PER_DAY,
        metavar="S",
        help=f"wall-clock seconds per calendar day (default {SECONDS_PER_DAY:g})",
    )
    runner.add_argument(
        "--out",
        type=Path,
        default=Path("reports/scenarios"),
        metavar="DIR",
        help="directory for the report (default: reports/scenarios/NAME/)",
    )
    add_json_flag(runner, "the outcome as JSON")


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    if args.json:
        print_json([_describe(s) for s in SCENARIOS.values()])
    else:
        for s in SCENARIOS.values():
            print(f"{s.name:28} {s.title} (verslag {s.source})")
    return ExitCode.OK


def _describe(s: Scenario) -> dict[str, object]:
    return {
        "name": s.name,
        "title": s.title,
        "source": s.source,
        "cooperation_id": s.cooperation_id,
        "starts_on": s.starts_on.isoformat(),
        "planned_av_date": s.planned_av_date.isoformat() if s.planned_av_date else None,
        "effective_date": s.effective_date.isoformat(),
        "from_source": list(s.from_source),
        "assumed": list(s.assumed),
    }


def _scenario(name: str) -> Scenario:
    if name in SCENARIOS:
        return SCENARIOS[name]
    near = suggest(name, SCENARIOS)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise InvalidInput(f"no scenario {name!r}{hint} (`starter.py scenario list` lists them)")


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        scenario = _scenario(args.name)
        if not 0.01 <= args.seconds_per_day <= 60:
            raise InvalidInput("--seconds-per-day: must lie between 0.01 and 60")
        client = await temporal_client(settings)
        async with database(settings) as conn:
            try:
                outcome = await run_scenario(
                    client,
                    conn,
                    settings.task_queue,
                    scenario,
                    out_dir=args.out,
                    seconds_per_day=args.seconds_per_day,
                )
            except ScenarioRefused as exc:
                workflow_id = workflow_id_for(scenario_cooperation_id(scenario))
                err(
                    f"scenario {scenario.name}: the trajectory refused a message: {exc}; it is "
                    f"left running to be looked at (`starter.py status {workflow_id}`), and "
                    f"`starter.py abort {workflow_id} --reason ...` ends it before a new run"
                )
                return ExitCode.REFUSED
        if args.json:
            print_json(_outcome_json(outcome, settings))
        else:
            print("\n".join(_outcome_lines(outcome, settings)))
        return ExitCode.OK

    return run(settings, work)


def _outcome_json(outcome: ScenarioOutcome, settings: Settings) -> dict[str, object]:
    return {
        **_describe(outcome.scenario),
        "workflow_id": outcome.workflow_id,
        "web_ui": web_ui_link(settings, outcome.workflow_id),
        "phase": outcome.status.phase.value,
        "finished_on": str(outcome.status.finished_on),
        "register": [c.model_dump(mode="json") for c in outcome.register],
        "report": [str(p) for p in outcome.report_paths],
    }


def _outcome_lines(outcome: ScenarioOutcome, settings: Settings) -> list[str]:
    s, status = outcome.scenario, outcome.status
    lines = [f"{s.title} (account, section {s.source})", "", "What the account states:"]
    lines += [f"  - {fact}" for fact in s.from_source]
    lines += ["", "What the scenario chose where the account is silent:"]
    lines += [f"  - {choice}" for choice in s.assumed]
    lines += ["", f"Outcome: {status.phase.value}, effective date {status.effective_date}"]
    lines += ["", "The register after the trajectory:"]
    for c in outcome.register:
        how = c.status.value
        if c.integrated_on is not None:
            how += f" on {c.integrated_on}"
        if c.end is not None:
            how = c.end.text()
        if c.continued_as:
            how += f", continued as {c.continued_as}"
        members = f" ({len(c.members)} members)" if c.members else ""
        lines.append(f"  - {c.id}: {how}{members}")
    lines += ["", "Report (Dutch): " + ", ".join(str(p) for p in outcome.report_paths)]
    lines.append(f"Web UI: {web_ui_link(settings, outcome.workflow_id)}")
    return lines
