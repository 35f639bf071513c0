"""What only the database can tell about a planned change: member ids that are not
authorities, a live trajectory depending on a cooperation's kind and members, and what still
refers to a row that would be removed. Run inside the transaction that writes."""

from __future__ import annotations

from collections.abc import Sequence

from db.connect import DbConnection
from db.register import live_trajectories, missing_authorities, references_to
from register.entities import MEMBERS, EntitySpec
from register.models import RowPlan, RowStatus
from register.planner import ParsedEdits, guarded_changes
from register.problems import Problem, ProblemKind


async def unknown_members(
    conn: DbConnection, parsed: ParsedEdits, kind: ProblemKind = ProblemKind.INVALID
) -> list[Problem]:
    """A problem for every member id that is not an authority of the register."""
    missing = set(await missing_authorities(conn, {member for _, member in parsed.member_refs}))
    return [
        parsed.problem(
            line,
            MEMBERS,
            f"unknown authority id {member!r}; `starter.py register authorities` lists them",
            kind,
        )
        for line, member in parsed.member_refs
        if member in missing
    ]


async def trajectory_conflicts(
    conn: DbConnection, parsed: ParsedEdits, rows: Sequence[RowPlan]
) -> list[Problem]:
    """A live trajectory was started with the cooperation's kind (its template) and members
    (its parties): changing them under it would make the register disagree with the
    trajectory. Other fields of the same row may change."""
    changes = guarded_changes(parsed.spec, rows)
    if not changes:
        return []
    live = await live_trajectories(conn, sorted({row.id for row, _ in changes}))
    problems = []
    for row, name in changes:
        for trajectory in live.get(row.id, ()):
            problems.append(
                parsed.problem(
                    row.line,
                    name,
                    f"cannot change the {name} of {row.id!r} while trajectory {trajectory.id} "
                    f"is live (phase {trajectory.phase}); leave this cell empty (the other "
                    "fields may change) and change it once the trajectory has finished or "
                    "was aborted",
                    ProblemKind.CONFLICT,
                )
            )
    return problems


async def removal_conflicts(
    conn: DbConnection, spec: EntitySpec, source: str, rows: Sequence[RowPlan]
) -> list[Problem]:
    """A row that something refers to stays: removing it would leave members, trajectories or
    decisions pointing at nothing."""
    problems = []
    for row in rows:
        if row.status is not RowStatus.REMOVED:
            continue
        references = await references_to(conn, spec.entity, row.id)
        if references:
            problems.append(
                Problem(
                    source,
                    row.line,
                    None,
                    f"{spec.noun} {row.id!r} cannot be removed, it is still referred to: "
                    + "; ".join(str(reference) for reference in references),
                    ProblemKind.CONFLICT,
                )
            )
    return problems
