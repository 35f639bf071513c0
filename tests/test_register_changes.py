"""Register changes as people make them: files as Excel exports them, empty cells that keep,
the clear marker, dry runs, the change log and undo, live-trajectory protection, authorities
and removal. All against a real, freshly migrated PostgreSQL database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import pytest

from db.connect import connect
from db.register import get_authority, get_change, get_cooperation, list_changes
from register.belgian_dates import parse_date
from register.csv_import import parse_authorities, parse_fiches
from register.entities import AUTHORITIES, COOPERATIONS
from register.importer import apply_edits, remove
from register.models import ChangeAction, ChangeOrigin, Outcome, RowStatus
from register.planner import ParsedEdits
from register.problems import ChangeRefused, ProblemKind
from register.undo import undo_change
from schemas.register import FICHE_FIELDS

Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record]"

ENGLISH = [*FICHE_FIELDS, "members"]
DUTCH = [
    "ID", "Naam", "Soort", "Aanspreekpunt", "Domein", "Kernopdracht",
    "Type samenwerkingsverband", "Interorganisatorische vorm", "Juridische vorm",
    "Inhoudelijke partners", "Financiering", "Initiatiefnemer", "Oprichtingsdatum",
    "Aantal gemeenten", "Werkingsgebied", "Zétel", "Aantal tewerkgestelde personeelsleden",
    "Bijkomende informatie", "Leden",
]  # fmt: skip
AUTHORITY_DUTCH = ["id", "Naam", "Soort", "Lid van Midwest", "Stemmen", "Website"]


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    connection = await connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


def csv_bytes(
    header: Sequence[str],
    rows: Sequence[dict[str, str]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    line_end: str = "\n",
) -> bytes:
    """A file as Excel writes it: cells quoted where they hold the delimiter or a newline."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def fiche_row(id_: str, **cells: str) -> dict[str, str]:
    """English and Dutch headers alike: cells keyed by position in ENGLISH."""
    return {"id": id_, **cells}


def dutch(row: dict[str, str]) -> dict[str, str]:
    return {DUTCH[ENGLISH.index(field)]: value for field, value in row.items()}


