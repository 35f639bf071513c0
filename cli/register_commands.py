"""`starter.py register ...`: import, list and show the fiches of the register, keep its
authorities, remove rows nothing refers to, and read or undo the recorded changes.

Every change goes through register/importer.py (one transaction, recorded) and every refusal
is a `ChangeRefused` whose kind gives the exit code: 3 invalid input, 4 not found, 7 conflict.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel, TypeAdapter, ValidationError

from cli.common import add_command, user_name
from cli.exit_codes import ExitCode
from db.connect import DatabaseUnavailable, DbConnection, connect, database_url, unavailable
from db.register import (
    association_ids,
    get_association,
    get_authority,
    get_change,
    get_cooperation,
    known_ids,
    list_authorities,
    list_changes,
    list_cooperations,
)
from register.columns import known_names
from register.csv_import import parse_authorities, parse_fiches
from register.describe import (
    association_lines,
    cooperation_lines,
    counts_text,
    detail_lines,
    outcome_lines,
    summary_lines,
    table,
)
from register.edits import CLEAR_MARKER, read_cells
from register.entities import AUTHORITIES, COOPERATIONS, Entity, EntitySpec
from register.importer import apply_edits, remove
from register.models import ChangeAction, ChangeOrigin, Outcome
from register.planner import EditMode, ParsedEdits
from register.problems import ChangeRefused, ProblemKind
from register.suggest import unknown_id_message
from register.undo import undo_change
from schemas.common import CooperationStatus, RegisterId, ShortText
from schemas.register import Association, Authority, Cooperation
from settings import Settings

T = TypeVar("T")

_ID = TypeAdapter(RegisterId)
_NAME = TypeAdapter(ShortText)

_GROUP_EPILOG = """\
examples:
  starter.py register import fiches.csv --dry-run
  starter.py register import fiches.csv
  starter.py register list --status active
  starter.py register show projectvereniging-bie
  starter.py register authorities --json
  starter.py register authority add kortrijk --name Kortrijk --kind municipality \\
      --member nee --votes 0
  starter.py register changes
  starter.py register undo 12
"""


def _column_lines(entity: Entity) -> str:
    return "\n".join(f"  {name}" for name in known_names(entity))


_FILE_RULES = f"""\
The delimiter (',' ';' or tab) and a UTF-8 byte-order mark are found by themselves;
--delimiter overrides. Column names in English or Dutch, any case, accents optional.
An empty cell keeps the stored value; a cell holding only '{CLEAR_MARKER}' empties the field.
Dates as 1/01/2015, 01.01.2015, 1-1-2015 or 2015-01-01 (day first). Every row is checked
first; if any row is wrong nothing is written and every problem is reported as
FILE:LINE: column COLUMN: message. The import is recorded: `register changes` lists it,
`register undo ID` undoes it. docs/register.md has the details.
"""

_IMPORT_EPILOG = f"""\
Columns, any order, every one required except members and host; the Dutch names work as well:
{_column_lines(Entity.COOPERATION)}
members: authority ids separated by ';' (they replace the stored members; '-' for none).
host: the municipality hosting a shared service (trekkende gemeente); '-' for none.
The kind and members of a cooperation in a live trajectory cannot change.
{_FILE_RULES}
examples:
  starter.py register import fiches.csv --dry-run
  starter.py register import export-excel.csv --by jan.peeters
  starter.py register import --delimiter ';' export-excel.csv
"""

_AUTHORITY_IMPORT_EPILOG = f"""\
Columns, any order, every one required; the Dutch names work as well:
{_column_lines(Entity.AUTHORITY)}
is_midwest_member: ja/nee (yes/no, WAAR/ONWAAR); votes: weight at the general assembly.
{_FILE_RULES}
example:
  starter.py register authority import besturen.csv --dry-run
