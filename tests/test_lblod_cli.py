"""The LBLOD side of the register on the command line: bodies, publication addresses,
harvesting per authority, agenda-item patterns and the harvester's schedule; bad input gets
one line and its exit code, and changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

import starter
from db.lblod import get_patterns, set_patterns, set_source
from lblod import harvest
from tests.support.lblod import DATA, ESSEN, TORHOUT_COUNCIL


async def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = await asyncio.to_thread(starter.main, argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_register_bodies_sources_patterns(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO authorities (id, name, kind, is_midwest_member, votes) "
            "VALUES ('torhout', 'Torhout', 'external-partner', false, 0)"
        )
        assert (await _cli(["lblod", "body", "add", "torhout", TORHOUT_COUNCIL], capsys))[0] == 0
        # One URI names one body: another authority cannot claim it.
        code, _, err = await _cli(["lblod", "body", "add", "izegem", TORHOUT_COUNCIL], capsys)
        assert code == 7 and "already registered as a body of torhout" in err
        # Harvesting needs an address first.
        code, _, err = await _cli(["lblod", "harvest", "torhout", "on"], capsys)
        assert code == 3 and "no publication URL" in err
        url = "https://lblod.torhout.be/besluitenlijsten"
        assert (await _cli(["lblod", "source", "torhout", url], capsys))[0] == 0
        assert (await _cli(["lblod", "harvest", "torhout", "on"], capsys))[0] == 0
        code, out, _ = await _cli(["lblod", "bodies", "--json"], capsys)
        listed = json.loads(out)
        assert listed["bodies"] == [
            {"uri": TORHOUT_COUNCIL, "authority_id": "torhout", "label": None}
        ]
        assert listed["sources"] == [
            {"authority_id": "torhout", "publication_url": url, "harvest": True}
        ]
        # Clearing the address turns harvesting off with it.
        await set_source(conn, "torhout", None)
        assert await conn.fetchval("SELECT harvest FROM lblod_sources") is False

        # Patterns: the default, set, back to the default.
        code, out, _ = await _cli(["lblod", "pattern", "regionaal-sportoverleg", "--json"], capsys)
        assert json.loads(out) == {
            "cooperation_id": "regionaal-sportoverleg",
            "patterns": ["Regionaal Sportoverleg", "statutenwijziging DVV Midwest"],
            "default": True,
        }
        code, out, _ = await _cli(
            ["lblod", "pattern", "inkanteling-regionaal-sportoverleg", "--set", "sportregio"],
            capsys,
        )
        assert code == 0 and "(set): 'sportregio'" in out
        assert await conn.fetchval("SELECT patterns FROM lblod_patterns") == ["sportregio"]
        await set_patterns(conn, "regionaal-sportoverleg", None, "test")  # back to the default
        assert await get_patterns(conn, "regionaal-sportoverleg") is None
    finally:
        await conn.close()


async def test_bad_pages_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "groot.html"
    with big.open("wb") as file:
        file.truncate(50 * 1024 * 1024)
    code, out, err = await _cli(["lblod", "read", str(big)], capsys)
    assert (code, out) == (3, "") and "50.0 MB" in err and len(err.splitlines()) == 1
    broken = tmp_path / "kapot.html"
    broken.write_bytes(
        b'<html><body prefix="besluit: http://data.vlaanderen.be/ns/besluit#">'
        b'<div typeof="besluit:Stemming"></div></body></html>'
    )
    code, _, err = await _cli(["lblod", "read", str(broken)], capsys)
    assert code == 3 and "without a session" in err
    code, _, err = await _cli(["lblod", "read", str(tmp_path / "weg.html")], capsys)
    assert code == 6 and "no such file" in err


async def test_the_harvester_schedule_is_off_until_turned_on(
    dev_env: WorkflowEnvironment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    assert not await harvest.is_on(dev_env.client)
    code, out, _ = await _cli(["lblod", "harvester", "status"], capsys)
    assert (code, out.strip()) == (0, "harvester off")
    try:
        code, out, _ = await _cli(["lblod", "harvester", "on", "--hour", "7"], capsys)
        assert code == 0 and "daily at 07:00" in out
        description = await dev_env.client.get_schedule_handle(harvest.SCHEDULE_ID).describe()
        assert description.schedule.spec.calendars[0].hour[0].start == 7
        # On again updates it (no second schedule).
        assert (await _cli(["lblod", "harvester", "on", "--hour", "5"], capsys))[0] == 0
        description = await dev_env.client.get_schedule_handle(harvest.SCHEDULE_ID).describe()
        assert description.schedule.spec.calendars[0].hour[0].start == 5
    finally:
        code, out, _ = await _cli(["lblod", "harvester", "off"], capsys)
    assert (code, out.strip()) == (0, "harvester off")
    assert not await harvest.is_on(dev_env.client)


async def test_read_reports_what_a_council_page_lacks_against_the_shapes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    essen = str(DATA / ESSEN)
    code, out, _ = await _cli(
        ["lblod", "read", essen, "--check", "besluitenlijst", "--json"], capsys
    )
    read = json.loads(out)
    assert code == 0 and len(read["decisions"]) == 11  # read all the same
    assert read["shapes"]["conforms"] is False
    # Essen's Besluiten do not point back to their treatment.
    assert read["shapes"]["by_property"]["http://www.w3.org/ns/prov#wasGeneratedBy"] == 11