def write(tmp_path: Path, content: bytes, name: str = "fiches.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def origin(action: ChangeAction = ChangeAction.IMPORT, by: str = "an.peeters") -> ChangeOrigin:
    return ChangeOrigin(action=action, recorded_by=by, source="fiches.csv")


def removal_by_an(entity_id: str) -> ChangeOrigin:
    return ChangeOrigin(
        action=ChangeAction.REMOVE, recorded_by="an.peeters", source=f"register remove {entity_id}"
    )


async def do_import(conn: Conn, parsed: ParsedEdits, *, dry_run: bool = False) -> Outcome:
    return await apply_edits(conn, parsed, origin(), dry_run=dry_run)


async def refused(conn: Conn, parsed: ParsedEdits) -> ChangeRefused:
    with pytest.raises(ChangeRefused) as caught:
        await do_import(conn, parsed)
    return caught.value


TABLES = (
    "cooperations",
    "cooperation_members",
    "authorities",
    "register_changes",
    "register_change_rows",
    "register_change_fields",
)


async def everything(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a register change can touch, timestamps included."""
    return {
        table: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in TABLES
    }


async def register_values(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    """The register's values without the timestamps a write moves (updated_at)."""
    coops = await conn.fetch(
        f"SELECT {', '.join(FICHE_FIELDS)}, status, integrated_on FROM cooperations ORDER BY id"
    )
    members = await conn.fetch("SELECT * FROM cooperation_members ORDER BY 1, 2")
    authorities = await conn.fetch(
        f"SELECT {', '.join(AUTHORITIES.fields)} FROM authorities ORDER BY id"
    )
    return {
        "cooperations": [tuple(r) for r in coops],
        "members": [tuple(r) for r in members],
        "authorities": [tuple(r) for r in authorities],
    }


async def start_live_trajectory(
    conn: Conn,
    cooperation_id: str,
    *,
    phase: str = "council-round",
    finished: bool = False,
    participants: Sequence[str] = (),
) -> str:
    """A trajectories row as the journal activity writes it, without Temporal."""
    trajectory_id = f"inkanteling-{cooperation_id}/run-{phase}"
    status = {"participants": [{"authority_id": a, "name": a} for a in participants]}
    await conn.execute(
        """
        INSERT INTO trajectories (id, workflow_id, run_id, cooperation_id, cooperation_name,
            kind, phase, calendar_today, planned_av_date, effective_date, finished, status)
        SELECT $1, $2, $3, id, name, kind, $4, DATE '2027-01-10', DATE '2027-06-15',
            DATE '2028-01-01', $5, $6::jsonb
        FROM cooperations WHERE id = $7
        """,
        trajectory_id,
        f"inkanteling-{cooperation_id}",
        f"run-{phase}",
        phase,
        finished,
        json.dumps(status),
        cooperation_id,
    )
    return trajectory_id


# --- files as Excel writes them -------------------------------------------------------------


async def test_semicolon_file_with_bom_and_dutch_headers_from_excel(
    conn: Conn, tmp_path: Path
) -> None:
    rows = [
        dutch(
            fiche_row(
                "sportregio-midwest",
                name="Sportregio Midwest",
                kind="interlokale-vereniging",
                contact_point="Sportdienst Tielt",
                founding_date="1/01/2015",
                municipality_count="3",
                remarks="Tekst met ; puntkomma en\nnieuwe regel",
                members="tielt;pittem; ruiselede",
            )
        )
    ]
    path = write(tmp_path, csv_bytes(DUTCH, rows, delimiter=";", bom=True, line_end="\r\n"))
    parsed = parse_fiches(path)  # no delimiter given: found from the header
    assert parsed.problems == []
    assert parsed.columns["founding_date"] == "Oprichtingsdatum"
    outcome = await do_import(conn, parsed)
    assert [(r.id, r.status) for r in outcome.rows] == [("sportregio-midwest", RowStatus.NEW)]
    stored = await get_cooperation(conn, "sportregio-midwest")
    assert stored is not None
    assert stored.founding_date == date(2015, 1, 1)
    assert stored.contact_point == "Sportdienst Tielt"
    assert stored.remarks == "Tekst met ; puntkomma en\nnieuwe regel"
    assert stored.members == ("pittem", "ruiselede", "tielt")


@pytest.mark.parametrize(("delimiter", "sep_line"), [("\t", False), (";", True), (",", False)])
async def test_delimiter_is_found_and_line_numbers_stay_true(
    conn: Conn, tmp_path: Path, delimiter: str, sep_line: bool
) -> None:
    rows = [fiche_row("goed", name="Goed", kind="shared-service"), fiche_row("Slecht")]
    content = csv_bytes(ENGLISH, rows, delimiter=delimiter)
    if sep_line:
        content = f"sep={delimiter}\n".encode() + content
    parsed = parse_fiches(write(tmp_path, content), source="f.csv")
    first_data_line = 3 if sep_line else 2
    assert [row.id for row in parsed.rows] == ["goed"]
    assert [str(p).split(": ")[:2] for p in parsed.problems] == [
        [f"f.csv:{first_data_line + 1}", "column id"]
    ]


async def test_wrong_delimiter_says_so_and_hints_the_option(tmp_path: Path) -> None:
    content = csv_bytes(ENGLISH, [fiche_row("x", name="X", kind="shared-service")], delimiter=";")
    with pytest.raises(ChangeRefused) as caught:
        parse_fiches(write(tmp_path, content), delimiter=",", source="f.csv")
    assert [str(p) for p in caught.value.problems] == [
        "f.csv:1: the file looks separated by ';', not ',' (19 known columns that way); "
        "drop --delimiter ',' or pass --delimiter ';'"
    ]


async def test_a_header_of_one_unknown_column_hints_at_the_delimiter(tmp_path: Path) -> None:
    content = "|".join(ENGLISH).encode() + b"\nx|X|shared-service" + b"|" * 16 + b"\n"
    with pytest.raises(ChangeRefused) as caught:
        parse_fiches(write(tmp_path, content), source="f.csv")
    messages = [str(p) for p in caught.value.problems]
    assert any("one single column" in m and "--delimiter" in m for m in messages), messages


async def test_unknown_column_names_the_nearest_known_ones(tmp_path: Path) -> None:
    header = [name if name != "Oprichtingsdatum" else "Oprichtingdatum" for name in DUTCH]
    with pytest.raises(ChangeRefused) as caught:
        parse_fiches(write(tmp_path, csv_bytes(header, [])), source="f.csv")
    assert [str(p) for p in caught.value.problems] == [
        "f.csv:1: column Oprichtingdatum: unknown column; did you mean "
        "oprichtingsdatum (founding_date)?",
        "f.csv:1: column founding_date: required column missing from the header",
    ]


async def test_the_same_field_under_two_names_is_refused(tmp_path: Path) -> None:
    header = [*ENGLISH, "Naam"]
    with pytest.raises(ChangeRefused) as caught:
        parse_fiches(write(tmp_path, csv_bytes(header, [])), source="f.csv")
    assert [str(p) for p in caught.value.problems] == [
        "f.csv:1: column Naam: also named 'name' in the header (field name)"
    ]


@pytest.mark.parametrize(
    "text", ["1/01/2015", "01/01/2015", "1-1-2015", "01.01.2015", "2015-01-01", "1/01/2015 0:00"]
)
async def test_belgian_dates_are_read_day_first(conn: Conn, tmp_path: Path, text: str) -> None:
    rows = [fiche_row("datum", name="Datum", kind="shared-service", founding_date=text)]
    await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    stored = await get_cooperation(conn, "datum")
    assert stored is not None and stored.founding_date == date(2015, 1, 1)


def test_day_first_is_not_month_first() -> None:
    assert parse_date("3/04/2017") == date(2017, 4, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30/02/2017", "'30/02/2017' is not a calendar date (day 30 of month 2)"),
        ("12/31/2017", "has month 31; dates are day/month/year"),
        ("1/01/17", "ambiguous"),
        ("42005", "Excel day number"),
        ("1/01-2015", "is not a date"),
    ],
)
async def test_ambiguous_or_impossible_date_is_an_error_with_its_line(
    conn: Conn, tmp_path: Path, text: str, message: str
) -> None:
    rows = [
        fiche_row("goed", name="Goed", kind="shared-service"),
        fiche_row("datum", name="Datum", kind="shared-service", founding_date=text),
    ]
    before = await everything(conn)
    problems = (
        await refused(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows)), source="f.csv"))
    ).problems
    assert len(problems) == 1
    assert str(problems[0]).startswith("f.csv:3: column founding_date: ")
    assert message in problems[0].message
    assert await everything(conn) == before