"""

# The option that sets each authority field, for `authority add` and `authority set`.
_AUTHORITY_OPTIONS = {
    "name": "--name",
    "kind": "--kind",
    "is_midwest_member": "--member",
    "votes": "--votes",
    "website": "--website",
}


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
            "the database has no register tables yet (or not all of them); run "
            "`python -m db.migrate` (or start the local stack with `make stack`)"
        ) from None


def _json(value: Any) -> str:
    def plain(item: Any) -> Any:
        return item.model_dump(mode="json") if isinstance(item, BaseModel) else item

    data = [plain(v) for v in value] if isinstance(value, list) else plain(value)
    return json.dumps(data, ensure_ascii=False, indent=2)


_IMPORTED = "imported"
_CHANGED = "changed"

_EXIT_CODES = {
    ProblemKind.INVALID: ExitCode.INVALID_INPUT,
    ProblemKind.NOT_FOUND: ExitCode.NOT_FOUND,
    ProblemKind.CONFLICT: ExitCode.CONFLICT,
}


def _refused(exc: ChangeRefused, label: str, verb: str, *, options: bool = False) -> int:
    """Every problem on stderr (for options: `--option: message`), a last line saying that
    nothing was done, and the exit code of the refusal's kind."""
    for problem in exc.problems:
        if options and problem.line is None:
            _err(f"{problem.column}: {problem.message}" if problem.column else problem.message)
        else:
            _err(str(problem))
    _err(f"{label}: {len(exc.problems)} problem(s); nothing was {verb}")
    return _EXIT_CODES[exc.kind]


def _recorded_by(args: argparse.Namespace) -> str | None:
    """--by, else the login name; None (after saying why) when --by is not a short text."""
    by = user_name() if args.by is None else args.by
    try:
        return _NAME.validate_python(by)
    except ValidationError as exc:
        _err(f"--by: {str(exc.errors()[0]['msg']).removeprefix('Value error, ')}")
        return None


def _print_outcome(
    outcome: Outcome,
    label: str,
    verb: str,
    args: argparse.Namespace,
    *,
    in_file: bool = False,
    undoable: bool = True,
) -> None:
    """The rows (new, changed field from -> to, unchanged, removed) and a summary line; for a
    recorded change, its id and how to undo it."""
    if args.json:
        rows = {"rows": {"__all__": {"before", "after"}}}
        print(
            json.dumps(outcome.model_dump(mode="json", exclude=rows), ensure_ascii=False, indent=2)
        )
        return
    for line in outcome_lines(outcome, label if in_file else None):
        print(line)
    if outcome.dry_run:
        print(f"{label}: dry run: {counts_text(outcome)}; nothing was written")
        return
    print(f"{label}: {verb} {counts_text(outcome)}")
    if undoable:
        print(
            f"recorded as change {outcome.change_id}; undo it with "
            f"`starter.py register undo {outcome.change_id}`"
        )
    else:  # an undo is not undone in turn (register/undo.py)
        print(f"recorded as change {outcome.change_id}")


# --- import ----------------------------------------------------------------------------------


def _import_file(
    args: argparse.Namespace,
    settings: Settings,
    parse: Callable[..., ParsedEdits],
) -> int:
    path: Path = args.file
    source = str(path)
    # A tab is hard to type in a shell: the word and the escape mean it too.
    delimiter = "\t" if args.delimiter in ("tab", "\\t") else args.delimiter
    if delimiter is not None and len(delimiter) != 1:
        _err(f"--delimiter must be exactly one character, or 'tab' (got {args.delimiter[:10]!r})")
        return ExitCode.INVALID_INPUT
    by = _recorded_by(args)
    if by is None:
        return ExitCode.INVALID_INPUT
    origin = ChangeOrigin(action=ChangeAction.IMPORT, recorded_by=by, source=path.name)
    try:
        parsed = parse(path, delimiter=delimiter, source=source)
        outcome = _run(
            settings, lambda conn: apply_edits(conn, parsed, origin, dry_run=args.dry_run)
        )
    except ChangeRefused as exc:
        return _refused(exc, source, _IMPORTED)
    _print_outcome(outcome, source, _IMPORTED, args, in_file=True)
    return ExitCode.OK


def _cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    return _import_file(args, settings, parse_fiches)


def _cmd_authority_import(args: argparse.Namespace, settings: Settings) -> int:
    return _import_file(args, settings, parse_authorities)


# --- authority add / set ---------------------------------------------------------------------


