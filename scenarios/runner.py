"""Run a scenario end to end: its rows in the register, the trajectory from its real dates on a
compressed calendar, the people played by the actor, then the Dutch report of that run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from db.connect import DbConnection
from db.register import get_cooperation
from operations.requests import StartInput, TrajectoryExists, build_request
from operations.start import start_trajectory
from report.generate import ReportRequest, generate_report
from scenarios.actor import Actor
from scenarios.catalogue import Scenario
from scenarios.register import ScenarioRows, prepare_rows, scenario_cooperation_id
from schemas.register import Cooperation
from schemas.trajectory import (
    Calendar,
    MergedStructure,
    TrajectoryStatus,
    workflow_id_for,
)

SECONDS_PER_DAY = 0.25  # a year of the case in about a minute and a half
POLL_SECONDS = 0.3


@dataclass(frozen=True)
class ScenarioOutcome:
    scenario: Scenario
    workflow_id: str
    status: TrajectoryStatus
    register: tuple[Cooperation, ...]  # the scenario's rows after the run
    report_paths: tuple[Path, ...]


async def run_scenario(
    client: Client,
    conn: DbConnection,
    task_queue: str,
    scenario: Scenario,
    *,
    out_dir: Path,
    seconds_per_day: float = SECONDS_PER_DAY,
    poll_seconds: float = POLL_SECONDS,
) -> ScenarioOutcome:
    """TrajectoryExists when the scenario's trajectory is still running (nothing is reset)."""
    workflow_id = workflow_id_for(scenario_cooperation_id(scenario))
    await _refuse_if_running(client, workflow_id)
    rows = await prepare_rows(conn, scenario)
    request = await build_request(
        conn,
        _start_input(scenario, rows, seconds_per_day),
        today=scenario.starts_on,
        coordinator="Scenario",
    )
    handle = await start_trajectory(client, task_queue, request)
    trajectory_id = f"{handle.id}/{handle.result_run_id}"
    await Actor(handle, scenario, poll_seconds).play()
    # The run returns once its journal's last batch is in PostgreSQL: the report reads that.
    final = await handle.result()
    assert final.finished_on is not None
    report = await generate_report(
        conn,
        ReportRequest(
            out_dir=out_dir / scenario.name,
            report_date=final.finished_on,
            generated_at=datetime.now(UTC),
            since=scenario.starts_on,
            dry_run=True,  # a scenario's report is not the organisation's previous report
            only=frozenset({trajectory_id}),
        ),
    )
    register = []
    for cooperation_id in rows.all_ids:
        row = await get_cooperation(conn, cooperation_id)
        assert row is not None
        register.append(row)
    return ScenarioOutcome(
        scenario=scenario,
        workflow_id=handle.id,
        status=final,
        register=tuple(register),
        report_paths=report.paths,
    )


def _start_input(scenario: Scenario, rows: ScenarioRows, seconds_per_day: float) -> StartInput:
    return StartInput(
        cooperation_id=rows.cooperation_id,
        participants=scenario.participants,
        planned_av_date=scenario.planned_av_date,
        effective_date=scenario.effective_date,
        staff=scenario.staff,
        assets=scenario.assets,
        coordinator="Scenario",
        calendar=Calendar(speed=86_400 / seconds_per_day, starts_on=scenario.starts_on),
        host=scenario.host,
        merged=tuple(
            MergedStructure(cooperation_id=merged_id, name=case.name, end=case.end, note=case.note)
            for merged_id, case in zip(rows.merged_ids, scenario.merged, strict=True)
        ),
        continues_as=scenario.continues_as,
        project_call=scenario.project_call,
    )


async def _refuse_if_running(client: Client, workflow_id: str) -> None:
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return
        raise
    if description.status is WorkflowExecutionStatus.RUNNING:
        raise TrajectoryExists(
            f"the scenario's trajectory {workflow_id} is still running; follow it with "
            f"`starter.py status {workflow_id}`, or stop it with `starter.py abort` first"
        )