# --- empty cells keep, '-' clears -----------------------------------------------------------


async def test_empty_cell_keeps_the_stored_value(conn: Conn, tmp_path: Path) -> None:
    before = await get_cooperation(conn, "wijk-werken")
    assert before is not None and before.partners == "VDAB" and len(before.members) == 16
    rows = [fiche_row("wijk-werken", seat="Roeselare")]  # every other cell empty
    outcome = await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    assert [(c.field, c.old, c.new) for c in outcome.rows[0].changes] == [
        ("seat", before.seat, "Roeselare")
    ]
    after = await get_cooperation(conn, "wijk-werken")
    assert after is not None
    assert after.model_dump(exclude={"seat", "updated_at"}) == before.model_dump(
        exclude={"seat", "updated_at"}
    )
    assert after.seat == "Roeselare"


async def test_the_clear_marker_empties_a_field_and_the_members(conn: Conn, tmp_path: Path) -> None:
    rows = [fiche_row("wijk-werken", partners="-", members=" - ")]
    outcome = await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    assert {c.field: c.new for c in outcome.rows[0].changes} == {"partners": None, "members": ()}
    after = await get_cooperation(conn, "wijk-werken")
    assert after is not None
    assert (after.partners, after.members, after.name) == (None, (), "Wijk-werken")


async def test_a_required_field_cannot_be_cleared(conn: Conn, tmp_path: Path) -> None:
    rows = [fiche_row("wijk-werken", name="-")]
    before = await everything(conn)
    problems = (
        await refused(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows)), source="f.csv"))
    ).problems
    assert [str(p) for p in problems] == [
        "f.csv:2: column name: cannot be cleared ('-'): every fiche needs one"
    ]
    assert await everything(conn) == before


async def test_a_new_fiche_with_an_empty_required_field_is_an_error(
    conn: Conn, tmp_path: Path
) -> None:
    rows = [
        fiche_row("wijk-werken", kind=""),  # known: empty keeps its kind
        fiche_row("nieuw", name="Nieuw", kind=""),  # new: needs one
    ]
    before = await everything(conn)
    problems = (
        await refused(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows)), source="f.csv"))
    ).problems
    assert [str(p) for p in problems] == [
        "f.csv:3: column kind: required for a new fiche ('nieuw' is not in the register yet); "
        "fill it in"
    ]
    assert await everything(conn) == before


