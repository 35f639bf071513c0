"""What only the database can tell about a planned change: member and host ids that are not
authorities (with the ids people may have meant), a host that is no local government, a
founding date after the recorded end, a live trajectory depending on a cooperation's kind and
members, and what still refers to a row that would be removed. Run inside the transaction
that writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from db.connect import DbConnection
from db.register import (
    authorities_by_id,
    known_ids,
    live_trajectories,
    missing_authorities,
    references_to,
)
from register.entities import AUTHORITIES, MEMBERS, Entity, EntitySpec
from register.models import RowPlan, RowStatus
from register.planner import ParsedEdits, guarded_changes
from register.problems import Problem, ProblemKind
from register.suggest import did_you_mean, suggest
from schemas.common import AuthorityKind
from schemas.register import HOST

_LISTED = AUTHORITIES.listed_by


def _unknown_authority(member: str, known: list[str], kind: ProblemKind) -> str:
    # A typo gets the ids it is near; an authority removed since (an undo, kind CONFLICT) is
    # no typo, so it gets the list instead.
    close = suggest(member, known) if kind is ProblemKind.INVALID else []
    return f"unknown authority id {member!r}; {did_you_mean(close) if close else _LISTED}"


async def unknown_members(
    conn: DbConnection, parsed: ParsedEdits, kind: ProblemKind = ProblemKind.INVALID
) -> list[Problem]:
    """A problem for every member id that is not an authority of the register."""
    missing = set(await missing_authorities(conn, {member for _, member in parsed.member_refs}))
    if not missing:
        return []
    known = await known_ids(conn, Entity.AUTHORITY)
    return [
        parsed.problem(line, MEMBERS, _unknown_authority(member, known, kind), kind)
        for line, member in parsed.member_refs
        if member in missing
    ]


def _changed(rows: Sequence[RowPlan], name: str) -> list[RowPlan]:
    return [
        row
        for row in rows
        if row.after is not None and any(change.field == name for change in row.changes)
    ]


async def host_problems(
    conn: DbConnection,
    parsed: ParsedEdits,
    rows: Sequence[RowPlan],
    kind: ProblemKind = ProblemKind.INVALID,
) -> list[Problem]:
    """A host that is set must be a local government of the register: the trekkende gemeente
    whose staff runs the shared service."""
    hosted = [(row, row.after[HOST]) for row in _changed(rows, HOST) if row.after is not None]
    hosts = {host for _, host in hosted if isinstance(host, str)}
    if not hosts:
        return []
    found = await authorities_by_id(conn, hosts)
    known = await known_ids(conn, Entity.AUTHORITY) if hosts - set(found) else []
    problems = []
    for row, host in hosted:
        if not isinstance(host, str):
            continue
        authority = found.get(host)
        if authority is None:
            message = _unknown_authority(host, known, kind)
        elif authority.kind is not AuthorityKind.MUNICIPALITY:
            message = (
                f"{host!r} is not a municipality (kind {authority.kind.value}); the host of a "
                "shared service is the municipality that runs it (de trekkende gemeente)"
            )
        else:
            continue
        problems.append(parsed.problem(row.line, HOST, message, kind))
    return problems


def end_conflicts(parsed: ParsedEdits, rows: Sequence[RowPlan]) -> list[Problem]:
    """A founding date after the recorded end of the cooperation: one of the two is wrong,
    and the end was recorded by a trajectory or from a source, so the new date is refused."""
    problems = []
    for row in _changed(rows, "founding_date"):
        assert row.after is not None
        founded, year, day = (row.after.get(n) for n in ("founding_date", "ended_year", "ended_on"))
        if not isinstance(founded, date) or not isinstance(year, int):
            continue
        ended = f"on {day}" if isinstance(day, date) else f"in {year}"
        if (day < founded) if isinstance(day, date) else (year < founded.year):
            problems.append(
                parsed.problem(
                    row.line,
                    "founding_date",
                    f"{founded} lies after the end of {row.id!r} (it ended {ended}); a "
                    "cooperation is founded before it ends",
                    ProblemKind.CONFLICT,
                )
            )
    return problems


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
