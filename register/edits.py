"""What one row asks for, field by field: keep the stored value, clear it, or set a value.

An empty cell keeps what is stored: a spreadsheet with a few cells filled in changes those
and nothing else. To empty a stored field on purpose, the cell holds the clear marker `-`,
the same sign `starter.py register show` prints for an empty field. Values are validated one
field at a time here, as the register's model would; the whole row is validated again once
it is merged with what is stored (register/planner.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from register.belgian_dates import parse_date
from register.entities import EntitySpec, FieldValue

CLEAR_MARKER = "-"
# Members are authority ids, which never hold ';' or ',': either separates them, so a list
# typed the way a comma-separated or a semicolon-separated file suggests reads the same.
MEMBERS_SEPARATORS = re.compile(r"[;,]")

# Excel writes WAAR/ONWAAR (Dutch) or TRUE/FALSE (English) for a yes/no cell.
_YES = frozenset({"ja", "yes", "true", "waar", "1", "j", "y"})
_NO = frozenset({"nee", "no", "false", "onwaar", "0", "n"})


class RowEdit(BaseModel):
    """The fields one row sets (validated values) and the fields it clears."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    line: int | None  # in the file; None for a command
    values: dict[str, FieldValue]
    cleared: frozenset[str] = frozenset()


class CellProblem(ValueError):
    """A cell cannot be read; the message says why and how to write it."""


def parse_cell(spec: EntitySpec, name: str, text: str) -> FieldValue | None:
    """The validated value of a non-empty, non-marker cell."""
    value: Any = text.strip()
    if name in spec.date_fields:
        try:
            value = parse_date(value)
        except ValueError as exc:
            raise CellProblem(str(exc)) from None
    elif name in spec.bool_fields:
        value = _yes_no(value)
    elif name in spec.list_fields:
        value = _id_list(value)
    try:
        validated: FieldValue | None = spec.adapter(name).validate_python(value)
    except ValidationError as exc:
        raise CellProblem(_message(exc.errors()[0])) from None
    if isinstance(validated, tuple):
        return tuple(sorted(validated))
    return validated


def _yes_no(text: str) -> bool:
    folded = text.casefold()
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise CellProblem(f"must be ja or nee (yes or no) (got {text[:40]!r})")


def _id_list(text: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in MEMBERS_SEPARATORS.split(text) if part.strip())
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CellProblem(f"listed twice: {', '.join(twice)}")
    return ids


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] != "value_error" and isinstance(value, str):
        message += f" (got {value[:40]!r})"
    if error["loc"]:  # inside a list: which item
        message = f"item {int(error['loc'][0]) + 1}: {message}"
    return message


def read_cells(
    spec: EntitySpec, entity_id: str, line: int | None, cells: Mapping[str, str]
) -> tuple[RowEdit | None, dict[str, str]]:
    """The row's edit, or None and a message per field that cannot be read."""
    values: dict[str, FieldValue] = {}
    cleared: set[str] = set()
    problems: dict[str, str] = {}
    for name, text in cells.items():
        if name == "id" or not text.strip():
            continue  # the id is the row's key; an empty cell keeps the stored value
        if text.strip() == CLEAR_MARKER:
            if name in spec.required:
                problems[name] = (
                    f"cannot be cleared ('{CLEAR_MARKER}'): every {spec.noun} needs one"
                )
            else:
                cleared.add(name)
            continue
        try:
            value = parse_cell(spec, name, text)
        except CellProblem as exc:
            problems[name] = str(exc)
            continue
        if value is not None:
            values[name] = value
    if problems:
        return None, problems
    return RowEdit(id=entity_id, line=line, values=values, cleared=frozenset(cleared)), {}


def member_ids(text: str) -> list[str]:
    """The ids a members cell lists, for checking them against the register."""
    if text.strip() == CLEAR_MARKER:
        return []
    return [part.strip() for part in MEMBERS_SEPARATORS.split(text) if part.strip()]
