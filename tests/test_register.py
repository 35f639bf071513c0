"""The register: seed contents, repository functions, CSV import and the `register` CLI,
all against a real, freshly migrated PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cli.exit_codes import ExitCode
from db.connect import connect
from db.register import (
    CooperationNotFound,
    UnknownAuthorities,
    get_authority,
    get_cooperation,
    list_authorities,
    list_cooperations,
    set_cooperation_status,
    upsert_cooperations,
)
from register.csv_import import parse_fiches
from register.importer import apply_edits
from register.models import ChangeAction, ChangeOrigin, Outcome, RowStatus
from register.planner import ParsedEdits
from register.problems import ChangeRefused as CsvImportError
from schemas.common import AuthorityKind, CooperationKind, CooperationStatus
from schemas.register import FICHE_FIELDS, CooperationFiche
from starter import build_parser

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
MUNICIPALITIES = {
    "roeselare", "izegem", "tielt", "ardooie", "hooglede", "ingelmunster", "ledegem",
    "lichtervelde", "meulebeke", "moorslede", "oostrozebeke", "pittem", "ruiselede", "staden",
    "wielsbeke", "wingene",
}  # fmt: skip
HEADER = ",".join((*FICHE_FIELDS, "members"))
EMPTY_FICHE = "," * (len(FICHE_FIELDS) - 3)  # the optional fiche cells, all empty


def row(id_: str, name: str = "Naam", kind: str = "shared-service", members: str = "") -> str:
    return f"{id_},{name},{kind}{EMPTY_FICHE},{members}"


def with_field(field: str, value: str, id_: str = "nieuwe-fiche") -> str:
    cells = {name: "" for name in (*FICHE_FIELDS, "members")}
    cells.update(id=id_, name="Naam", kind="shared-service")
    cells[field] = value
    return ",".join(cells.values())


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    connection = await connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


async def import_fiches(conn: asyncpg.Connection[asyncpg.Record], parsed: ParsedEdits) -> Outcome:
    origin = ChangeOrigin(action=ChangeAction.IMPORT, recorded_by="test", source=parsed.source)
    return await apply_edits(conn, parsed, origin)


def ids(outcome: Outcome, status: RowStatus) -> list[str]:
    return sorted(row.id for row in outcome.rows if row.status is status)


async def snapshot(conn: asyncpg.Connection[asyncpg.Record]) -> tuple[list[Any], list[Any]]:
    """Everything an import could touch, to prove a refused import wrote nothing."""
    cooperations = await conn.fetch("SELECT * FROM cooperations ORDER BY id")
    members = await conn.fetch("SELECT * FROM cooperation_members ORDER BY 1, 2")
    return [tuple(r) for r in cooperations], [tuple(r) for r in members]


# --- seed -----------------------------------------------------------------------------------


async def test_seed_authorities(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    authorities = {a.id: a for a in await list_authorities(conn)}
    municipalities = {a.id for a in authorities.values() if a.kind is AuthorityKind.MUNICIPALITY}
    assert municipalities == MUNICIPALITIES
    assert all(
        authorities[m].is_midwest_member and authorities[m].votes == 1 for m in MUNICIPALITIES
    )

    wvi = authorities["wvi"]
    assert (wvi.kind, wvi.is_midwest_member) == (AuthorityKind.INTERCOMMUNALE, True)
    province = authorities["provincie-west-vlaanderen"]
    assert (province.kind, province.is_midwest_member) == (AuthorityKind.PROVINCE, False)
    assert authorities["dvv-midwest-rvb"].kind is AuthorityKind.DVV_BODY
    assert authorities["dvv-midwest-av"].kind is AuthorityKind.DVV_BODY
    assert authorities["vdab"].kind is AuthorityKind.EXTERNAL_PARTNER
    members = {a.id for a in authorities.values() if a.is_midwest_member}
    assert members == MUNICIPALITIES | {"wvi"}  # 16 local governments and WVI
    assert await get_authority(conn, "roeselare") == authorities["roeselare"]
    assert await get_authority(conn, "atlantis") is None


async def test_seed_cooperations(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    cooperations = {c.id: c for c in await list_cooperations(conn)}
    assert {i: c.kind for i, c in cooperations.items()} == {
        "wijk-werken": CooperationKind.REGIONAL_ROLE,
        "regierol-sociale-economie": CooperationKind.REGIONAL_ROLE,
        "regionaal-sportoverleg": CooperationKind.INFORMAL_OVERLEG,
        "sport-midwest": CooperationKind.INFORMAL_OVERLEG,
        "intergemeentelijk-archiefteam": CooperationKind.SHARED_SERVICE,
        "projectvereniging-bie": CooperationKind.PROJECTVERENIGING,
    }
    wijk_werken = cooperations["wijk-werken"]
    assert wijk_werken.status is CooperationStatus.INTEGRATED
    assert wijk_werken.integrated_on == date(2018, 1, 1)
    assert set(wijk_werken.members) == MUNICIPALITIES
    assert cooperations["regionaal-sportoverleg"].status is CooperationStatus.DISSOLVED
    assert cooperations["regionaal-sportoverleg"].municipality_count == 10
    # Kept active on purpose so demonstration trajectories can run on them.
    assert cooperations["projectvereniging-bie"].status is CooperationStatus.ACTIVE
    assert cooperations["intergemeentelijk-archiefteam"].status is CooperationStatus.ACTIVE
    active = await list_cooperations(conn, status=CooperationStatus.ACTIVE)
    assert {c.id for c in active} == {"projectvereniging-bie", "intergemeentelijk-archiefteam"}


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("cooperations", "kind", [k.value for k in CooperationKind]),
        ("cooperations", "status", [s.value for s in CooperationStatus]),
        ("authorities", "kind", [k.value for k in AuthorityKind]),
    ],
)
async def test_database_checks_match_the_python_enums(
    conn: asyncpg.Connection[asyncpg.Record], table: str, column: str, values: list[str]
) -> None:
    row_id = "projectvereniging-bie" if table == "cooperations" else "roeselare"
    for value in values:
        await conn.execute(f"UPDATE {table} SET {column} = $1 WHERE id = $2", value, row_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(f"UPDATE {table} SET {column} = 'nonsense' WHERE id = $1", row_id)


# --- repository -----------------------------------------------------------------------------


def fiche(id_: str, **fields: Any) -> CooperationFiche:
    return CooperationFiche.model_validate(
        {"id": id_, "name": "Testfiche", "kind": "interlokale-vereniging", **fields}
    )


async def test_upsert_inserts_updates_and_keeps_status(
    conn: asyncpg.Connection[asyncpg.Record],
) -> None:
    before = await get_cooperation(conn, "wijk-werken")
    assert before is not None
    result = await upsert_cooperations(
        conn,
        [
            fiche("nieuw", members=["roeselare", "wvi"], staff_count=3),
            fiche("wijk-werken", kind="regional-role", name="Wijk-werken Midwest"),
        ],
    )
    assert (result.inserted, result.updated) == (["nieuw"], ["wijk-werken"])

    new = await get_cooperation(conn, "nieuw")
    assert new is not None
    assert (new.members, new.staff_count, new.status) == (("roeselare", "wvi"), 3, "active")
    after = await get_cooperation(conn, "wijk-werken")
    assert after is not None
    assert after.name == "Wijk-werken Midwest"
    assert after.members == before.members  # members not given: left as they were
    assert (after.status, after.integrated_on) == (before.status, before.integrated_on)
    assert after.remarks is None  # a fiche replaces every fiche field
    assert after.updated_at > before.updated_at

    await upsert_cooperations(conn, [fiche("nieuw", members=[])])
    emptied = await get_cooperation(conn, "nieuw")
    assert emptied is not None and emptied.members == ()


async def test_upsert_is_one_transaction(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    before = await snapshot(conn)
    with pytest.raises(UnknownAuthorities, match="atlantis"):
        await upsert_cooperations(
            conn, [fiche("eerste"), fiche("tweede", members=["roeselare", "atlantis"])]
        )
    with pytest.raises(ValueError, match="given twice: dubbel"):
        await upsert_cooperations(conn, [fiche("dubbel"), fiche("dubbel")])
    assert await snapshot(conn) == before


async def test_set_cooperation_status(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    bie = await set_cooperation_status(
        conn, "projectvereniging-bie", CooperationStatus.IN_TRAJECTORY
    )
    assert bie.status is CooperationStatus.IN_TRAJECTORY
    bie = await set_cooperation_status(
        conn, "projectvereniging-bie", CooperationStatus.INTEGRATED, date(2027, 1, 1)
    )
    assert (bie.status, bie.integrated_on) == (CooperationStatus.INTEGRATED, date(2027, 1, 1))
    # Leaving "integrated" (an abort compensating) clears the date.
    bie = await set_cooperation_status(conn, "projectvereniging-bie", CooperationStatus.ACTIVE)
    assert (bie.status, bie.integrated_on) == (CooperationStatus.ACTIVE, None)

    with pytest.raises(ValueError, match="only be given with status 'integrated'"):
        await set_cooperation_status(
            conn, "projectvereniging-bie", CooperationStatus.ACTIVE, date(2027, 1, 1)
        )
    with pytest.raises(CooperationNotFound, match="atlantis"):
        await set_cooperation_status(conn, "atlantis", CooperationStatus.ACTIVE)
    assert await get_cooperation(conn, "atlantis") is None


# --- CSV import -----------------------------------------------------------------------------


async def test_good_file_is_imported(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    parsed = parse_fiches(DATA / "fiches_good.csv", source="fiches_good.csv")
    assert parsed.problems == []
    result = await import_fiches(conn, parsed)
    assert ids(result, RowStatus.NEW) == ["ilv-preventie", "regionaal-archief-overleg"]
    assert ids(result, RowStatus.CHANGED) == ["projectvereniging-bie"]

    ilv = await get_cooperation(conn, "ilv-preventie")
    assert ilv is not None
    assert ilv.members == ("hooglede", "izegem", "roeselare")
    assert ilv.founding_date == date(2014, 3, 1)
    assert (ilv.municipality_count, ilv.staff_count) == (3, 2)
    assert ilv.remarks == "Voorbeeldfiche voor tests.\nTweede regel van de opmerkingen."
    bie = await get_cooperation(conn, "projectvereniging-bie")
    assert bie is not None
    assert bie.remarks == "Bijgewerkt door de CSV-import."
    assert bie.status is CooperationStatus.ACTIVE
    overleg = await get_cooperation(conn, "regionaal-archief-overleg")
    assert overleg is not None and (overleg.staff_count, overleg.remarks) == (0, None)


async def test_bom_and_semicolons_as_excel_writes_them(
    conn: asyncpg.Connection[asyncpg.Record], tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    text = f"{HEADER}\r\n{row('excel-fiche', members='roeselare')}\r\n".replace(",", ";")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = await import_fiches(conn, parse_fiches(path, delimiter=";"))
    assert ids(result, RowStatus.NEW) == ["excel-fiche"]


async def test_every_bad_row_is_reported_and_nothing_written(
    conn: asyncpg.Connection[asyncpg.Record],
) -> None:
    before = await snapshot(conn)
    parsed = parse_fiches(DATA / "fiches_bad_rows.csv", source="bad.csv")
    with pytest.raises(CsvImportError) as caught:
        await import_fiches(conn, parsed)
    lines = [str(p) for p in caught.value.problems]
    assert [line.split(": ")[0:2] for line in lines] == [
        ["bad.csv:2", "column id"],
        ["bad.csv:4", "column kind"],
        ["bad.csv:5", "column municipality_count"],
        # Line 6 holds 31/12/2017: a Belgian date, read as 31 December 2017.
        ["bad.csv:7", "column members"],
        ["bad.csv:8", "column id"],
    ]
    assert "'atlantis'" in lines[3]
    assert "duplicate id 'goede-fiche' (first on line 3)" in lines[4]
    assert await snapshot(conn) == before


BAD_ROWS = [
    pytest.param(row("Fiche_1"), "column id", "must be a register id", id="bad-id"),
    pytest.param(row("fiche", kind="vzw"), "column kind", "(got 'vzw')", id="unknown-kind"),
    pytest.param(
        with_field("staff_count", "-2"), "column staff_count", "greater than or equal to 0",
        id="negative-count",
    ),
    pytest.param(
        with_field("municipality_count", "drie"), "column municipality_count", "valid integer",
        id="not-a-number",
    ),
    pytest.param(
        with_field("founding_date", "22/12/17"), "column founding_date", "ambiguous",
        id="two-digit-year",
    ),
    pytest.param(
        with_field("founding_date", "12/31/2017"), "column founding_date", "day/month/year",
        id="month-first-date",
    ),
    pytest.param(
        with_field("founding_date", "2017"), "column founding_date", "is not a date",
        id="not-a-date",
    ),
    pytest.param(
        with_field("founding_date", "2017-02-30"), "column founding_date", "not a calendar date",
        id="impossible-date",
    ),
    pytest.param(
        with_field("founding_date", "2999-01-01"), "column founding_date", "between",
        id="future-date",
    ),
    pytest.param(
        row("fiche", members="roeselare;atlantis"), "column members", "unknown authority id",
        id="unknown-member",
    ),
    pytest.param(
        row("fiche", members="roeselare;roeselare"), "column members", "listed twice",
        id="member-twice",
    ),
    pytest.param(
        f"{row('fiche')}\n{row('fiche')}", "column id", "duplicate id 'fiche' (first on line 3)",
        id="duplicate-id",
    ),
    pytest.param(row("fiche") + ",extra", "column 20", "extra value", id="too-many-columns"),
    pytest.param(row("fiche")[:-1], "column members", "missing", id="too-few-columns"),
    pytest.param(
        with_field("remarks", "bel\x07letter"), "column remarks", "control characters",
        id="control-character",
    ),
    pytest.param(
        with_field("name", ""), "column name", "required for a new fiche", id="empty-name",
    ),
    pytest.param(
        with_field("seat", "x" * 201), "column seat", "at most 200 characters", id="too-long",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "where", "message"), BAD_ROWS)
async def test_bad_row_is_refused_with_line_and_column(
    conn: asyncpg.Connection[asyncpg.Record],
    tmp_path: Path,
    rows: str,
    where: str,
    message: str,
) -> None:
    path = tmp_path / "fiches.csv"
    path.write_text(f"{HEADER}\n{row('goede-fiche')}\n{rows}\n", encoding="utf-8")
    before = await snapshot(conn)
    with pytest.raises(CsvImportError) as caught:
        await import_fiches(conn, parse_fiches(path, source="fiches.csv"))
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 1, problems
    line = 4 if "duplicate" in message else 3
    assert problems[0].startswith(f"fiches.csv:{line}: {where}: "), problems
    assert message in problems[0], problems
    assert await snapshot(conn) == before


CAFE = "Caf\u00e9"
UNCLOSED = '"Onaf'
AFTER_QUOTE = '"Naam" en meer'
BAD_FILES = [
    pytest.param(b"", "fiches.csv: empty file", id="empty-file"),
    pytest.param(b"\n  \n", "fiches.csv: empty file", id="blank-file"),
    pytest.param(HEADER.encode() + b"\n", "fiches.csv: no rows after the header", id="header-only"),
    pytest.param(
        f"{HEADER}\n{row('caf', name=CAFE)}\n".encode("latin-1"),
        "fiches.csv:2: not UTF-8 (byte 0xe9)",
        id="bad-encoding",
    ),
    pytest.param(
        f"{HEADER.replace(',kind', '')}\n".encode(),
        "fiches.csv:1: column kind: required column missing from the header",
        id="missing-header",
    ),
    pytest.param(
        f"{HEADER},colour\n".encode(),
        "fiches.csv:1: column colour: unknown column",
        id="unknown-header",
    ),
    pytest.param(
        f"{HEADER},name\n".encode(),
        "fiches.csv:1: column name: column appears twice",
        id="duplicate-header",
    ),
    pytest.param(
        f'{HEADER}\n{row("huge", name="x")[:-1]}"{"y" * 200_000}"\n'.encode(),
        "fiches.csv:2: malformed CSV: a field is longer than",
        id="huge-field",
    ),
    pytest.param(
        f"{HEADER}\n{row('quote', name=UNCLOSED)}\n".encode(),
        "fiches.csv:2: malformed CSV:",
        id="unclosed-quote",
    ),
    pytest.param(
        f"{HEADER}\n{row('quote', name=AFTER_QUOTE)}\n".encode(),
        "fiches.csv:2: malformed CSV:",
        id="text-after-quote",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("content", "expected"), BAD_FILES)
async def test_malformed_file_is_refused(
    conn: asyncpg.Connection[asyncpg.Record], tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "fiches.csv"
    path.write_bytes(content)
    before = await snapshot(conn)
    with pytest.raises(CsvImportError) as caught:
        await import_fiches(conn, parse_fiches(path, source="fiches.csv"))
    assert str(caught.value.problems[0]).startswith(expected), caught.value.problems
    assert await snapshot(conn) == before


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match=r"missing\.csv: cannot read"):
        parse_fiches(tmp_path / "missing.csv", source="missing.csv")


# --- command line ---------------------------------------------------------------------------


def starter(url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "starter.py"), *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def run_starter(url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(starter, url, *args)


async def test_cli_list(database_url: str) -> None:
    table = await run_starter(database_url, "register", "list")
    assert table.returncode == ExitCode.OK, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "KIND", "STATUS", "MEMBERS", "NAME"]
    assert len(lines) == 7
    assert any(line.startswith("wijk-werken ") and "integrated" in line for line in lines)

    as_json = await run_starter(database_url, "register", "list", "--json", "--status", "active")
    assert as_json.returncode == ExitCode.OK, as_json.stderr
    assert sorted(c["id"] for c in json.loads(as_json.stdout)) == [
        "intergemeentelijk-archiefteam",
        "projectvereniging-bie",
    ]


async def test_cli_show(database_url: str) -> None:
    shown = await run_starter(database_url, "register", "show", "wijk-werken")
    assert shown.returncode == ExitCode.OK, shown.stderr
    fields = dict(line.split(": ", 1) for line in shown.stdout.splitlines() if ": " in line)
    assert set(FICHE_FIELDS) <= set(fields)
    assert fields["kind"] == "regional-role"
    assert fields["integrated_on"] == "2018-01-01"
    assert fields["legal_form"] == "-"

    as_json = await run_starter(database_url, "register", "show", "wijk-werken", "--json")
    assert json.loads(as_json.stdout)["partners"] == "VDAB"

    missing = await run_starter(database_url, "register", "show", "atlantis")
    assert missing.returncode == ExitCode.NOT_FOUND
    assert missing.stdout == ""
    assert len(missing.stderr.splitlines()) == 1 and "atlantis" in missing.stderr

    bad = await run_starter(database_url, "register", "show", "Not_An_Id")
    assert bad.returncode == ExitCode.INVALID_INPUT
    assert len(bad.stderr.splitlines()) == 1


async def test_cli_import(database_url: str) -> None:
    good = await run_starter(database_url, "register", "import", DATA / "fiches_good.csv")
    assert good.returncode == ExitCode.OK, good.stderr
    summary, recorded = good.stdout.strip().splitlines()[-2:]
    assert summary.endswith("imported 3 fiche(s): 2 new, 1 changed, 0 unchanged")
    assert recorded == "recorded as change 1; undo it with `starter.py register undo 1`"

    again = await run_starter(database_url, "register", "import", DATA / "fiches_good.csv")
    assert (
        again.stdout.strip()
        .splitlines()[-2]
        .endswith("imported 3 fiche(s): 0 new, 0 changed, 3 unchanged")
    )

    bad_file = DATA / "fiches_bad_rows.csv"
    bad = await run_starter(database_url, "register", "import", bad_file)
    assert bad.returncode == ExitCode.INVALID_INPUT
    assert bad.stdout == ""
    errors = bad.stderr.splitlines()
    assert len(errors) == 6
    assert errors[0].startswith(f"{bad_file}:2: column id: ")
    assert errors[-1] == f"{bad_file}: 5 problem(s); nothing was imported"

    listed = await run_starter(database_url, "register", "list", "--json")
    assert "goede-fiche" not in {c["id"] for c in json.loads(listed.stdout)}


async def test_cli_authorities(database_url: str) -> None:
    result = await run_starter(database_url, "register", "authorities", "--json")
    assert result.returncode == ExitCode.OK, result.stderr
    assert len(json.loads(result.stdout)) == 22


@pytest.mark.parametrize("command", [["list"], ["show", "wijk-werken"], ["authorities"]])
def test_cli_unreachable_database(command: list[str]) -> None:
    result = starter("postgresql://postgres@127.0.0.1:1/x", "register", *command)
    assert result.returncode == ExitCode.UNAVAILABLE
    assert result.stdout == ""
    assert result.stderr.strip().endswith(
        "start the local stack with `make stack` or fix DATABASE_URL"
    )
    assert len(result.stderr.splitlines()) == 1


async def test_cli_unmigrated_database(postgres_admin_url: str) -> None:
    result = await run_starter(postgres_admin_url, "register", "list")
    assert result.returncode == ExitCode.UNAVAILABLE
    assert "python -m db.migrate" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["import"],
        ["list"],
        ["show"],
        ["authorities"],
        ["authority"],
        ["authority", "add"],
        ["authority", "set"],
        ["authority", "import"],
        ["authority", "remove"],
        ["remove"],
        ["changes"],
        ["undo"],
    ],
)
def test_cli_help_has_an_example(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # argparse answers --help itself, before any handler, database or setting is touched, so
    # the parser is asked in this process (the commands' own tests run starter.py).
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["register", *command, "--help"])
    assert exited.value.code == ExitCode.OK
    shown = capsys.readouterr().out
    assert "example" in shown
    assert "starter.py register" in shown
