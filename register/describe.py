"""How the register reads for people: a fiche and DVV Midwest as `register show` prints them,
the per-row lines of an import, a dry run or an undo, and the change log. Plain text for a
terminal; the command line prints JSON from the models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from register.entities import SPECS, FieldValue
from register.models import (
    ChangeDetail,
    ChangeSummary,
    FieldChange,
    Outcome,
    RowPlan,
    RowStatus,
)
from schemas.common import CooperationKind
from schemas.register import FICHE_FIELDS, HOST, Association, Authority, Cooperation

EMPTY = "(empty)"
_LIMIT = 70

# What `register show` prints for an empty field: the clear marker of an import, so what
# people read is what they type (register/edits.py).
SHOWN_EMPTY = "-"

# The fields of a fiche as `register show` prints them, in this order.
SHOWN_FIELDS = (
    *FICHE_FIELDS,
    "members",
    HOST,
    "status",
    "integrated_on",
    "end_reason",
    "ended_year",
    "ended_on",
    "end_note",
    "updated_at",
)


def shown_value(value: Any) -> str:
    if value is None or value == ():
        return SHOWN_EMPTY
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    # Continuation lines indented so every field still starts at the left margin.
    return str(getattr(value, "value", value)).replace("\n", "\n    ")


def cooperation_lines(cooperation: Cooperation, host: Authority | None = None) -> list[str]:
    """Every field as `name: value`, then what they mean together: how it ended (`end:`),
    who hosts a shared service (`host_name:`, `host` being the authority's id)."""
    lines = [f"{name}: {shown_value(getattr(cooperation, name))}" for name in SHOWN_FIELDS]
    end = cooperation.end
    if end is not None:
        lines.append(f"end: {end.text()}")
    if host is not None:
        lines.append(f"host_name: {host.name}")
    elif cooperation.host is None and cooperation.kind is CooperationKind.SHARED_SERVICE:
        lines.append("host_name: - (the register does not know the trekkende gemeente)")
    return lines


def association_lines(association: Association) -> list[str]:
    """DVV Midwest as `register show dvv-midwest` prints it."""
    return [
        f"id: {association.id}",
        f"name: {association.name}",
        f"legal_form: {association.legal_form}",
        f"founded_on: {association.founded_on}",
        f"members: {shown_value(association.members)}",
        f"member_count: {len(association.members)}",
        f"remarks: {shown_value(association.remarks)}",
    ]


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
