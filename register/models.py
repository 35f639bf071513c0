"""What a register change is, as the planner, the database and the command line exchange it:
the rows of a change with their old and new values, and a recorded change as listed.

Values are the typed field values of `register.entities` (text, counts, dates, flags, member
tuples); `model_dump(mode="json")` gives the JSON the command line prints.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from register.entities import Entity, FieldValue, Image


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RowStatus(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # shown by a dry run and an import; never recorded
    REMOVED = "removed"


class FieldChange(_Model):
    field: str
    old: FieldValue | None
    new: FieldValue | None


class RowPlan(_Model):
    """One row of a change: what is stored (`before`) and what will be (`after`)."""

    id: str
    line: int | None  # in the file, for an import
    status: RowStatus
    changes: tuple[FieldChange, ...]
    before: Image | None
    after: Image | None


def row_plan(id_: str, line: int | None, before: Image | None, after: Image | None) -> RowPlan:
    """The row's status and field changes follow from the two images."""
    if before is None and after is None:
        raise ValueError("a row needs a before or an after image")
    fields = list((after or before or {}).keys())
    old = before or dict.fromkeys(fields)
    new = after or dict.fromkeys(fields)
    changes = tuple(
        FieldChange(field=name, old=old.get(name), new=new.get(name))
        for name in fields
        if not same_value(old.get(name), new.get(name))
    )
    if before is None:
        status = RowStatus.NEW
    elif after is None:
        status = RowStatus.REMOVED
    else:
        status = RowStatus.CHANGED if changes else RowStatus.UNCHANGED
    return RowPlan(id=id_, line=line, status=status, changes=changes, before=before, after=after)


def same_value(a: FieldValue | None, b: FieldValue | None) -> bool:
    # No members and no member list are the same thing to record and to compare.
    return (None if a == () else a) == (None if b == () else b)


class ChangeAction(StrEnum):
    IMPORT = "import"
    COMMAND = "command"
    REMOVE = "remove"
    UNDO = "undo"


class ChangeOrigin(_Model):
    """Who makes a change, how, and from which file."""

    action: ChangeAction
    recorded_by: str
    source: str | None = None
    undoes: int | None = None


class RecordedRow(_Model):
    entity_id: str
    status: RowStatus
    line: int | None
    changes: tuple[FieldChange, ...]


class ChangeSummary(_Model):
    id: int
    action: ChangeAction
    entity: Entity
    source: str | None
    recorded_by: str
    recorded_at: datetime
    undoes: int | None
    undone_by: int | None
    row_count: int


class ChangeDetail(ChangeSummary):
    rows: tuple[RecordedRow, ...]


class Outcome(_Model):
    """What an import, a command, a removal or an undo did, or would do (a dry run)."""

    entity: Entity
    rows: tuple[RowPlan, ...]
    dry_run: bool
    change_id: int | None  # the recorded change; None for a dry run

    def count(self, status: RowStatus) -> int:
        return sum(1 for row in self.rows if row.status is status)
