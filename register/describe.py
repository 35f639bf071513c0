"""How a change reads for people: the per-row lines of an import, a dry run or an undo, and
the change log. Plain text for a terminal; the command line prints JSON from the models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from register.entities import SPECS, FieldValue
from register.models import (
    ChangeDetail,
    ChangeSummary,
    FieldChange,
    Outcome,
    RowPlan,
    RowStatus,
)

EMPTY = "(empty)"
_LIMIT = 70


def value_text(value: FieldValue | None) -> str:
    if value is None or value == ():
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, int | date):
        return str(value)
    text = repr(value)  # quoted, newlines and tabs visible
    return text if len(text) <= _LIMIT else text[: _LIMIT - 4] + "...'"


def change_lines(changes: Sequence[FieldChange], indent: str = "    ") -> list[str]:
    return [f"{indent}{c.field}: {value_text(c.old)} -> {value_text(c.new)}" for c in changes]


def _row_head(source: str | None, row: RowPlan) -> str:
    where = "" if source is None or row.line is None else f"{source}:{row.line} "
    return f"{where}{row.id}: {row.status.value}"


def outcome_lines(outcome: Outcome, source: str | None) -> list[str]:
    """Every row with its status, then the field changes of the rows that change."""
    lines: list[str] = []
    for row in outcome.rows:
        lines.append(_row_head(source, row))
        if row.status is not RowStatus.UNCHANGED:
            lines.extend(change_lines(row.changes))
    return lines


def counts_text(outcome: Outcome) -> str:
    noun = SPECS[outcome.entity].noun
    counts = ", ".join(
        f"{outcome.count(status)} {status.value}"
        for status in (RowStatus.NEW, RowStatus.CHANGED, RowStatus.UNCHANGED, RowStatus.REMOVED)
        if outcome.count(status) or status is not RowStatus.REMOVED
    )
    return f"{len(outcome.rows)} {noun}(s): {counts}"


def summary_lines(changes: Sequence[ChangeSummary]) -> list[str]:
    rows = [
        (
            str(c.id),
            f"{c.recorded_at.astimezone():%Y-%m-%d %H:%M}",
            c.recorded_by,
            c.action.value,
            c.entity.value,
            str(c.row_count),
            _state(c),
            c.source or "-",
        )
        for c in changes
    ]
    headers = ("ID", "WHEN", "BY", "ACTION", "ENTITY", "ROWS", "STATE", "SOURCE")
    return table(headers, rows)


def _state(change: ChangeSummary) -> str:
    if change.undoes is not None:
        return f"undoes {change.undoes}"
    if change.undone_by is not None:
        return f"undone by {change.undone_by}"
    return "stands"


def detail_lines(change: ChangeDetail) -> list[str]:
    lines = [
        f"change {change.id}: {change.action.value} of {change.entity.value} rows",
        f"by: {change.recorded_by}",
        f"at: {change.recorded_at.astimezone():%Y-%m-%d %H:%M:%S %Z}",
        f"source: {change.source or '-'}",
        f"state: {_state(change)}",
    ]
    for row in change.rows:
        where = "" if row.line is None else f" (line {row.line})"
        lines.append(f"{row.entity_id}{where}: {row.status.value}")
        lines.extend(change_lines(row.changes))
    return lines


def table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), *(line(r) for r in rows)]