def _authority_edits(args: argparse.Namespace) -> ParsedEdits | ChangeRefused:
    """The options as one row edit, validated exactly as a cell of an authorities file."""
    parsed = ParsedEdits(source="", spec=AUTHORITIES, columns={"id": "ID", **_AUTHORITY_OPTIONS})
    try:
        entity_id = _ID.validate_python(args.id)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        return ChangeRefused([parsed.problem(None, "id", message)])
    cells = {f: getattr(args, f) for f in _AUTHORITY_OPTIONS if getattr(args, f) is not None}
    blank = [f for f, text in cells.items() if not text.strip()]
    if blank:
        return ChangeRefused(
            [
                parsed.problem(None, f, f"is empty; to empty the field give '{CLEAR_MARKER}'")
                for f in blank
            ]
        )
    edit, problems = read_cells(AUTHORITIES, entity_id, None, cells)
    if edit is None:
        return ChangeRefused([parsed.problem(None, f, m) for f, m in problems.items()])
    parsed.rows.append(edit)
    return parsed


def _authority_change(args: argparse.Namespace, settings: Settings, mode: EditMode) -> int:
    command = f"register authority {'add' if mode is EditMode.CREATE else 'set'}"
    if mode is EditMode.UPDATE and all(getattr(args, f) is None for f in _AUTHORITY_OPTIONS):
        _err(f"give at least one of {', '.join(_AUTHORITY_OPTIONS.values())} to change")
        return ExitCode.USAGE
    by = _recorded_by(args)
    if by is None:
        return ExitCode.INVALID_INPUT
    parsed = _authority_edits(args)
    if isinstance(parsed, ChangeRefused):
        return _refused(parsed, command, _CHANGED, options=True)
    origin = ChangeOrigin(action=ChangeAction.COMMAND, recorded_by=by, source=command)
    try:
        outcome = _run(
            settings,
            lambda conn: apply_edits(conn, parsed, origin, dry_run=args.dry_run, mode=mode),
        )
    except ChangeRefused as exc:
        return _refused(exc, command, _CHANGED, options=True)
    _print_outcome(outcome, command, _CHANGED, args)
    return ExitCode.OK


def _cmd_authority_add(args: argparse.Namespace, settings: Settings) -> int:
    return _authority_change(args, settings, EditMode.CREATE)


def _cmd_authority_set(args: argparse.Namespace, settings: Settings) -> int:
    return _authority_change(args, settings, EditMode.UPDATE)


# --- remove, changes, undo -------------------------------------------------------------------


def _remove(args: argparse.Namespace, settings: Settings, spec: EntitySpec) -> int:
    command = "register remove" if spec is COOPERATIONS else "register authority remove"
    try:
        entity_id = _ID.validate_python(args.id)
    except ValidationError as exc:
        _err(f"ID: {str(exc.errors()[0]['msg']).removeprefix('Value error, ')}")
        return ExitCode.INVALID_INPUT
    by = _recorded_by(args)
    if by is None:
        return ExitCode.INVALID_INPUT
    label = f"{command} {entity_id}"
    origin = ChangeOrigin(action=ChangeAction.REMOVE, recorded_by=by, source=label)
    try:
        outcome = _run(
            settings, lambda conn: remove(conn, spec, entity_id, origin, dry_run=args.dry_run)
        )
    except ChangeRefused as exc:
        return _refused(exc, label, _CHANGED, options=True)
    _print_outcome(outcome, label, _CHANGED, args)
    return ExitCode.OK


def _cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    return _remove(args, settings, COOPERATIONS)


def _cmd_authority_remove(args: argparse.Namespace, settings: Settings) -> int:
    return _remove(args, settings, AUTHORITIES)


