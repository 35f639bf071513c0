"""End to end on the dev server and PostgreSQL: a council's published minutes recorded with
`starter.py lblod match --apply`, the association's decision published, and the harvester
(triggered through its Temporal Schedule) reading pages from a local HTTP server: one that
changes between two reads, a slow one and one that fails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

import starter
from db.lblod import add_body, set_harvest, set_patterns, set_source
from lblod import harvest
from lblod.harvest import HarvestInput, HarvestReport
from lblod.profiles import Profile
from lblod.reader import read_publication
from lblod.validate import validate_html
from schemas.common import CooperationKind, Outcome
from schemas.trajectory import StepStatus, TaskCompletion, TrajectoryStatus
from tests.support.codec import converter_for_tests
from tests.support.lblod import (
    ESSEN,
    ESSEN_COUNCIL,
    TORHOUT_COUNCIL,
    TORHOUT_ITEM,
    fixture_bytes,
    page_server,
    torhout_on,
)
from tests.support.trajectories import (
    decision,
    make_request,
    running_worker,
    start,
    via_updates,
    wait_for,
)
from workflows.registry import WORKFLOWS

ESSEN_ITEM = "Ontwerpbegroting 2024 vzw Kobie"
TEST_AUTHORITIES = ("torhout", "essen", "traagdorp", "stukdorp")


def _open(step_id: str) -> Callable[[TrajectoryStatus], bool]:
    return lambda s: any(v.id == step_id and v.status is StepStatus.OPEN for v in s.steps)


def _party(status: TrajectoryStatus, authority: str) -> Any:
    step = next(s for s in status.steps if s.id == "partners-round")
    return next(p for p in step.parties if p.authority_id == authority)


async def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = await asyncio.to_thread(starter.main, argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


_HARVEST_RUNS: list[str] = []


async def _run_schedule_once(client: Client, handle: Any, before: int) -> HarvestReport:
    await handle.trigger()
    for _ in range(200):  # bounded: about 20 s
        description = await handle.describe()
        if description.info.num_actions > before:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the schedule did not start the harvester")
    workflow_id = description.info.recent_actions[-1].action.workflow_id
    _HARVEST_RUNS.append(workflow_id)
    result: HarvestReport = await client.get_workflow_handle(
        workflow_id, result_type=HarvestReport
    ).result()
    return result


async def _wait_persisted(conn: asyncpg.Connection[asyncpg.Record], authority: str) -> None:
    for _ in range(200):
        if await conn.fetchval(
            "SELECT 1 FROM trajectories WHERE NOT finished AND $1 = ANY(pending_authorities)",
            authority,
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the trajectory's pending parties were not persisted")


async def test_published_decisions_are_recorded_and_the_association_publishes(
    dev_env: WorkflowEnvironment,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    client = dev_env.client
    today = datetime.now(UTC).date()
    conn = await asyncpg.connect(database_url)
    try:
        # The fixtures' bodies are outside Midwest: they are registered on test authorities.
        for authority in TEST_AUTHORITIES:
            await conn.execute(
                "INSERT INTO authorities (id, name, kind, is_midwest_member, votes) "
                "VALUES ($1, $2, 'external-partner', false, 0)",
                authority,
                authority.capitalize(),
            )
        await add_body(conn, "torhout", TORHOUT_COUNCIL, "Gemeenteraad")
        await add_body(conn, "essen", ESSEN_COUNCIL, "Gemeenteraad")
        await set_patterns(conn, "sport-midwest", (TORHOUT_ITEM, ESSEN_ITEM), "test")
        async with running_worker(client, database_url) as task_queue:
            monkeypatch.setenv("DATABASE_URL", database_url)
            monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
            monkeypatch.setenv("INKANTELING_TASK_QUEUE", task_queue)
            request = make_request(
                CooperationKind.INFORMAL_OVERLEG, participants=TEST_AUTHORITIES, start=today
            )
            handle = await start(client, task_queue, request)
            send = via_updates(handle)
            await wait_for(handle, _open("business-case"), attempts=400)
            await send(
                "complete_task",
                TaskCompletion(step_id="business-case", evidence="doc://bc", completed_by="C"),
            )
            await wait_for(handle, _open("board-principle"), attempts=400)
            await send(
                "decide",
                decision(
                    "dvv-midwest-rvb",
                    today,
                    step_id="board-principle",
                    votes_for=9,
                    votes_against=0,
                    votes_abstained=1,
                ),
            )
            await wait_for(handle, _open("partners-round"), attempts=400)
            wid = handle.id

            # The council's minutes, as a newcomer would: match, then --apply.
            minutes = tmp_path / "torhout-notulen.html"
            minutes.write_bytes(torhout_on(today))
            code, out, err = await _cli(["lblod", "match", wid, str(minutes)], capsys)
            assert code == 0, err
            assert "would record: torhout partners-round: approve" in out
            code, out, err = await _cli(
                ["lblod", "match", wid, str(minutes), "--apply", "--json"], capsys
            )
            assert code == 0, err
            (proposal,) = json.loads(out)["proposals"]
            status = await wait_for(handle, lambda s: _party(s, "torhout").decision is not None)
            recorded = _party(status, "torhout").decision
            assert recorded.outcome is Outcome.APPROVE
            assert recorded.reference == proposal["reference"]
            assert recorded.session_date == today
            assert (recorded.votes_for, recorded.votes_against) == (24, 0)
            assert recorded.recorded_by.startswith("LBLOD ")

            # The same publication again: said so, nothing changes.
            code, _, err = await _cli(["lblod", "match", wid, str(minutes), "--apply"], capsys)
            assert code == 4 and "already recorded" in err
            # Essen's real list of 2023: a party's decision, but outside this round.
            real = tmp_path / "essen-2023.html"
            real.write_bytes(fixture_bytes(ESSEN))
            code, _, err = await _cli(["lblod", "match", wid, str(real)], capsys)
            assert code == 4 and "outside the round" in err
            # A page without RDFa, and a URL that does not answer.
            plain = tmp_path / "plain.html"
            plain.write_text("<html><body>Besluitenlijst</body></html>")
            code, _, err = await _cli(["lblod", "read", str(plain)], capsys)
            assert code == 3 and "no LBLOD RDFa" in err
            code, _, err = await _cli(["lblod", "read", "http://127.0.0.1:9/notulen"], capsys)
            assert code == 6 and "cannot be fetched" in err

            # The association publishes the board's decision.
            page = tmp_path / "rvb.html"
            code, _, err = await _cli(
                ["lblod", "publish", wid, "board-principle", "--output", str(page)], capsys
            )
            assert code == 0, err
            html = page.read_bytes()
            assert validate_html(html, "https://x.example/rvb", Profile.BESLUITENLIJST).conforms
            code, out, _ = await _cli(["lblod", "read", str(page), "--json"], capsys)
            (item,) = json.loads(out)["decisions"]
            assert item["result"] == "approved" and item["votes"][0]["votes_for"] == 9

            # The harvester: Essen's list changes between two reads; two pages fail.
            async with page_server() as server:
                server.pages["essen"] = fixture_bytes(ESSEN)  # the real 2023 list: no match
                server.slow.add("traag")
                server.broken.add("stuk")
                for authority, path in (
                    ("essen", "essen"),
                    ("traagdorp", "traag"),
                    ("stukdorp", "stuk"),
                ):
                    await set_source(conn, authority, server.url(path))
                    await set_harvest(conn, authority, True)
                await _wait_persisted(conn, "essen")
                schedule = await harvest.turn_on(
                    client, task_queue, inp=HarvestInput(fetch_timeout_seconds=1.0)
                )
                try:
                    first = await _run_schedule_once(client, schedule, 0)
                    by_url = {r.url: r for r in first.results}
                    assert by_url[server.url("essen")].outcome == "nothing-matched"
                    assert by_url[server.url("traag")].outcome == "failed"
                    assert "no complete answer" in by_url[server.url("traag")].messages[0]
                    assert by_url[server.url("stuk")].outcome == "failed"
                    assert "503" in by_url[server.url("stuk")].messages[0]

                    # Read once: the same page again is skipped.
                    second = await _run_schedule_once(client, schedule, 1)
                    essen = next(r for r in second.results if r.url == server.url("essen"))
                    assert essen.outcome == "already-read"
                    # The page changes (the list of today's session is published): read again.
                    shifted = fixture_bytes(ESSEN).replace(
                        b"2023-11-28", today.isoformat().encode()
                    )
                    server.pages["essen"] = shifted
                    third = await _run_schedule_once(client, schedule, 2)
                    essen = next(r for r in third.results if r.url == server.url("essen"))
                    assert essen.outcome == "recorded", essen.messages
                    assert server.hits["essen"] == 3
                    # Each run's history replays on the current workflow code.
                    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter_for_tests())
                    for run_id in _HARVEST_RUNS:
                        history = await client.get_workflow_handle(run_id).fetch_history()
                        await replayer.replay_workflow(history)
                finally:
                    await harvest.turn_off(client)
            status = await wait_for(handle, lambda s: _party(s, "essen").decision is not None)
            essen_decision = _party(status, "essen").decision
            besluit = next(
                d
                for d in read_publication(shifted, "essen").decisions
                if ESSEN_ITEM in (d.title or "")
            )
            assert essen_decision.reference == besluit.besluit_uri
            assert essen_decision.outcome is Outcome.APPROVE
            notes = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE key LIKE '%:lblod:%' AND 'coordinator' = "
                "ANY(recipients)"
            )
            assert notes == 1
            assert await conn.fetchval("SELECT count(*) FROM lblod_readings") == 2
    finally:
        await conn.close()