# --- dry run --------------------------------------------------------------------------------


async def test_dry_run_shows_every_row_and_writes_nothing(conn: Conn, tmp_path: Path) -> None:
    rows = [
        fiche_row("nieuw", name="Nieuw", kind="shared-service", members="izegem"),
        fiche_row("wijk-werken", remarks="Nu met opmerking"),
        fiche_row("sport-midwest", domain="sport"),  # as stored
    ]
    stored = await get_cooperation(conn, "sport-midwest")
    assert stored is not None and stored.domain == "sport"
    wijk = await get_cooperation(conn, "wijk-werken")
    assert wijk is not None and wijk.remarks
    before = await everything(conn)
    outcome = await do_import(
        conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))), dry_run=True
    )
    assert (outcome.dry_run, outcome.change_id) == (True, None)
    assert [(r.line, r.id, r.status) for r in outcome.rows] == [
        (2, "nieuw", RowStatus.NEW),
        (3, "wijk-werken", RowStatus.CHANGED),
        (4, "sport-midwest", RowStatus.UNCHANGED),
    ]
    assert {c.field: (c.old, c.new) for c in outcome.rows[0].changes} == {
        "id": (None, "nieuw"),
        "name": (None, "Nieuw"),
        "kind": (None, "shared-service"),
        "members": (None, ("izegem",)),
    }
    assert [(c.field, c.old, c.new) for c in outcome.rows[1].changes] == [
        ("remarks", wijk.remarks, "Nu met opmerking")
    ]
    assert outcome.rows[2].changes == ()
    assert await everything(conn) == before


# --- the change log and undo ----------------------------------------------------------------


async def test_import_is_recorded_and_undo_restores_exactly(conn: Conn, tmp_path: Path) -> None:
    before = await register_values(conn)
    rows = [
        fiche_row("wijk-werken", legal_form="geen", staff_count="4", members="roeselare;izegem"),
        fiche_row("nieuw", name="Nieuw", kind="regional-role", founding_date="22/12/2017"),
    ]
    path = write(tmp_path, csv_bytes(ENGLISH, rows), name="export.csv")
    outcome = await apply_edits(
        conn,
        parse_fiches(path),
        ChangeOrigin(action=ChangeAction.IMPORT, recorded_by="an.peeters", source="export.csv"),
    )
    assert outcome.change_id is not None
    change = await get_change(conn, outcome.change_id)
    assert change is not None
    assert (change.action, change.recorded_by, change.source) == (
        ChangeAction.IMPORT,
        "an.peeters",
        "export.csv",
    )
    assert [(r.entity_id, r.status, r.line) for r in change.rows] == [
        ("wijk-werken", RowStatus.CHANGED, 2),
        ("nieuw", RowStatus.NEW, 3),
    ]
    wijk = {c.field: (c.old, c.new) for c in change.rows[0].changes}
    assert wijk["legal_form"] == (None, "geen")
    assert wijk["staff_count"] == (None, 4)
    old_members, new_members = wijk["members"]
    assert isinstance(old_members, tuple) and len(old_members) == 16
    assert new_members == ("izegem", "roeselare")
    assert {c.field: c.new for c in change.rows[1].changes}["founding_date"] == date(2017, 12, 22)
    assert await register_values(conn) != before

    undo = await undo_change(conn, outcome.change_id, "jan.claes")
    assert await register_values(conn) == before
    assert [(r.id, r.status) for r in undo.rows] == [
        ("wijk-werken", RowStatus.CHANGED),
        ("nieuw", RowStatus.REMOVED),
    ]
    summaries = {c.id: c for c in await list_changes(conn)}
    assert summaries[outcome.change_id].undone_by == undo.change_id
    assert undo.change_id is not None
    assert summaries[undo.change_id].undoes == outcome.change_id
    assert summaries[undo.change_id].recorded_by == "jan.claes"