def _change_id(text: str) -> int:
    """A change id as `register changes` shows it."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a change id, a whole number (got {text[:20]!r}); "
            "`starter.py register changes` lists them"
        ) from None
    if not 1 <= value <= 2**62:
        raise argparse.ArgumentTypeError(f"must be a change id from 1 up (got {value})")
    return value


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text[:20]!r})") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must lie between 1 and 10000 (got {value})")
    return value


def _cmd_changes(args: argparse.Namespace, settings: Settings) -> int:
    if args.id is None:
        changes = _run(settings, lambda conn: list_changes(conn, limit=args.limit))
        if args.json:
            print(_json(changes))
        else:
            for line in summary_lines(changes):
                print(line)
        return ExitCode.OK
    change = _run(settings, lambda conn: get_change(conn, args.id))
    if change is None:
        _err(f"no change {args.id} in the log; `starter.py register changes` lists them")
        return ExitCode.NOT_FOUND
    if args.json:
        print(_json(change))
    else:
        for line in detail_lines(change):
            print(line)
    return ExitCode.OK


def _cmd_undo(args: argparse.Namespace, settings: Settings) -> int:
    by = _recorded_by(args)
    if by is None:
        return ExitCode.INVALID_INPUT
    try:
        outcome = _run(settings, lambda conn: undo_change(conn, args.id, by, dry_run=args.dry_run))
    except ChangeRefused as exc:
        return _refused(exc, f"register undo {args.id}", _CHANGED, options=True)
    _print_outcome(outcome, f"register undo {args.id}", _CHANGED, args, undoable=False)
    return ExitCode.OK


# --- reading ---------------------------------------------------------------------------------


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    status = None if args.status is None else CooperationStatus(args.status)
    cooperations = _run(settings, lambda conn: list_cooperations(conn, status=status))
    if args.json:
        print(_json(cooperations))
        return ExitCode.OK
    rows = [(c.id, c.kind.value, c.status.value, str(len(c.members)), c.name) for c in cooperations]
    for text in table(("ID", "KIND", "STATUS", "MEMBERS", "NAME"), rows):
        print(text)
    return ExitCode.OK


_Shown = tuple[Cooperation, Authority | None] | Association | str


async def _shown(conn: DbConnection, entity_id: str) -> _Shown:
    """The cooperation (with its host), else the association with this id (DVV Midwest), else
    the one-line error for an unknown id."""
    cooperation = await get_cooperation(conn, entity_id)
    if cooperation is not None:
        host = None if cooperation.host is None else await get_authority(conn, cooperation.host)
        return cooperation, host
    association = await get_association(conn, entity_id)
    if association is not None:
        return association
    known = [*await known_ids(conn, Entity.COOPERATION), *await association_ids(conn)]
    return unknown_id_message(COOPERATIONS.id_noun, entity_id, known, COOPERATIONS.listed_by)


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    try:
        entity_id = _ID.validate_python(args.id)
    except ValidationError as exc:
        shown = args.id if len(args.id) <= 80 else args.id[:80] + "…"
        _err(f"{shown!r} is not a register id: {exc.errors()[0]['msg']}")
        return ExitCode.INVALID_INPUT
    found = _run(settings, lambda conn: _shown(conn, entity_id))
    if isinstance(found, str):
        _err(found)
        return ExitCode.NOT_FOUND
    if isinstance(found, Association):
        lines = association_lines(found)
        data: BaseModel = found
    else:
        cooperation, host = found
        lines = cooperation_lines(cooperation, host)
        data = cooperation
    if args.json:
        print(_json(data))
        return ExitCode.OK
    for text in lines:
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
    for text in table(("ID", "KIND", "MEMBER", "VOTES", "NAME"), rows):
        print(text)
    return ExitCode.OK


# --- the parser ------------------------------------------------------------------------------


def _change_options(parser: argparse.ArgumentParser) -> None:
    """What every changing command takes: a dry run, who records it, JSON output."""
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change and write nothing"
    )
    parser.add_argument(
        "--by", metavar="NAME", help="who makes the change, for the log (default: login name)"
    )
    parser.add_argument("--json", action="store_true", help="a JSON object instead of lines")


def _file_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.csv", help=f"UTF-8 CSV file of {what}")
    parser.add_argument(
        "--delimiter",
        default=None,
        help="field separator: one character or 'tab' (default: found from the header; Excel "
        "in Belgium writes ';')",
    )
    _change_options(parser)


def _authority_field_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="register id of the authority, e.g. kortrijk")
    parser.add_argument("--name", help="the authority's name")
    parser.add_argument(
        "--kind",
        help="municipality, intercommunale, province, dvv-body or external-partner",
    )
    parser.add_argument(
        "--member",
        dest="is_midwest_member",
        metavar="JA|NEE",
        help="whether it is a member of DVV Midwest (ja/nee, yes/no)",
    )
    parser.add_argument("--votes", help="its weight at the general assembly (0 for non-members)")
    parser.add_argument("--website", help=f"https://... ('{CLEAR_MARKER}' empties it)")
    _change_options(parser)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `register` group to the starter's command line."""
    group = subparsers.add_parser(
        "register",
        help="the register of cooperations (fiches) and authorities",
        description="Import, list and show the fiches of the register of cooperations; keep "
        "its authorities; read and undo the recorded changes.",
        epilog=_GROUP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    importer = add_command(
        commands, "import", "insert or update fiches from a CSV file", _IMPORT_EPILOG, _cmd_import
    )
    _file_options(importer, "fiches")

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
        "show every field of one cooperation (or of DVV Midwest itself)",
        "A cooperation's fiche, its members and host, where it stands and, once it ended,\n"
        "how: dissolved or not integrated, when (a year alone when the day is not known)\n"
        "and why. `dvv-midwest` shows the association: its founding date and members.\n"
        "examples:\n"
        "  starter.py register show projectvereniging-bie\n"
        "  starter.py register show regionaal-sportoverleg --json\n"
        "  starter.py register show dvv-midwest\n",
        _cmd_show,
    )
    shower.add_argument("id", metavar="ID", help="register id of the cooperation, or dvv-midwest")
    shower.add_argument("--json", action="store_true", help="a JSON object instead of lines")

    authorities = add_command(
        commands,
        "authorities",
        "list the authorities (councils, bodies, partners) that members refer to",
        "example:\n  starter.py register authorities\n",
        _cmd_authorities,
    )
    authorities.add_argument("--json", action="store_true", help="a JSON array instead of a table")

    _add_authority_group(commands)

    remover = add_command(
        commands,
        "remove",
        "remove a fiche that nothing refers to (no trajectory ever ran for it)",
        "The removal is recorded with every value: `register undo ID` brings the fiche back.\n"
        "example:\n  starter.py register remove dubbele-fiche --dry-run\n",
        _cmd_remove,
    )
    remover.add_argument("id", metavar="ID", help="register id of the cooperation")
    _change_options(remover)

    changes = add_command(
        commands,
        "changes",
        "list the recorded changes of the register, or show one with every old and new value",
        "examples:\n  starter.py register changes\n  starter.py register changes 12 --json\n",
        _cmd_changes,
    )
    changes.add_argument(
        "id", metavar="ID", type=_change_id, nargs="?", help="the change to show in full"
    )
    changes.add_argument(
        "--limit", type=_limit, default=50, help="how many of the latest to list (default 50)"
    )
    changes.add_argument("--json", action="store_true", help="JSON instead of a table")

    undo = add_command(
        commands,
        "undo",
        "undo a recorded change: every row it touched gets its previous values back",
        "Refused, changing nothing, when a later change touched the same rows (undo that one\n"
        "first), when a row was edited outside the recorded changes, or when restoring would\n"
        "change the kind or members of a cooperation in a live trajectory.\n"
        "examples:\n  starter.py register undo 12 --dry-run\n  starter.py register undo 12\n",
        _cmd_undo,
    )
    undo.add_argument("id", metavar="ID", type=_change_id, help="the change, from `changes`")
    _change_options(undo)


