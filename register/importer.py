"""Write what people asked for to the register, recorded, after checking what only the
database knows; or, for a dry run, say what would change and write nothing.

Every function here runs in one transaction under the register lock: the rows compared are
the rows written, and a refused change leaves no trace (not even in the change log).
"""

from __future__ import annotations

from db.connect import DbConnection
from db.register import fetch_images, known_ids, lock_register, record_change, write_rows
from register.entities import EntitySpec
from register.guards import (
    end_conflicts,
    host_problems,
    removal_conflicts,
    trajectory_conflicts,
    unknown_members,
)
from register.models import ChangeOrigin, Outcome, RowPlan, row_plan
from register.planner import EditMode, ParsedEdits, plan_rows
from register.problems import ChangeRefused, Problem, ProblemKind
from register.suggest import unknown_id_message


async def apply_edits(
    conn: DbConnection,
    parsed: ParsedEdits,
    origin: ChangeOrigin,
    *,
    dry_run: bool = False,
    mode: EditMode = EditMode.UPSERT,
) -> Outcome:
    """Plan every row, refuse with every problem found, else record and write (or, for a dry
    run, return the plan)."""
    spec = parsed.spec
    async with conn.transaction():
        await lock_register(conn)
        stored = await fetch_images(conn, spec, [edit.id for edit in parsed.rows])
        missing = mode is EditMode.UPDATE and any(e.id not in stored for e in parsed.rows)
        # Only a row to change that is not there needs the ids people may have meant.
        known = await known_ids(conn, spec.entity) if missing else ()
        rows, plan_problems = plan_rows(parsed, stored, mode, known)
        problems = [
            *parsed.problems,
            *plan_problems,
            *await unknown_members(conn, parsed),
            *await host_problems(conn, parsed, rows),
            *end_conflicts(parsed, rows),
            *await trajectory_conflicts(conn, parsed, rows),
        ]
        if problems:
            raise ChangeRefused(problems)
        return await write_outcome(conn, spec, origin, rows, dry_run)


async def remove(
    conn: DbConnection,
    spec: EntitySpec,
    entity_id: str,
    origin: ChangeOrigin,
    *,
    dry_run: bool = False,
) -> Outcome:
    """Remove a row nothing refers to; the change log keeps every value, so undo restores it."""
    async with conn.transaction():
        await lock_register(conn)
        before = (await fetch_images(conn, spec, [entity_id])).get(entity_id)
        source = origin.source or f"remove {entity_id}"
        if before is None:
            known = await known_ids(conn, spec.entity)
            message = unknown_id_message(spec.id_noun, entity_id, known, spec.listed_by)
            raise ChangeRefused([Problem(source, None, None, message, ProblemKind.NOT_FOUND)])
        rows = [row_plan(entity_id, None, before, None)]
        problems = await removal_conflicts(conn, spec, source, rows)
        if problems:
            raise ChangeRefused(problems)
        return await write_outcome(conn, spec, origin, rows, dry_run)


async def write_outcome(
    conn: DbConnection,
    spec: EntitySpec,
    origin: ChangeOrigin,
    rows: list[RowPlan],
    dry_run: bool,
) -> Outcome:
    """Record the rows as one change and write them; a dry run only reports them."""
    if dry_run:
        return Outcome(entity=spec.entity, rows=tuple(rows), dry_run=True, change_id=None)
    change_id = await record_change(conn, spec, origin, rows)
    await write_rows(conn, spec, rows)
    return Outcome(entity=spec.entity, rows=tuple(rows), dry_run=False, change_id=change_id)
