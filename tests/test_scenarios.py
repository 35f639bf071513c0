"""The organisation's five real cases, each run end to end as `starter.py scenario run` runs
it: from its real dates on a compressed calendar, against the real dev server, a worker and
PostgreSQL. The five run at once (one process each would cost five times the wall time); each
is then checked against the account's facts in the register, the audit trail and the report.

A sixth run is the regierol with its project call refused: the trajectory goes on and the role
is integrated all the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from db.trajectories import events_of
from scenarios.catalogue import SCENARIOS, SIXTEEN
from scenarios.runner import ScenarioOutcome, run_scenario
from schemas.audit import EventKind
from schemas.common import CooperationStatus, Outcome
from schemas.register import EndReason
from schemas.template import Phase
from schemas.trajectory import StepStatus, StepView, TrajectoryStatus
from tests.support.trajectories import running_worker

SECONDS_PER_DAY = 0.1
POLL_SECONDS = 0.5
# The longest case (Sport Midwest) spans about 520 days, 52 s here; the bound is well within
# pytest's timeout, so a case that does not finish is named rather than cut off.
BOUND_SECONDS = 200

CALL_REFUSED = dataclasses.replace(
    SCENARIOS["regierol-sociale-economie"],
    name="regierol-zonder-projectmiddelen",
    outcomes={("project-call-result", "projectoproep"): Outcome.REJECT},
)


def step(status: TrajectoryStatus, step_id: str) -> StepView:
    return next(s for s in status.steps if s.id == step_id)


def report_text(outcome: ScenarioOutcome) -> str:
    markdown = next(p for p in outcome.report_paths if p.suffix == ".md")
    return markdown.read_text(encoding="utf-8")


@pytest.fixture
async def outcomes(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> dict[str, ScenarioOutcome]:
    async with running_worker(dev_env.client, database_url) as task_queue:
        conn = await asyncpg.connect(database_url)
        try:

            async def one(name: str) -> ScenarioOutcome:
                scenario = CALL_REFUSED if name == CALL_REFUSED.name else SCENARIOS[name]
                # Each run its own connection: the five write the register side by side.
                own = await asyncpg.connect(database_url)
                try:
                    return await run_scenario(
                        dev_env.client,
                        own,
                        task_queue,
                        scenario,
                        out_dir=tmp_path,
                        seconds_per_day=SECONDS_PER_DAY,
                        poll_seconds=POLL_SECONDS,
                    )
                finally:
                    await own.close()

            names = [*SCENARIOS, CALL_REFUSED.name]
            outcomes = await all_within(names, one, BOUND_SECONDS)
            for outcome in outcomes.values():
                # The audit trail in PostgreSQL is the workflow's own, complete timeline.
                trajectory = f"{outcome.workflow_id}/"
                rows = await conn.fetch(
                    "SELECT id FROM trajectories WHERE starts_with(id, $1)", trajectory
                )
                assert len(rows) == 1
                events = await events_of(conn, rows[0]["id"])
                assert [e.seq for e in events] == list(range(1, len(events) + 1))
                assert [e.seq for e in events] == [e.seq for e in outcome.status.timeline]
            return outcomes
        finally:
            await conn.close()


async def all_within(
    names: list[str], run: Callable[[str], Coroutine[Any, Any, ScenarioOutcome]], bound: float
) -> dict[str, ScenarioOutcome]:
    """Every run at once, within `bound` seconds. The first failure stops the others (its
    own error is the one raised), and a bound reached names the runs still going."""
    tasks: dict[str, asyncio.Task[ScenarioOutcome]] = {}
    try:
        async with asyncio.timeout(bound), asyncio.TaskGroup() as group:
            for name in names:
                tasks[name] = group.create_task(run(name))
    except TimeoutError:
        unfinished = [name for name, task in tasks.items() if not task.done()]
        pytest.fail(f"not finished within {bound:g} s: {', '.join(unfinished)}")
    return {name: task.result() for name, task in tasks.items()}


async def test_the_five_real_cases_end_as_the_account_says_and_a_refused_call_goes_on(
    outcomes: dict[str, ScenarioOutcome],
) -> None:
    for outcome in outcomes.values():
        assert outcome.status.phase is Phase.INTEGRATED, outcome.scenario.name

    # Wijk-werken: all 16 agreed; the statute change was decided by every member and WVI.
    wijk = outcomes["wijk-werken"]
    row = wijk.register[0]
    assert (row.status, row.integrated_on) == (CooperationStatus.INTEGRATED, date(2018, 1, 1))
    assert set(row.members) == set(SIXTEEN)
    council = step(wijk.status, "council-round")
    assert {p.authority_id for p in council.parties} == {*SIXTEEN, "wvi"}
    assert all(p.outcome is Outcome.APPROVE for p in council.parties)
    assert "- **Ingekanteld op:** 1 januari 2018" in report_text(wijk)

    # Regierol sociale economie: staff from the RESOC, then the project call.
    regie = outcomes["regierol-sociale-economie"]
    assert regie.register[0].integrated_on == date(2019, 7, 1)
    assert step(regie.status, "transfer-staff").status is StepStatus.DONE
    assert step(regie.status, "union-consultation").status is StepStatus.DONE
    call = step(regie.status, "project-call-result")
    assert [p.outcome for p in call.parties] == [Outcome.APPROVE]
    assert step(regie.status, "project-call-application").completed_on is not None
    assert "2 personeelsleden" in report_text(regie)

    # Sport Midwest: five cooperations into one, each old structure ended its own way.
    sport = outcomes["sport-midwest"]
    main, overleg, *others = sport.register
    assert (main.status, main.integrated_on) == (CooperationStatus.INTEGRATED, date(2019, 3, 1))
    assert overleg.status is CooperationStatus.DISSOLVED
    assert overleg.end is not None and overleg.end.on == date(2020, 2, 3)
    assert [o.end.reason if o.end else None for o in others] == [
        EndReason.CONTINUED_OUTSIDE_REGION,
        EndReason.CONTINUED_OUTSIDE_REGION,
        EndReason.ENDED,
        EndReason.ENDED,
    ]
    assert sport.status.planned_av_date is None  # no general assembly for an informal overleg
    text = report_text(sport)
    assert "Regionaal Sportoverleg (ontbonden)" in text
    assert "verder gezet door de besturen buiten de regio" in text
    assert "- **Ingekanteld op:** 1 maart 2019" in text
    assert "Traject afgerond op" in text and "formeel vast" in text
    assert "algemene vergadering" not in text.lower()

    # The archiefteam: a shared service with its trekkende gemeente, agreements replaced.
    archief = outcomes["archiefteam"]
    row = archief.register[0]
    assert (row.integrated_on, row.host) == (date(2020, 1, 1), "tielt")
    assert len(row.members) == 6
    assert step(archief.status, "replace-agreements").status is StepStatus.DONE
    assert "- **Trekkende gemeente:** Tielt" in report_text(archief)

    # BIE: the WVV route with external legal counsel, its own members' dissolution decision,
    # the deed before staff and assets move, continued under a new name.
    bie = outcomes["bie"]
    row = bie.register[0]
    assert (row.integrated_on, row.continued_as) == (
        date(2020, 12, 1),
        "Cultuur- en erfgoedplatform van Midwest",
    )
    assert step(bie.status, "external-legal-counsel").status is StepStatus.DONE
    assert {p.authority_id for p in step(bie.status, "participants-exit").parties} == set(SIXTEEN)
    deed = step(bie.status, "execute-deed").completed_on
    assert deed is not None
    for moved in ("transfer-staff", "transfer-assets"):
        done = step(bie.status, moved).completed_on
        assert done is not None and done >= deed
    text = report_text(bie)
    assert "- **Voortgezet als:** Cultuur- en erfgoedplatform van Midwest" in text
    assert "- **Ingekanteld op:** 1 december 2020" in text
    # Everywhere the effective date, also where the deed followed later.
    assert "Projectvereniging BIE (scenario) is op 1 december 2020 ingekanteld" in text

    check_the_refused_project_call(outcomes)


def check_the_refused_project_call(outcomes: dict[str, ScenarioOutcome]) -> None:
    """A project call not granted is noted; the role is integrated all the same."""
    refused = outcomes[CALL_REFUSED.name]
    assert refused.status.phase is Phase.INTEGRATED
    assert refused.register[0].status is CooperationStatus.INTEGRATED
    call = step(refused.status, "project-call-result")
    assert call.status is StepStatus.DONE
    assert [p.outcome for p in call.parties] == [Outcome.REJECT]
    kinds = [e.kind for e in refused.status.timeline]
    assert EventKind.DECISION_REJECTED in kinds
    assert EventKind.AMENDMENT not in kinds
    assert "Niet toegekend" in report_text(refused)