async def test_undo_is_refused_after_a_later_change_to_the_same_fiche(
    conn: Conn, tmp_path: Path
) -> None:
    first = await do_import(
        conn,
        parse_fiches(write(tmp_path, csv_bytes(ENGLISH, [fiche_row("wijk-werken", seat="A")]))),
    )
    second = await do_import(
        conn,
        parse_fiches(write(tmp_path, csv_bytes(ENGLISH, [fiche_row("wijk-werken", area="B")]))),
    )
    assert first.change_id is not None and second.change_id is not None
    before = await everything(conn)
    with pytest.raises(ChangeRefused) as caught:
        await undo_change(conn, first.change_id, "jan")
    assert caught.value.kind is ProblemKind.CONFLICT
    assert f"change {second.change_id} (import by an.peeters" in str(caught.value)
    assert f"undo change {second.change_id} first" in str(caught.value)
    assert await everything(conn) == before

    # Newest first: then the first one may go too, back to the seed.
    await undo_change(conn, second.change_id, "jan")
    await undo_change(conn, first.change_id, "jan")
    stored = await get_cooperation(conn, "wijk-werken")
    assert stored is not None and (stored.seat, stored.area) == (None, None)


async def test_undo_is_refused_after_an_edit_outside_the_log(conn: Conn, tmp_path: Path) -> None:
    rows = [fiche_row("wijk-werken", seat="A")]
    done = await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    assert done.change_id is not None
    await conn.execute("UPDATE cooperations SET seat = 'B' WHERE id = 'wijk-werken'")
    before = await everything(conn)
    with pytest.raises(ChangeRefused) as caught:
        await undo_change(conn, done.change_id, "jan")
    assert "seat is now 'B', not 'A'" in str(caught.value)
    assert await everything(conn) == before


async def test_undo_twice_an_undo_and_an_unknown_change_are_refused(
    conn: Conn, tmp_path: Path
) -> None:
    rows = [fiche_row("wijk-werken", seat="A")]
    done = await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    assert done.change_id is not None
    undone = await undo_change(conn, done.change_id, "jan")
    assert undone.change_id is not None
    before = await everything(conn)
    expectations = [
        (done.change_id, ProblemKind.CONFLICT, f"already undone by change {undone.change_id}"),
        (undone.change_id, ProblemKind.INVALID, "is itself the undo of change"),
        (999, ProblemKind.NOT_FOUND, "no change 999"),
    ]
    for change_id, kind, message in expectations:
        with pytest.raises(ChangeRefused) as caught:
            await undo_change(conn, change_id, "jan")
        assert caught.value.kind is kind
        assert message in str(caught.value)
    assert await everything(conn) == before


async def test_the_change_log_is_append_only(conn: Conn, tmp_path: Path) -> None:
    rows = [fiche_row("wijk-werken", seat="A")]
    await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await conn.execute("UPDATE register_change_fields SET new_value = '\"B\"'")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await conn.execute("DELETE FROM register_changes")


# --- live trajectories ----------------------------------------------------------------------


async def test_a_live_trajectory_keeps_kind_and_members_but_not_other_fields(
    conn: Conn, tmp_path: Path
) -> None:
    trajectory = await start_live_trajectory(conn, "intergemeentelijk-archiefteam")
    rows = [
        fiche_row(
            "intergemeentelijk-archiefteam",
            kind="interlokale-vereniging",
            members="roeselare;izegem",
            remarks="Nieuwe opmerking",
        )
    ]
    before = await everything(conn)
    error = await refused(
        conn,
        parse_fiches(write(tmp_path, csv_bytes(DUTCH, [dutch(r) for r in rows])), source="f.csv"),
    )
    assert error.kind is ProblemKind.CONFLICT
    assert [(p.line, p.column) for p in error.problems] == [(2, "Leden"), (2, "Soort")]
    assert all(trajectory in p.message and "council-round" in p.message for p in error.problems)
    assert await everything(conn) == before

    # The same row without kind and members: the other fields may change.
    allowed = [fiche_row("intergemeentelijk-archiefteam", remarks="Nieuwe opmerking")]
    await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, allowed))))
    stored = await get_cooperation(conn, "intergemeentelijk-archiefteam")
    assert stored is not None and stored.remarks == "Nieuwe opmerking"


@pytest.mark.parametrize(("phase", "finished"), [("aborted", True), ("integrated", False)])
async def test_a_finished_or_aborted_trajectory_no_longer_protects(
    conn: Conn, tmp_path: Path, phase: str, finished: bool
) -> None:
    await start_live_trajectory(
        conn, "intergemeentelijk-archiefteam", phase=phase, finished=finished
    )
    rows = [fiche_row("intergemeentelijk-archiefteam", kind="interlokale-vereniging")]
    await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    stored = await get_cooperation(conn, "intergemeentelijk-archiefteam")
    assert stored is not None and stored.kind == "interlokale-vereniging"


