"""`starter.py register ...`: import, list and show the fiches of the register."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel, TypeAdapter, ValidationError

from cli.common import add_command
from cli.exit_codes import ExitCode
from db.connect import DatabaseUnavailable, DbConnection, connect, database_url, unavailable
from db.register import get_cooperation, list_authorities, list_cooperations
from register.csv_import import CsvImportError, parse_fiches
from register.importer import import_fiches
from schemas.common import CooperationStatus, RegisterId
from schemas.register import FICHE_FIELDS, Cooperation
from settings import Settings

T = TypeVar("T")

_ID = TypeAdapter(RegisterId)

_GROUP_EPILOG = """\
examples:
  starter.py register import fiches.csv
  starter.py register list --status active
  starter.py register show projectvereniging-bie
  starter.py register authorities --json
"""

_IMPORT_EPILOG = """\
The header names the fiche fields (all required, any order):
  id, name, kind, contact_point, domain, core_task, cooperation_type,
  inter_organisational_form, legal_form, partners, financing, initiator,
  founding_date, municipality_count, area, seat, staff_count, remarks
and optionally `members`: authority ids separated by ';' (replaces the stored members).
Every row is checked first; if any row is wrong nothing is written and every problem is
reported as FILE:LINE: column COLUMN: message.

example:
  starter.py register import fiches.csv
  starter.py register import --delimiter ';' export-excel.csv
"""


def _err(message: str) -> None:
    print(message, file=sys.stderr)


@asynccontextmanager
async def _session(url: str) -> AsyncIterator[DbConnection]:
    conn = await connect(url)
    try:
        yield conn
    except (OSError, asyncpg.ConnectionDoesNotExistError) as exc:
        # The server went away after we connected: the same advice as at connect time.
        raise unavailable(url, exc) from exc
    finally:
        await conn.close()


def _run(settings: Settings, work: Callable[[DbConnection], Awaitable[T]]) -> T:
    url = database_url(settings)

    async def main() -> T:
        async with _session(url) as conn:
            return await work(conn)

    try:
        return asyncio.run(main())
    except asyncpg.UndefinedTableError:
        raise DatabaseUnavailable(
            "the database has no register tables yet; run `python -m db.migrate` "
            "(or start the local stack with `make stack`)"
        ) from None


def _json(value: Any) -> str:
    def plain(item: Any) -> Any:
        return item.model_dump(mode="json") if isinstance(item, BaseModel) else item

    data = [plain(v) for v in value] if isinstance(value, list) else plain(value)
    return json.dumps(data, ensure_ascii=False, indent=2)


def _cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    source = str(path)
    try:
        if len(args.delimiter) != 1:
            _err(f"--delimiter must be exactly one character (got {args.delimiter[:10]!r})")
            return ExitCode.INVALID_INPUT
        parsed = parse_fiches(path, delimiter=args.delimiter, source=source)

        async def work(conn: DbConnection) -> tuple[int, int]:
            result = await import_fiches(conn, parsed)
            return len(result.inserted), len(result.updated)

        inserted, updated = _run(settings, work)
    except CsvImportError as exc:
        for problem in exc.problems:
            _err(str(problem))
        _err(f"{source}: {len(exc.problems)} problem(s); nothing was imported")
        return ExitCode.INVALID_INPUT
    print(f"{source}: imported {inserted + updated} fiche(s): {inserted} new, {updated} updated")
    return ExitCode.OK


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    status = None if args.status is None else CooperationStatus(args.status)
    cooperations = _run(settings, lambda conn: list_cooperations(conn, status=status))
    if args.json:
        print(_json(cooperations))
        return ExitCode.OK
    rows = [(c.id, c.kind.value, c.status.value, str(len(c.members)), c.name) for c in cooperations]
    for text in _table(("ID", "KIND", "STATUS", "MEMBERS", "NAME"), rows):
        print(text)
    return ExitCode.OK


def _show_value(value: Any) -> str:
    if value is None or value == ():
        return "-"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    # Continuation lines indented so every field still starts at the left margin.
    return str(getattr(value, "value", value)).replace("\n", "\n    ")


def _fiche_lines(cooperation: Cooperation) -> list[str]:
    names = (*FICHE_FIELDS, "members", "status", "integrated_on", "updated_at")
    return [f"{name}: {_show_value(getattr(cooperation, name))}" for name in names]


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    try:
        cooperation_id = _ID.validate_python(args.id)
    except ValidationError as exc:
        shown = args.id if len(args.id) <= 80 else args.id[:80] + "…"
        _err(f"{shown!r} is not a register id: {exc.errors()[0]['msg']}")
        return ExitCode.INVALID_INPUT
    cooperation = _run(settings, lambda conn: get_cooperation(conn, cooperation_id))
    if cooperation is None:
        _err(
            f"no cooperation {cooperation_id!r} in the register; "
            "`starter.py register list` shows the ids"
        )
        return ExitCode.NOT_FOUND
    if args.json:
        print(_json(cooperation))
        return ExitCode.OK
    for text in _fiche_lines(cooperation):
        print(text)
    return ExitCode.OK


def _cmd_authorities(args: argparse.Namespace, settings: Settings) -> int:
    authorities = _run(settings, list_authorities)
    if args.json:
        print(_json(authorities))
        return ExitCode.OK
    rows = [
        (a.id, a.kind.value, "yes" if a.is_midwest_member else "no", str(a.votes), a.name)
        for a in authorities
    ]
    for text in _table(("ID", "KIND", "MEMBER", "VOTES", "NAME"), rows):
        print(text)
    return ExitCode.OK


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `register` group to the starter's command line."""
    group = subparsers.add_parser(
        "register",
        help="the register of cooperations (fiches) and authorities",
        description="Import, list and show the fiches of the register of cooperations.",
        epilog=_GROUP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    importer = add_command(
        commands, "import", "insert or update fiches from a CSV file", _IMPORT_EPILOG, _cmd_import
    )
    importer.add_argument("file", type=Path, metavar="FILE.csv", help="UTF-8 CSV file of fiches")
    importer.add_argument(
        "--delimiter", default=",", help="field separator (default ','; Excel in Belgium: ';')"
    )

    lister = add_command(
        commands,
        "list",
        "list the cooperations of the register",
        "examples:\n"
        "  starter.py register list\n"
        "  starter.py register list --status active --json\n",
        _cmd_list,
    )
    lister.add_argument(
        "--status", choices=[s.value for s in CooperationStatus], help="only this status"
    )
    lister.add_argument("--json", action="store_true", help="a JSON array instead of a table")

    shower = add_command(
        commands,
        "show",
        "show every fiche field of one cooperation",
        "example:\n  starter.py register show projectvereniging-bie\n",
        _cmd_show,
    )
    shower.add_argument("id", metavar="ID", help="register id of the cooperation")
    shower.add_argument("--json", action="store_true", help="a JSON object instead of lines")

    authorities = add_command(
        commands,
        "authorities",
        "list the authorities (councils, bodies, partners) that members refer to",
        "example:\n  starter.py register authorities\n",
        _cmd_authorities,
    )
    authorities.add_argument("--json", action="store_true", help="a JSON array instead of a table")