def _add_authority_group(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "authority",
        help="add, change, import or remove authorities",
        description="Add, change, import or remove the authorities members refer to (e.g. a "
        "municipality outside the region). Every change is recorded and can be undone.",
        epilog="examples:\n"
        "  starter.py register authority add kortrijk --name Kortrijk --kind municipality \\\n"
        "      --member nee --votes 0\n"
        "  starter.py register authority set kortrijk --website https://www.kortrijk.be\n"
        "  starter.py register authority import besturen.csv --dry-run\n"
        "  starter.py register authority remove kortrijk\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = group.add_subparsers(dest="authority_command", required=True, metavar="COMMAND")
    adder = add_command(
        sub,
        "add",
        "add an authority (name, kind, membership and votes are required)",
        "example:\n  starter.py register authority add kortrijk --name Kortrijk "
        "--kind municipality --member nee --votes 0\n",
        _cmd_authority_add,
    )
    _authority_field_options(adder)
    setter = add_command(
        sub,
        "set",
        "change fields of an authority; options not given keep their value",
        "example:\n  starter.py register authority set kortrijk --votes 1 --member ja\n",
        _cmd_authority_set,
    )
    _authority_field_options(setter)
    importer = add_command(
        sub,
        "import",
        "insert or update authorities from a CSV file",
        _AUTHORITY_IMPORT_EPILOG,
        _cmd_authority_import,
    )
    _file_options(importer, "authorities")
    remover = add_command(
        sub,
        "remove",
        "remove an authority nothing refers to (no members, trajectories, decisions)",
        "example:\n  starter.py register authority remove kortrijk --dry-run\n",
        _cmd_authority_remove,
    )
    remover.add_argument("id", metavar="ID", help="register id of the authority")
    _change_options(remover)
