"""The register's facts from migration 0007 and what keeps them true: DVV Midwest's founding
date, the seeded members and ends, how an end is recorded (and refused), the host of a shared
service, `register show`, and the ids suggested for an unknown one. Against a real, freshly
migrated PostgreSQL database; every expected value is checked by hand against the account in
shared/seed."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import pytest

from cli.exit_codes import ExitCode
from db.connect import connect
from db.migrate import MIGRATIONS_DIR, apply_migrations
from db.register import (
    CooperationEndRefused,
    CooperationNotFound,
    get_association,
    get_authority,
    get_cooperation,
    get_cooperation_end,
    list_cooperations,
    record_dissolution,
    record_not_integrated,
    set_cooperation_status,
    upsert_cooperations,
)
from register.csv_import import parse_authorities, parse_fiches
from register.describe import association_lines, cooperation_lines
from register.entities import AUTHORITIES, COOPERATIONS
from register.importer import apply_edits, remove
from register.models import ChangeAction, ChangeOrigin
from register.planner import EditMode, ParsedEdits
from register.problems import ChangeRefused, ProblemKind
from register.suggest import did_you_mean, suggest, unknown_id_message
from register.undo import undo_change
from schemas.common import CooperationStatus
from schemas.register import FICHE_FIELDS, CooperationEnd, CooperationFiche, EndReason
from tests.support.members import MUNICIPALITIES

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record]"

ROOT = Path(__file__).resolve().parent.parent
SPORTOVERLEG = "regionaal-sportoverleg"
ARCHIEFTEAM = "intergemeentelijk-archiefteam"
BIE = "projectvereniging-bie"


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    connection = await connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


async def cooperations_table(conn: Conn) -> list[tuple[Any, ...]]:
    """Every stored value of every cooperation, timestamps included: a refused change must
    leave all of it as it was."""
    return [tuple(r) for r in await conn.fetch("SELECT * FROM cooperations ORDER BY id")]


def by(name: str) -> ChangeOrigin:
    return ChangeOrigin(action=ChangeAction.IMPORT, recorded_by=name, source="fiches.csv")


def fiches_file(tmp_path: Path, *rows: dict[str, str], host: str = "host") -> ParsedEdits:
    """A fiche file with every column (the host column named `host`); empty cells keep."""
    header = [*FICHE_FIELDS, "members", host]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get("host" if name == host else name, "") for name in header])
    path = tmp_path / "fiches.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return parse_fiches(path, source="fiches.csv")


def authorities_file(tmp_path: Path, line: str) -> ParsedEdits:
    path = tmp_path / "besturen.csv"
    path.write_text(f"{','.join(AUTHORITIES.fields)}\n{line}\n", encoding="utf-8")
    return parse_authorities(path, source="besturen.csv")


def fields(lines: list[str]) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in lines)


# --- what migration 0007 seeds ----------------------------------------------------------------


async def test_dvv_midwest_founded_on_22_december_2017_by_16_besturen_and_wvi(
    conn: Conn,
) -> None:
    # "... de oprichting van DVV Midwest op 22 december 2017. In DVV Midwest participeren 16
    # lokale besturen en WVI." (account, 1.1)
    association = await get_association(conn)
    assert association is not None
    assert (association.id, association.name) == ("dvv-midwest", "DVV Midwest")
    assert association.founded_on == date(2017, 12, 22)
    assert association.legal_form == "dienstverlenende vereniging"
    assert set(association.members) == set(MUNICIPALITIES) | {"wvi"}
    assert len(association.members) == 17
    assert "provincie-west-vlaanderen" not in association.members  # a protocol, no membership
    assert await get_association(conn, "dvv-westhoek") is None


async def test_seeded_members_ends_and_hosts(conn: Conn) -> None:
    cooperations = {c.id: c for c in await list_cooperations(conn)}
    # Members only where the account names them: "De 16 Midwest-besturen" (wijk-werken) and
    # "Sport Midwest in 2019 met de 16 besturen"; nobody else is named.
    assert {i: set(c.members) for i, c in cooperations.items()} == {
        "wijk-werken": set(MUNICIPALITIES),
        "sport-midwest": set(MUNICIPALITIES),
        "regierol-sociale-economie": set(),
        SPORTOVERLEG: set(),
        ARCHIEFTEAM: set(),
        BIE: set(),
    }
    # "Het Regionaal Sportoverleg is in 2020 officieel ontbonden.": the year, no day.
    assert cooperations[SPORTOVERLEG].end == CooperationEnd(
        cooperation_id=SPORTOVERLEG,
        status=CooperationStatus.DISSOLVED,
        reason=None,
        year=2020,
        on=None,
        note=cooperations[SPORTOVERLEG].end_note,
    )
    assert "in 2020 officieel ontbonden" in (cooperations[SPORTOVERLEG].end_note or "")
    assert await get_cooperation_end(conn, SPORTOVERLEG) == cooperations[SPORTOVERLEG].end
    assert {i for i, c in cooperations.items() if c.end is not None} == {SPORTOVERLEG}
    # The trekkende gemeente of the archiefteam is not named: no host rather than a guess.
    assert {c.host for c in cooperations.values()} == {None}


async def test_migration_leaves_a_row_people_changed_since_the_seed(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    name = f"inkanteling_f_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_admin_url.rpartition('/')[0]}/{name}"
    try:
        directory = tmp_path / "migrations"
        directory.mkdir()
        for path in sorted(MIGRATIONS_DIR.glob("000[1-6]_*.sql")):
            shutil.copy(path, directory)
        await apply_migrations(url, directory=directory)
        conn = await connect(url)
        try:
            # Someone found the Sportoverleg was integrated after all, before 0007 came.
            await conn.execute(
                "UPDATE cooperations SET status = 'active' WHERE id = $1", SPORTOVERLEG
            )
            shutil.copy(next(MIGRATIONS_DIR.glob("0007_*.sql")), directory)
            assert await apply_migrations(url, directory=directory) == ["0007"]
            row = await conn.fetchrow(
                "SELECT status, ended_year, end_note FROM cooperations WHERE id = $1",
                SPORTOVERLEG,
            )
            assert tuple(row or ()) == ("active", None, None)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


CHECKS = [
    ("end facts on an active row", "status = 'active', ended_year = 2020", "end_only_when_ended"),
    (
        "a reason for a dissolution",
        "status = 'dissolved', end_reason = 'ended'",
        "reason_only_when_not_integrated",
    ),
    (
        "a day outside the end year",
        "status = 'dissolved', ended_year = 2020, ended_on = DATE '2019-12-31'",
        "end_day_in_end_year",
    ),
    (
        "a day without a year",
        "status = 'dissolved', ended_on = DATE '2020-05-01'",
        "end_day_in_end_year",
    ),
    (
        "an end before the founding",
        "status = 'dissolved', founding_date = DATE '2015-06-01', ended_year = 2014",
        "not_ended_before_founded",
    ),
    (
        "an end day before the founding day",
        "status = 'dissolved', founding_date = DATE '2015-06-01', ended_year = 2015, "
        "ended_on = DATE '2015-05-31'",
        "not_ended_before_founded",
    ),
    ("a host for a projectvereniging", "host = 'roeselare'", "host_only_for_shared_service"),
    ("an unknown reason", "status = 'not-integrated', end_reason = 'merged'", "end_reason_check"),
]


async def test_database_refuses_end_facts_that_cannot_be_true(conn: Conn) -> None:
    # For writers that bypass the models (psql): each constraint named in the refusal.
    for what, assignments, constraint in CHECKS:
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            await conn.execute(f"UPDATE cooperations SET {assignments} WHERE id = $1", BIE)
        assert caught.value.constraint_name == f"cooperations_{constraint}", what
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await conn.execute("UPDATE cooperations SET host = 'atlantis' WHERE id = $1", ARCHIEFTEAM)
    # A year alone, in the founding year, is possible: the day may come after the founding.
    await conn.execute(
        "UPDATE cooperations SET status = 'dissolved', founding_date = DATE '2015-06-01', "
        "ended_year = 2015 WHERE id = $1",
        BIE,
    )


# --- recording an end ---------------------------------------------------------------------------


async def test_record_dissolution_on_a_day_and_in_a_year(conn: Conn) -> None:
    bie = await record_dissolution(conn, BIE, date(2020, 12, 1), note="  Ontbonden na WVV.  ")
    assert (bie.status, bie.ended_year, bie.ended_on) == (
        CooperationStatus.DISSOLVED,
        2020,
        date(2020, 12, 1),
    )
    assert bie.end_note == "Ontbonden na WVV."
    assert bie.end is not None and bie.end.text() == "was dissolved on 2020-12-01"

    archief = await record_dissolution(conn, ARCHIEFTEAM, 2021)
    end = await get_cooperation_end(conn, ARCHIEFTEAM)
    assert end == archief.end
    assert end is not None and (end.year, end.on, end.note) == (2021, None, None)
    assert end.text() == "was dissolved in 2021 (the day is not known)"


async def test_record_not_integrated_with_its_reason(conn: Conn) -> None:
    outside = await record_not_integrated(conn, BIE, EndReason.CONTINUED_OUTSIDE_REGION)
    assert (outside.status, outside.end_reason) == (
        CooperationStatus.NOT_INTEGRATED,
        EndReason.CONTINUED_OUTSIDE_REGION,
    )
    assert outside.end is not None
    assert outside.end.text() == (
        "was not integrated: it continued outside the region, on a date that is not known"
    )
    ended = await record_not_integrated(conn, ARCHIEFTEAM, EndReason.ENDED, date(2019, 6, 30))
    assert ended.end is not None
    assert ended.end.text() == "was not integrated: it was ended (opgeheven), on 2019-06-30"


async def test_the_same_end_again_changes_nothing(conn: Conn) -> None:
    first = await record_dissolution(conn, BIE, date(2020, 12, 1))
    before = await cooperations_table(conn)
    again = await record_dissolution(conn, BIE, date(2020, 12, 1))
    assert again == first
    assert await cooperations_table(conn) == before  # updated_at included


async def test_impossible_ends_are_refused_and_change_nothing(conn: Conn) -> None:
    await upsert_cooperations(
        conn,
        [
            CooperationFiche(
                id="ilv-jeugd", name="ILV jeugd", kind="interlokale-vereniging",
                founding_date=date(2015, 6, 1),
            )
        ],
    )  # fmt: skip
    before = await cooperations_table(conn)
    refusals = [
        (
            record_dissolution(conn, SPORTOVERLEG, 2021),
            "'regionaal-sportoverleg' already was dissolved in 2020 (the day is not known)",
        ),
        (
            record_not_integrated(conn, SPORTOVERLEG, EndReason.ENDED),
            "already was dissolved in 2020",
        ),
        (
            record_dissolution(conn, "wijk-werken", date(2020, 1, 1)),
            "'wijk-werken' was integrated into DVV Midwest on 2018-01-01",
        ),
        (
            record_dissolution(conn, "ilv-jeugd", date(2015, 5, 31)),
            "'ilv-jeugd' was founded on 2015-06-01; it cannot have ended on 2015-05-31",
        ),
        (
            record_not_integrated(conn, "ilv-jeugd", EndReason.ENDED, 2014),
            "cannot have ended in 2014",
        ),
    ]
    for call, message in refusals:
        with pytest.raises(CooperationEndRefused) as caught:
            await call
        assert message in str(caught.value)
    with pytest.raises(CooperationNotFound, match="atlantis"):
        await record_dissolution(conn, "atlantis", 2020)
    bad_values: list[Any] = [True, datetime(2020, 1, 1, 12), 1799, 10_000, "2020"]
    for on in bad_values:
        with pytest.raises(ValueError, match="the end"):
            await record_dissolution(conn, BIE, on)
    with pytest.raises(ValueError, match="reason must be an EndReason"):
        await record_not_integrated(conn, BIE, "ended")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="note: contains control characters"):
        await record_dissolution(conn, BIE, 2020, note="bel\x07")
    assert await cooperations_table(conn) == before

    # The founding year itself, with no day, may be the year it ended.
    ended = await record_dissolution(conn, "ilv-jeugd", 2015)
    assert ended.ended_year == 2015


async def test_two_ends_at_once_only_one_is_recorded(database_url: str) -> None:
    connections = [await connect(database_url) for _ in range(2)]
    try:
        results = await asyncio.gather(
            record_dissolution(connections[0], BIE, date(2020, 12, 1)),
            record_not_integrated(connections[1], BIE, EndReason.ENDED, 2021),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, CooperationEndRefused)]
        assert len(refused) == 1, results
        end = await get_cooperation_end(connections[0], BIE)
        winner = next(r for r in results if not isinstance(r, BaseException))
        assert end is not None and end == winner.end
    finally:
        for connection in connections:
            await connection.close()


async def test_an_ended_cooperation_does_not_become_active_again(conn: Conn) -> None:
    with pytest.raises(ValueError, match="record_dissolution or record_not_integrated"):
        await set_cooperation_status(conn, BIE, CooperationStatus.DISSOLVED)
    before = await cooperations_table(conn)
    with pytest.raises(CooperationEndRefused, match="cannot become active again"):
        await set_cooperation_status(conn, SPORTOVERLEG, CooperationStatus.ACTIVE)
    await record_not_integrated(conn, ARCHIEFTEAM, EndReason.ENDED, 2019)
    with pytest.raises(CooperationEndRefused, match="cannot become in-trajectory again"):
        await set_cooperation_status(conn, ARCHIEFTEAM, CooperationStatus.IN_TRAJECTORY)
    archief = await get_cooperation(conn, ARCHIEFTEAM)
    assert archief is not None and archief.ended_year == 2019
    assert [r for r in await cooperations_table(conn) if r[0] == SPORTOVERLEG] == [
        r for r in before if r[0] == SPORTOVERLEG
    ]

    # One that continued outside the region still exists: a new trajectory may take it up.
    await record_not_integrated(conn, BIE, EndReason.CONTINUED_OUTSIDE_REGION, 2019)
    bie = await set_cooperation_status(conn, BIE, CooperationStatus.IN_TRAJECTORY)
    assert (bie.status, bie.end, bie.end_reason, bie.ended_year) == (
        CooperationStatus.IN_TRAJECTORY,
        None,
        None,
        None,
    )


async def test_removal_and_undo_bring_the_end_back(conn: Conn) -> None:
    origin = ChangeOrigin(
        action=ChangeAction.REMOVE, recorded_by="an.peeters", source="register remove"
    )
    before = await get_cooperation(conn, SPORTOVERLEG)
    outcome = await remove(conn, COOPERATIONS, SPORTOVERLEG, origin)
    assert await get_cooperation(conn, SPORTOVERLEG) is None
    assert outcome.change_id is not None
    await undo_change(conn, outcome.change_id, "an.peeters")
    after = await get_cooperation(conn, SPORTOVERLEG)
    assert after is not None and before is not None
    assert after.end == before.end
    assert (after.ended_year, after.end_note) == (2020, before.end_note)


async def test_founding_date_after_the_end_is_refused(conn: Conn, tmp_path: Path) -> None:
    before = await cooperations_table(conn)
    parsed = fiches_file(tmp_path, {"id": SPORTOVERLEG, "founding_date": "1/01/2021"})
    with pytest.raises(ChangeRefused) as caught:
        await apply_edits(conn, parsed, by("an.peeters"))
    [problem] = caught.value.problems
    assert problem.kind is ProblemKind.CONFLICT
    assert str(problem) == (
        "fiches.csv:2: column founding_date: 2021-01-01 lies after the end of "
        "'regionaal-sportoverleg' (it ended in 2020); a cooperation is founded before it ends"
    )
    assert await cooperations_table(conn) == before
    fine = fiches_file(tmp_path, {"id": SPORTOVERLEG, "founding_date": "1/06/2020"})
    await apply_edits(conn, fine, by("an.peeters"))
    stored = await get_cooperation(conn, SPORTOVERLEG)
    assert stored is not None and stored.founding_date == date(2020, 6, 1)


# --- the host of a shared service ---------------------------------------------------------------


async def test_host_is_imported_shown_and_undone(conn: Conn, tmp_path: Path) -> None:
    # The Dutch heading of the account: "trekkende gemeente".
    parsed = fiches_file(
        tmp_path, {"id": ARCHIEFTEAM, "host": "roeselare"}, host="Trekkende gemeente"
    )
    outcome = await apply_edits(conn, parsed, by("an.peeters"))
    [row] = outcome.rows
    assert [(c.field, c.old, c.new) for c in row.changes] == [("host", None, "roeselare")]
    archief = await get_cooperation(conn, ARCHIEFTEAM)
    assert archief is not None and archief.host == "roeselare"
    shown = fields(cooperation_lines(archief, await get_authority(conn, "roeselare")))
    assert (shown["host"], shown["host_name"]) == ("roeselare", "Roeselare")

    assert outcome.change_id is not None
    await undo_change(conn, outcome.change_id, "an.peeters")
    undone = await get_cooperation(conn, ARCHIEFTEAM)
    assert undone is not None and undone.host is None
    shown = fields(cooperation_lines(undone))
    assert shown["host"] == "-"
    assert shown["host_name"] == "- (the register does not know the trekkende gemeente)"


async def test_wrong_hosts_are_refused(conn: Conn, tmp_path: Path) -> None:
    before = await cooperations_table(conn)
    cases = [
        ({"id": ARCHIEFTEAM, "host": "roeselaere"},
            "unknown authority id 'roeselaere'; did you mean roeselare?"),
        ({"id": ARCHIEFTEAM, "host": "wvi"},
            "'wvi' is not a municipality (kind intercommunale); the host of a shared service"),
        ({"id": BIE, "host": "roeselare"},
            "host: only a shared service has a host (trekkende gemeente); "
            "'projectvereniging-bie' is of kind projectvereniging"),
        ({"id": "nieuw-team", "name": "Nieuw team", "kind": "regional-role", "host": "izegem"},
            "'nieuw-team' is of kind regional-role"),
    ]  # fmt: skip
    for row, message in cases:
        with pytest.raises(ChangeRefused) as caught:
            await apply_edits(conn, fiches_file(tmp_path, row), by("an.peeters"))
        assert message in str(caught.value), row
    assert await cooperations_table(conn) == before
    # A file without the column leaves every host alone: exports made before it still read.
    path = tmp_path / "old-export.csv"
    path.write_text(f"{','.join(FICHE_FIELDS)}\n{ARCHIEFTEAM}{',' * (len(FICHE_FIELDS) - 1)}\n")
    assert parse_fiches(path).problems == []


async def test_an_authority_that_hosts_a_service_is_not_removed(conn: Conn, tmp_path: Path) -> None:
    kortrijk = authorities_file(tmp_path, "kortrijk,Kortrijk,municipality,nee,0,")
    await apply_edits(conn, kortrijk, by("an.peeters"), mode=EditMode.CREATE)
    hosted = fiches_file(tmp_path, {"id": ARCHIEFTEAM, "host": "kortrijk"})
    await apply_edits(conn, hosted, by("an.peeters"))
    origin = ChangeOrigin(action=ChangeAction.REMOVE, recorded_by="an", source="remove kortrijk")
    with pytest.raises(ChangeRefused) as caught:
        await remove(conn, AUTHORITIES, "kortrijk", origin)
    assert "host of shared services intergemeentelijk-archiefteam" in str(caught.value)
    assert await get_authority(conn, "kortrijk") is not None


# --- register show ------------------------------------------------------------------------------


async def test_show_lines_of_a_dissolved_cooperation_and_of_dvv_midwest(conn: Conn) -> None:
    overleg = await get_cooperation(conn, SPORTOVERLEG)
    assert overleg is not None
    shown = fields(cooperation_lines(overleg))
    assert {k: shown[k] for k in ("status", "end_reason", "ended_year", "ended_on", "members")} == {
        "status": "dissolved",
        "end_reason": "-",
        "ended_year": "2020",
        "ended_on": "-",
        "members": "-",
    }
    assert shown["end"] == "was dissolved in 2020 (the day is not known)"
    assert shown["end_note"].startswith("Het Regionaal Sportoverleg is in 2020 officieel")
    assert "host_name" not in shown  # not a shared service

    wijk = await get_cooperation(conn, "wijk-werken")
    assert wijk is not None
    wijk_shown = fields(cooperation_lines(wijk))
    assert set(wijk_shown["members"].split(", ")) == set(MUNICIPALITIES)
    assert "end" not in wijk_shown and wijk_shown["integrated_on"] == "2018-01-01"

    association = await get_association(conn)
    assert association is not None
    midwest = fields(association_lines(association))
    assert (midwest["founded_on"], midwest["member_count"]) == ("2017-12-22", "17")
    assert midwest["legal_form"] == "dienstverlenende vereniging"


async def test_cli_show_suggests_and_shows_dvv_midwest(database_url: str) -> None:
    def starter(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "starter.py"), "register", "show", *args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    typo, midwest = await asyncio.gather(
        asyncio.to_thread(starter, "bie"), asyncio.to_thread(starter, "dvv-midwest")
    )
    assert (typo.returncode, typo.stdout) == (ExitCode.NOT_FOUND, "")
    assert typo.stderr == "unknown cooperation 'bie'; did you mean projectvereniging-bie?\n"
    assert midwest.returncode == ExitCode.OK, midwest.stderr
    assert "founded_on: 2017-12-22" in midwest.stdout.splitlines()


# --- suggestions --------------------------------------------------------------------------------

COOPERATION_IDS = [
    "wijk-werken", "regierol-sociale-economie", SPORTOVERLEG, "sport-midwest", ARCHIEFTEAM, BIE,
]  # fmt: skip
AUTHORITY_IDS = [
    *MUNICIPALITIES, "wvi", "provincie-west-vlaanderen", "dvv-midwest-rvb", "dvv-midwest-av",
    "vdab",
]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "known", "expected"),
    [
        ("bie", COOPERATION_IDS, [BIE]),  # a part of the id
        ("BIE", COOPERATION_IDS, [BIE]),
        ("Wijk_Werken", COOPERATION_IDS, ["wijk-werken"]),  # case and separators
        ("wijkwerken", COOPERATION_IDS, ["wijk-werken"]),
        ("archief", COOPERATION_IDS, [ARCHIEFTEAM]),  # a piece of a part
        ("sport", COOPERATION_IDS, ["sport-midwest", SPORTOVERLEG]),  # part before piece
        ("roeselaere", AUTHORITY_IDS, ["roeselare"]),  # spelling, only the closest
        ("izegen", AUTHORITY_IDS, ["izegem"]),
        ("wvi-raad", AUTHORITY_IDS, ["wvi"]),  # holds a known id
        ("dvv", AUTHORITY_IDS, ["dvv-midwest-av", "dvv-midwest-rvb"]),
        ("atlantis", AUTHORITY_IDS, []),
        ("kortrijk", AUTHORITY_IDS, []),
        ("e", AUTHORITY_IDS, []),  # too short to be a piece
        ("--", AUTHORITY_IDS, []),
        ("roeselare", AUTHORITY_IDS, []),  # known: nothing to correct
    ],
)
def test_suggest(given: str, known: list[str], expected: list[str]) -> None:
    assert suggest(given, known) == expected


def test_suggestions_are_limited_and_worded() -> None:
    many = [f"ilv-{n}" for n in ("a1", "a2", "a3", "a4")]
    assert suggest("ilv", many) == many[:3]
    assert suggest("ilv", many, limit=1) == many[:1]
    assert did_you_mean(["a"]) == "did you mean a?"
    assert did_you_mean(["a", "b"]) == "did you mean a or b?"
    assert did_you_mean(["a", "b", "c"]) == "did you mean a, b or c?"
    with pytest.raises(ValueError):
        did_you_mean([])
    assert unknown_id_message("cooperation", "bie", COOPERATION_IDS, "hint") == (
        "unknown cooperation 'bie'; did you mean projectvereniging-bie?"
    )
    assert unknown_id_message("cooperation", "atlantis", COOPERATION_IDS, "see the list") == (
        "no cooperation 'atlantis' in the register; see the list"
    )


async def test_register_commands_suggest_the_id_meant(conn: Conn, tmp_path: Path) -> None:
    origin = ChangeOrigin(action=ChangeAction.REMOVE, recorded_by="an", source="register remove")
    with pytest.raises(ChangeRefused) as removal:
        await remove(conn, COOPERATIONS, "bie", origin)
    assert removal.value.kind is ProblemKind.NOT_FOUND
    assert [p.message for p in removal.value.problems] == [
        "unknown cooperation 'bie'; did you mean projectvereniging-bie?"
    ]
    with pytest.raises(ChangeRefused) as authority:
        await remove(conn, AUTHORITIES, "izegen", origin)
    assert authority.value.problems[0].message == (
        "unknown authority 'izegen'; did you mean izegem?"
    )

    votes = authorities_file(tmp_path, "roeselaere,,,,2,")
    with pytest.raises(ChangeRefused) as update:
        await apply_edits(conn, votes, by("an"), mode=EditMode.UPDATE)
    assert update.value.kind is ProblemKind.NOT_FOUND
    assert update.value.problems[0].message == (
        "unknown authority 'roeselaere'; did you mean roeselare?"
    )

    members = fiches_file(tmp_path, {"id": BIE, "members": "izegem;roeselaere;atlantis"})
    with pytest.raises(ChangeRefused) as caught:
        await apply_edits(conn, members, by("an"))
    assert [p.message for p in caught.value.problems] == [
        "unknown authority id 'roeselaere'; did you mean roeselare?",
        "unknown authority id 'atlantis'; `starter.py register authorities` lists them",
    ]
