"""Undo one recorded change: every row it touched goes back to the values it had before.

The safe rule: a change is undone only while it is still the last word on its rows.
Refused (nothing changes) when
* a later change that still stands (not undone itself) touched any of the same rows: undo
  that one first, newest first, so no one's later edit is silently thrown away;
* a row no longer holds what the change wrote (edited outside the recorded changes);
* restoring would break what the register promises elsewhere: a removed row that is now
  referred to, the kind or members of a cooperation in a live trajectory, members or a host
  that name an authority removed since, a founding date after the end recorded since.
The undo is recorded as a change of its own that points at the change it undid; an undo is
not undone in turn (import the file again instead).
"""

from __future__ import annotations

from db.connect import DbConnection
from db.register import fetch_images, get_change, later_changes, lock_register
from register.entities import MEMBERS, SPECS, EntitySpec, FieldValue, Image
from register.guards import (
    end_conflicts,
    host_problems,
    removal_conflicts,
    trajectory_conflicts,
    unknown_members,
)
from register.importer import write_outcome
from register.models import (
    ChangeAction,
    ChangeOrigin,
    Outcome,
    RecordedRow,
    RowPlan,
    RowStatus,
    row_plan,
    same_value,
)
from register.planner import ParsedEdits, empty_image
from register.problems import ChangeRefused, Problem, ProblemKind


async def undo_change(
    conn: DbConnection, change_id: int, recorded_by: str, *, dry_run: bool = False
) -> Outcome:
    source = f"register undo {change_id}"
    async with conn.transaction():
        await lock_register(conn)
        change = await get_change(conn, change_id)
        if change is None:
            raise _refused(source, f"no change {change_id} in the log", ProblemKind.NOT_FOUND)
        if change.action is ChangeAction.UNDO:
            raise _refused(
                source,
                f"change {change_id} is itself the undo of change {change.undoes}; to redo "
                "that change, import its file again",
                ProblemKind.INVALID,
            )
        if change.undone_by is not None:
            raise _refused(
                source,
                f"change {change_id} was already undone by change {change.undone_by}",
                ProblemKind.CONFLICT,
            )
        spec = SPECS[change.entity]
        ids = [row.entity_id for row in change.rows]
        later = await later_changes(conn, change, ids)
        if later:
            raise ChangeRefused(
                [
                    Problem(
                        source,
                        None,
                        None,
                        f"change {other.id} ({other.action.value} by {other.recorded_by} on "
                        f"{other.recorded_at:%Y-%m-%d %H:%M}) changed the same rows since; "
                        f"undo change {other.id} first",
                        ProblemKind.CONFLICT,
                    )
                    for other in later
                ]
            )
        current = await fetch_images(conn, spec, ids)
        problems: list[Problem] = []
        rows: list[RowPlan] = []
        for recorded in change.rows:
            now = current.get(recorded.entity_id)
            drift = _drift(spec, recorded, now)
            if drift:
                problems.append(Problem(source, None, None, drift, ProblemKind.CONFLICT))
                continue
            rows.append(row_plan(recorded.entity_id, None, now, _restored(spec, recorded, now)))
        checked = ParsedEdits(source=source, spec=spec, member_refs=_restored_members(rows))
        problems += await unknown_members(conn, checked, ProblemKind.CONFLICT)
        problems += await host_problems(conn, checked, rows, ProblemKind.CONFLICT)
        problems += end_conflicts(checked, rows)
        problems += await trajectory_conflicts(conn, checked, rows)
        problems += await removal_conflicts(conn, spec, source, rows)
        if problems:
            raise ChangeRefused(problems)
        origin = ChangeOrigin(
            action=ChangeAction.UNDO,
            recorded_by=recorded_by,
            source=change.source,
            undoes=change.id,
        )
        return await write_outcome(conn, spec, origin, rows, dry_run)


def _refused(source: str, message: str, kind: ProblemKind) -> ChangeRefused:
    return ChangeRefused([Problem(source, None, None, message, kind)])


def _drift(spec: EntitySpec, recorded: RecordedRow, now: Image | None) -> str | None:
    """Why the row no longer holds what the change wrote, or None if it does."""
    what = f"{spec.noun} {recorded.entity_id!r}"
    if recorded.status is RowStatus.REMOVED:
        return None if now is None else f"{what} was added again since it was removed"
    if now is None:
        return f"{what} was removed since"
    for change in recorded.changes:
        if not same_value(now.get(change.field), change.new):
            return (
                f"{what}: {change.field} is now {_shown(now.get(change.field))}, not "
                f"{_shown(change.new)} as the change left it (edited outside the recorded "
                "changes); undoing would lose that edit"
            )
    return None


def _restored(spec: EntitySpec, recorded: RecordedRow, now: Image | None) -> Image | None:
    """The row as it was before the change: gone if the change added it."""
    if recorded.status is RowStatus.NEW:
        return None
    image = dict(now) if now is not None else empty_image(spec)
    for change in recorded.changes:
        image[change.field] = change.old
        if change.field in spec.list_fields and change.old is None:
            image[change.field] = ()
    return image


def _restored_members(rows: list[RowPlan]) -> list[tuple[int | None, str]]:
    refs: list[tuple[int | None, str]] = []
    for row in rows:
        if row.after is None or not any(c.field == MEMBERS for c in row.changes):
            continue
        members = row.after.get(MEMBERS)
        assert isinstance(members, tuple)
        refs.extend((None, member) for member in members)
    return refs


def _shown(value: FieldValue | None) -> str:
    return "empty" if value is None or value == () else repr(value)