async def test_undo_cannot_change_members_under_a_live_trajectory(
    conn: Conn, tmp_path: Path
) -> None:
    rows = [fiche_row("intergemeentelijk-archiefteam", members="roeselare;izegem")]
    done = await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    assert done.change_id is not None
    await start_live_trajectory(conn, "intergemeentelijk-archiefteam", phase="preparation")
    before = await everything(conn)
    with pytest.raises(ChangeRefused) as caught:
        await undo_change(conn, done.change_id, "jan")
    assert caught.value.kind is ProblemKind.CONFLICT
    assert "while trajectory inkanteling-intergemeentelijk-archiefteam" in str(caught.value)
    assert await everything(conn) == before


# --- authorities ----------------------------------------------------------------------------


async def test_authorities_are_added_and_changed_by_import_and_undone(
    conn: Conn, tmp_path: Path
) -> None:
    before = await register_values(conn)
    rows = [
        {"id": "kortrijk", "Naam": "Kortrijk", "Soort": "municipality",
         "Lid van Midwest": "nee", "Stemmen": "0", "Website": "https://www.kortrijk.be"},
        {"id": "izegem", "Stemmen": "2"},
    ]  # fmt: skip
    path = write(tmp_path, csv_bytes(AUTHORITY_DUTCH, rows, delimiter=";", bom=True), "b.csv")
    dry = await do_import(conn, parse_authorities(path), dry_run=True)
    assert [(r.id, r.status) for r in dry.rows] == [
        ("kortrijk", RowStatus.NEW),
        ("izegem", RowStatus.CHANGED),
    ]
    assert await register_values(conn) == before

    done = await do_import(conn, parse_authorities(path))
    kortrijk = await get_authority(conn, "kortrijk")
    assert kortrijk is not None
    assert (kortrijk.is_midwest_member, kortrijk.votes, kortrijk.kind) == (
        False,
        0,
        "municipality",
    )
    izegem = await get_authority(conn, "izegem")
    assert izegem is not None and (izegem.votes, izegem.name) == (2, "Izegem")

    assert done.change_id is not None
    await undo_change(conn, done.change_id, "jan")
    assert await register_values(conn) == before


async def test_a_new_authority_must_state_membership_and_votes(conn: Conn, tmp_path: Path) -> None:
    rows = [
        {
            "id": "kortrijk",
            "Naam": "Kortrijk",
            "Soort": "municipality",
            "Lid van Midwest": "misschien",
        }
    ]
    path = write(tmp_path, csv_bytes(AUTHORITY_DUTCH, rows), "b.csv")
    error = await refused(conn, parse_authorities(path, source="b.csv"))
    assert [str(p) for p in error.problems] == [
        "b.csv:2: column Lid van Midwest: must be ja or nee (yes or no) (got 'misschien')"
    ]
    rows[0]["Lid van Midwest"] = "WAAR"
    error = await refused(
        conn,
        parse_authorities(
            write(tmp_path, csv_bytes(AUTHORITY_DUTCH, rows), "b.csv"), source="b.csv"
        ),
    )
    assert [str(p) for p in error.problems] == [
        "b.csv:2: column Stemmen: required for a new authority ('kortrijk' is not in the "
        "register yet); fill it in"
    ]


# --- removal --------------------------------------------------------------------------------


async def add_authority(conn: Conn, tmp_path: Path, authority_id: str) -> None:
    rows = [{"id": authority_id, "Naam": "Extern", "Soort": "municipality",
             "Lid van Midwest": "nee", "Stemmen": "0"}]  # fmt: skip
    await do_import(conn, parse_authorities(write(tmp_path, csv_bytes(AUTHORITY_DUTCH, rows))))


async def test_an_authority_nothing_refers_to_is_removed_and_undo_restores_it(
    conn: Conn, tmp_path: Path
) -> None:
    await add_authority(conn, tmp_path, "kortrijk")
    before = await register_values(conn)
    removal = await remove(conn, AUTHORITIES, "kortrijk", removal_by_an("kortrijk"))
    assert await get_authority(conn, "kortrijk") is None
    assert removal.change_id is not None
    change = await get_change(conn, removal.change_id)
    assert change is not None and change.rows[0].status is RowStatus.REMOVED
    assert {c.field: c.old for c in change.rows[0].changes}["name"] == "Extern"
    await undo_change(conn, removal.change_id, "jan")
    assert await register_values(conn) == before


async def test_removing_a_referenced_authority_is_refused_naming_what_refers_to_it(
    conn: Conn, tmp_path: Path
) -> None:
    await add_authority(conn, tmp_path, "kortrijk")
    rows = [fiche_row("intergemeentelijk-archiefteam", members="roeselare;kortrijk")]
    await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    trajectory = await start_live_trajectory(
        conn, "intergemeentelijk-archiefteam", participants=["roeselare", "kortrijk"]
    )
    await conn.execute(
        "INSERT INTO decisions (trajectory_id, step_id, authority_id, round_number, outcome, "
        "session_date, reference, recorded_by, event_seq) "
        "VALUES ($1, 'council-round', 'kortrijk', 1, 'approve', DATE '2027-01-05', 'r', 't', 1)",
        trajectory,
    )
    before = await everything(conn)
    with pytest.raises(ChangeRefused) as caught:
        await remove(conn, AUTHORITIES, "kortrijk", removal_by_an("kortrijk"))
    assert caught.value.kind is ProblemKind.CONFLICT
    message = str(caught.value)
    assert "member of cooperations intergemeentelijk-archiefteam" in message
    assert f"party to trajectories {trajectory}" in message
    assert f"decisions in trajectories {trajectory}" in message
    assert await everything(conn) == before


async def test_undoing_the_addition_of_an_authority_now_referred_to_is_refused(
    conn: Conn, tmp_path: Path
) -> None:
    rows = [{"id": "kortrijk", "Naam": "Kortrijk", "Soort": "municipality",
             "Lid van Midwest": "nee", "Stemmen": "0"}]  # fmt: skip
    added = await do_import(
        conn, parse_authorities(write(tmp_path, csv_bytes(AUTHORITY_DUTCH, rows)))
    )
    fiche = [fiche_row("intergemeentelijk-archiefteam", members="kortrijk")]
    await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, fiche))))
    assert added.change_id is not None
    with pytest.raises(ChangeRefused, match="member of cooperations intergemeentelijk-archiefteam"):
        await undo_change(conn, added.change_id, "jan")
    assert await get_authority(conn, "kortrijk") is not None


async def test_a_fiche_is_removed_with_its_members_and_comes_back_on_undo(
    conn: Conn, tmp_path: Path
) -> None:
    rows = [fiche_row("dubbel", name="Dubbel", kind="shared-service", members="izegem;tielt")]
    await do_import(conn, parse_fiches(write(tmp_path, csv_bytes(ENGLISH, rows))))
    before = await register_values(conn)
    removal = await remove(conn, COOPERATIONS, "dubbel", removal_by_an("dubbel"))
    assert await get_cooperation(conn, "dubbel") is None
    assert removal.change_id is not None
    await undo_change(conn, removal.change_id, "jan")
    assert await register_values(conn) == before


async def test_removing_an_integrated_fiche_and_undoing_keeps_its_status(conn: Conn) -> None:
    before = await register_values(conn)
    wijk = await get_cooperation(conn, "wijk-werken")
    assert wijk is not None and wijk.status == "integrated" and len(wijk.members) == 16
    removal = await remove(conn, COOPERATIONS, "wijk-werken", removal_by_an("wijk-werken"))
    assert removal.change_id is not None
    assert await register_values(conn) != before
    await undo_change(conn, removal.change_id, "jan")
    assert await register_values(conn) == before  # status and integration date included


async def test_a_fiche_with_a_trajectory_cannot_be_removed(conn: Conn) -> None:
    trajectory = await start_live_trajectory(
        conn, "projectvereniging-bie", phase="integrated", finished=True
    )
    before = await everything(conn)
    with pytest.raises(ChangeRefused) as caught:
        await remove(
            conn, COOPERATIONS, "projectvereniging-bie", removal_by_an("projectvereniging-bie")
        )
    assert str(caught.value) == (
        "register remove projectvereniging-bie: fiche 'projectvereniging-bie' cannot be "
        f"removed, it is still referred to: trajectories {trajectory}"
    )
    with pytest.raises(ChangeRefused) as missing:
        await remove(conn, COOPERATIONS, "atlantis", removal_by_an("atlantis"))
    assert missing.value.kind is ProblemKind.NOT_FOUND
    assert await everything(conn) == before
