"""Repository of the register: authorities and cooperations, read and written with asyncpg.

Functions take a connection (plain or pooled) so the caller decides the transaction scope;
`upsert_cooperations` opens its own (a savepoint when the caller already has one) so a batch
is written completely or not at all.

How a cooperation ended (dissolved, or not integrated: continued outside the region or
ended) is written by `record_dissolution` and `record_not_integrated` and read back with
`get_cooperation_end`; like `set_cooperation_status`, they are for the trajectories' actions
and write no change-log entry. DVV Midwest itself is read with `get_association`.

Changes people make (imports, authority commands, removals, undos) go through the second half
of this module: rows read and written as images, what refers to a row, live trajectories, and
the change log of migration 0005. `upsert_cooperations` writes without recording: it is for
tooling and tests that set up a register, not for people's edits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import asyncpg
from pydantic import TypeAdapter, ValidationError

from db.connect import DbConnection
from register.entities import MEMBERS, SPECS, Entity, EntitySpec, FieldValue, Image
from register.models import (
    ChangeDetail,
    ChangeOrigin,
    ChangeSummary,
    FieldChange,
    RecordedRow,
    RowPlan,
    RowStatus,
)
from schemas.common import CooperationStatus, LongText
from schemas.register import (
    END_STATUSES,
    FICHE_FIELDS,
    HOST,
    Association,
    Authority,
    Cooperation,
    CooperationEnd,
    CooperationFiche,
    EndReason,
)


class CooperationNotFound(LookupError):
    """No cooperation with this id in the register."""


class CooperationEndRefused(ValueError):
    """The register cannot take this change of how a cooperation stands or ended (it already
    ended, it was integrated, the end lies before its founding); nothing was changed."""


class UnknownAuthorities(ValueError):
    """Members refer to authorities that are not in the register."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = tuple(ids)
        super().__init__(f"unknown authority ids: {', '.join(self.ids)}")


@dataclass(frozen=True)
class UpsertResult:
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


_AUTHORITY_COLUMNS = "id, name, kind, is_midwest_member, votes, website"

# What people supply for a cooperation: the fiche and its host (members are written apart).
_WRITTEN_FIELDS = (*FICHE_FIELDS, HOST)
_END_COLUMNS = ("end_reason", "ended_year", "ended_on", "end_note")

_COOPERATION_SELECT = f"""
SELECT {", ".join(f"c.{name}" for name in _WRITTEN_FIELDS)},
       c.status, c.integrated_on, c.continued_as, {", ".join(f"c.{name}" for name in _END_COLUMNS)},
       c.updated_at,
       coalesce(array_agg(m.authority_id ORDER BY m.authority_id)
                FILTER (WHERE m.authority_id IS NOT NULL), '{{}}') AS members
FROM cooperations AS c
LEFT JOIN cooperation_members AS m ON m.cooperation_id = c.id
"""

# Status, integrated_on and the end facts are left alone on update: the trajectories own them,
# a re-import of the fiches must not reset a cooperation that is in a trajectory.
_UPSERT = f"""
INSERT INTO cooperations ({", ".join(_WRITTEN_FIELDS)})
VALUES ({", ".join(f"${i}" for i in range(1, len(_WRITTEN_FIELDS) + 1))})
ON CONFLICT (id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in _WRITTEN_FIELDS if name != "id")}
RETURNING (xmax = 0) AS inserted
"""


def _cooperation(row: asyncpg.Record) -> Cooperation:
    return Cooperation.model_validate(dict(row))


async def list_authorities(conn: DbConnection) -> list[Authority]:
    # Members first (the municipalities, then WVI), then the bodies and partners.
    rows = await conn.fetch(
        f"SELECT {_AUTHORITY_COLUMNS} FROM authorities "
        "ORDER BY is_midwest_member DESC, kind <> 'municipality', kind, id"
    )
    return [Authority.model_validate(dict(row)) for row in rows]


async def get_authority(conn: DbConnection, authority_id: str) -> Authority | None:
    row = await conn.fetchrow(
        f"SELECT {_AUTHORITY_COLUMNS} FROM authorities WHERE id = $1", authority_id
    )
    return None if row is None else Authority.model_validate(dict(row))


async def list_cooperations(
    conn: DbConnection, *, status: CooperationStatus | None = None
) -> list[Cooperation]:
    rows = await conn.fetch(
        f"{_COOPERATION_SELECT} WHERE $1::text IS NULL OR c.status = $1 "
        "GROUP BY c.id ORDER BY c.id",
        None if status is None else status.value,
    )
    return [_cooperation(row) for row in rows]


async def get_cooperation(conn: DbConnection, cooperation_id: str) -> Cooperation | None:
    row = await conn.fetchrow(
        f"{_COOPERATION_SELECT} WHERE c.id = $1 GROUP BY c.id", cooperation_id
    )
    return None if row is None else _cooperation(row)


async def _missing_authorities(conn: DbConnection, ids: set[str]) -> list[str]:
    if not ids:
        return []
    found = await conn.fetch("SELECT id FROM authorities WHERE id = ANY($1::text[])", list(ids))
    return sorted(ids - {row["id"] for row in found})


async def upsert_cooperations(
    conn: DbConnection, fiches: Sequence[CooperationFiche]
) -> UpsertResult:
    """Insert or update every fiche in one transaction; members are replaced where given."""
    ids = [fiche.id for fiche in fiches]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"cooperation ids given twice: {', '.join(twice)}")
    result = UpsertResult()
    async with conn.transaction():
        referenced = {m for fiche in fiches for m in (fiche.members or ())}
        referenced |= {fiche.host for fiche in fiches if fiche.host is not None}
        missing = await _missing_authorities(conn, referenced)
        if missing:
            raise UnknownAuthorities(missing)
        for fiche in fiches:
            values = [getattr(fiche, name) for name in _WRITTEN_FIELDS]
            inserted = await conn.fetchval(_UPSERT, *values)
            (result.inserted if inserted else result.updated).append(fiche.id)
            if fiche.members is not None:
                await conn.execute(
                    "DELETE FROM cooperation_members WHERE cooperation_id = $1", fiche.id
                )
                await conn.execute(
                    "INSERT INTO cooperation_members (cooperation_id, authority_id) "
                    "SELECT $1, unnest($2::text[])",
                    fiche.id,
                    list(fiche.members),
                )
    return result


async def set_cooperation_status(
    conn: DbConnection,
    cooperation_id: str,
    status: CooperationStatus,
    integrated_on: date | None = None,
    *,
    continued_as: str | None = None,
) -> Cooperation:
    """Record where a cooperation stands (active, in trajectory, integrated); setting the same
    values again changes nothing else. Leaving the integrated status clears integrated_on and
    continued_as (e.g. when an abort compensates). `continued_as`: the name the work carries
    on under in DVV Midwest, for an integrated one.

    An end is not a status to set: `record_dissolution` and `record_not_integrated` take its
    date and reason. A cooperation that ended stays ended (CooperationEndRefused), except one
    that continued outside the region: it still exists, so a new trajectory may take it up
    again, and its end facts are cleared."""
    if (
        integrated_on is not None or continued_as is not None
    ) and status is not CooperationStatus.INTEGRATED:
        raise ValueError(
            "integrated_on and continued_as can only be given with status 'integrated'"
        )
    if status in END_STATUSES:
        raise ValueError(
            f"status {status.value!r} is an end: record it with record_dissolution or "
            "record_not_integrated, which take its date and reason"
        )
    async with conn.transaction():
        end = (await _stored_end(conn, cooperation_id)).end
        if end is not None and end.reason is not EndReason.CONTINUED_OUTSIDE_REGION:
            raise CooperationEndRefused(
                f"{cooperation_id!r} {end.text()}; it cannot become {status.value} again"
            )
        await conn.execute(
            "UPDATE cooperations SET status = $2, integrated_on = $3, continued_as = $4, "
            "end_reason = NULL, ended_year = NULL, ended_on = NULL, end_note = NULL WHERE id = $1",
            cooperation_id,
            status.value,
            integrated_on,
            continued_as,
        )
    cooperation = await get_cooperation(conn, cooperation_id)
    assert cooperation is not None  # updated just now, in the same connection
    return cooperation


# --- how a cooperation ended -------------------------------------------------------------------

_NOTE = TypeAdapter(LongText)
_END_YEARS = range(1800, 10_000)  # as the CHECK of migration 0007


@dataclass(frozen=True)
class _Stored:
    status: CooperationStatus
    founding_date: date | None
    integrated_on: date | None
    end: CooperationEnd | None


async def _stored_end(conn: DbConnection, cooperation_id: str) -> _Stored:
    """The row's status and end, locked until the caller's transaction ends."""
    row = await conn.fetchrow(
        "SELECT status, founding_date, integrated_on, end_reason, ended_year, ended_on, end_note "
        "FROM cooperations WHERE id = $1 FOR UPDATE",
        cooperation_id,
    )
    if row is None:
        raise CooperationNotFound(f"no cooperation {cooperation_id!r} in the register")
    status = CooperationStatus(row["status"])
    end = None
    if status in END_STATUSES:
        end = CooperationEnd(
            cooperation_id=cooperation_id,
            status=status,
            reason=row["end_reason"],
            year=row["ended_year"],
            on=row["ended_on"],
            note=row["end_note"],
        )
    return _Stored(status, row["founding_date"], row["integrated_on"], end)


def _end_day_or_year(on: date | int | None) -> tuple[int | None, date | None]:
    """(year, day) of an end given as a day, a year (only the year is known) or None."""
    if on is None:
        return None, None
    # bool is an int and datetime a date: both are mistakes here, not an end.
    if isinstance(on, bool | datetime):
        raise ValueError(f"the end must be a date or a year, not {on!r}")
    if isinstance(on, date):
        return on.year, on
    if on not in _END_YEARS:
        raise ValueError(f"the end year must lie between 1800 and 9999 (got {on})")
    return on, None


def _note(note: str | None) -> str | None:
    if note is None:
        return None
    try:
        cleaned = _NOTE.validate_python(note)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ValueError(f"note: {message}") from None
    return cleaned or None


async def _record_end(
    conn: DbConnection,
    cooperation_id: str,
    status: CooperationStatus,
    reason: EndReason | None,
    on: date | int | None,
    note: str | None,
) -> Cooperation:
    year, day = _end_day_or_year(on)
    wanted = CooperationEnd(
        cooperation_id=cooperation_id,
        status=status,
        reason=reason,
        year=year,
        on=day,
        note=_note(note),
    )
    async with conn.transaction():
        # The register lock as every recorded change takes it: an import comparing a fiche's
        # founding date with its end never interleaves with this write.
        await lock_register(conn)
        stored = await _stored_end(conn, cooperation_id)
        if stored.end == wanted:
            pass  # the same end again (a retried action): nothing to change
        elif stored.end is not None:
            raise CooperationEndRefused(
                f"{cooperation_id!r} already {stored.end.text()}; an end is recorded once"
            )
        elif stored.status is CooperationStatus.INTEGRATED:
            since = "" if stored.integrated_on is None else f" on {stored.integrated_on}"
            raise CooperationEndRefused(
                f"{cooperation_id!r} was integrated into DVV Midwest{since}; its old structure "
                "ended with the integration"
            )
        else:
            founded = stored.founding_date
            if founded is not None and year is not None:
                before = day < founded if day is not None else year < founded.year
                if before:
                    raise CooperationEndRefused(
                        f"{cooperation_id!r} was founded on {founded}; it cannot have ended "
                        f"{wanted.when_text()}"
                    )
            await conn.execute(
                "UPDATE cooperations SET status = $2, integrated_on = NULL, end_reason = $3, "
                "ended_year = $4, ended_on = $5, end_note = $6 WHERE id = $1",
                cooperation_id,
                status.value,
                None if reason is None else reason.value,
                year,
                day,
                wanted.note,
            )
    cooperation = await get_cooperation(conn, cooperation_id)
    assert cooperation is not None  # locked and written just now, in the same connection
    return cooperation


async def record_dissolution(
    conn: DbConnection, cooperation_id: str, on: date | int, *, note: str | None = None
) -> Cooperation:
    """Record that a cooperation was dissolved (ontbonden): status 'dissolved'.

    `on` is the day it was dissolved, or the year (an int, e.g. 2020) when only the year is
    known; the register then keeps no day rather than a made-up 1 January. `note` is free
    text for people (the decision, what the work went into), in Dutch like the fiches.

    Refused with CooperationEndRefused, changing nothing, when the cooperation already ended
    otherwise (recording the very same end again changes nothing, so a retried action is
    harmless), when it was integrated, or when `on` lies before its founding date.
    CooperationNotFound for an unknown id; ValueError for an `on` or `note` that is no
    date, year or text. A day in the future is accepted: a trajectory records the effective
    date of a dissolution decided ahead."""
    return await _record_end(conn, cooperation_id, CooperationStatus.DISSOLVED, None, on, note)


async def record_not_integrated(
    conn: DbConnection,
    cooperation_id: str,
    reason: EndReason,
    on: date | int | None = None,
    *,
    note: str | None = None,
) -> Cooperation:
    """Record that a cooperation was not integrated and why: status 'not-integrated' with
    `reason` EndReason.CONTINUED_OUTSIDE_REGION (the besturen carry it on outside the region)
    or EndReason.ENDED (it was ended, opgeheven).

    `on`, when known, is the day (or only the year, an int) it ended or left the region's
    scope; None when nobody knows. Refusals as for `record_dissolution`. A cooperation that
    continued outside the region may later be taken up by a new trajectory
    (`set_cooperation_status` to in-trajectory clears its end); one that was ended may not."""
    if not isinstance(reason, EndReason):
        raise ValueError(f"reason must be an EndReason (got {reason!r})")
    return await _record_end(
        conn, cooperation_id, CooperationStatus.NOT_INTEGRATED, reason, on, note
    )


async def get_cooperation_end(conn: DbConnection, cooperation_id: str) -> CooperationEnd | None:
    """How the cooperation ended; None while it has not ended (or when it was integrated:
    see its integrated_on). CooperationNotFound for an unknown id."""
    cooperation = await get_cooperation(conn, cooperation_id)
    if cooperation is None:
        raise CooperationNotFound(f"no cooperation {cooperation_id!r} in the register")
    return cooperation.end


# --- DVV Midwest itself, and the ids people may mean ---------------------------------------------

ASSOCIATION_ID = "dvv-midwest"


async def get_association(
    conn: DbConnection, association_id: str = ASSOCIATION_ID
) -> Association | None:
    """The association (DVV Midwest: its founding date, legal form) with its members, the
    authorities that are members of DVV Midwest."""
    row = await conn.fetchrow(
        "SELECT id, name, legal_form, founded_on, remarks FROM associations WHERE id = $1",
        association_id,
    )
    if row is None:
        return None
    members = await conn.fetch(
        "SELECT id FROM authorities WHERE is_midwest_member "
        "ORDER BY kind <> 'municipality', kind, id"
    )
    return Association.model_validate({**dict(row), "members": [m["id"] for m in members]})


async def association_ids(conn: DbConnection) -> list[str]:
    return [row["id"] for row in await conn.fetch("SELECT id FROM associations ORDER BY id")]


async def known_ids(conn: DbConnection, entity: Entity) -> list[str]:
    """Every id of this kind of row, for suggesting the one people meant."""
    rows = await conn.fetch(f"SELECT id FROM {_TABLES[entity]} ORDER BY id")
    return [row["id"] for row in rows]


async def authorities_by_id(conn: DbConnection, ids: Iterable[str]) -> dict[str, Authority]:
    """The authorities among these ids (unknown ids are left out)."""
    rows = await conn.fetch(
        f"SELECT {_AUTHORITY_COLUMNS} FROM authorities WHERE id = ANY($1::text[])", list(set(ids))
    )
    return {row["id"]: Authority.model_validate(dict(row)) for row in rows}


# --- changes people make, recorded (register/importer.py, register/undo.py) --------------------

# Every recorded change of the register takes this transaction lock first, so two imports (or
# an import and an undo) never interleave their checks and writes. "inkreg" in ASCII.
REGISTER_LOCK_KEY = 0x696E6B726567

_TABLES = {Entity.COOPERATION: "cooperations", Entity.AUTHORITY: "authorities"}


async def lock_register(conn: DbConnection) -> None:
    """Serialise register changes until the caller's transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", REGISTER_LOCK_KEY)


def _columns(spec: EntitySpec) -> tuple[str, ...]:
    # Field names come from the spec, never from a file, so they can be spliced into SQL.
    return tuple(name for name in spec.image_fields if name not in spec.list_fields)


async def fetch_images(
    conn: DbConnection, spec: EntitySpec, ids: Sequence[str]
) -> dict[str, Image]:
    """The stored rows with these ids, as images (members sorted), keyed by id."""
    columns = ", ".join(f"t.{name}" for name in _columns(spec))
    if spec.entity is Entity.COOPERATION:
        sql = f"""
            SELECT {columns},
                   coalesce(array_agg(m.authority_id ORDER BY m.authority_id)
                            FILTER (WHERE m.authority_id IS NOT NULL), '{{}}') AS members
            FROM cooperations AS t
            LEFT JOIN cooperation_members AS m ON m.cooperation_id = t.id
            WHERE t.id = ANY($1::text[]) GROUP BY t.id
        """
    else:
        sql = f"SELECT {columns} FROM {_TABLES[spec.entity]} AS t WHERE t.id = ANY($1::text[])"
    images: dict[str, Image] = {}
    for row in await conn.fetch(sql, list(ids)):
        image: Image = {name: row[name] for name in _columns(spec)}
        for name in spec.list_fields:
            image[name] = tuple(row[name])
        images[row["id"]] = image
    return images


async def write_rows(conn: DbConnection, spec: EntitySpec, rows: Sequence[RowPlan]) -> None:
    """Make the stored rows what the plan says: insert, update the changed fields, delete."""
    table = _TABLES[spec.entity]
    for row in rows:
        if row.status is RowStatus.UNCHANGED:
            continue
        if row.after is None:
            await conn.execute(f"DELETE FROM {table} WHERE id = $1", row.id)
            continue
        columns = _columns(spec)
        if row.before is None:
            # A stored-only field left empty takes the table's default (a new fiche: active);
            # an undone removal gives it back.
            columns = tuple(
                name
                for name in columns
                if name not in spec.stored_only or row.after.get(name) is not None
            )
            await conn.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})",
                *(row.after[name] for name in columns),
            )
        else:
            changed = [c.field for c in row.changes if c.field in columns]
            if changed:
                assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(changed, 2))
                await conn.execute(
                    f"UPDATE {table} SET {assignments} WHERE id = $1",
                    row.id,
                    *(row.after[name] for name in changed),
                )
        if MEMBERS in spec.list_fields and any(c.field == MEMBERS for c in row.changes):
            await _replace_members(conn, row.id, row.after.get(MEMBERS))


async def _replace_members(conn: DbConnection, cooperation_id: str, members: object) -> None:
    assert members is None or isinstance(members, tuple)
    await conn.execute("DELETE FROM cooperation_members WHERE cooperation_id = $1", cooperation_id)
    await conn.execute(
        "INSERT INTO cooperation_members (cooperation_id, authority_id) "
        "SELECT $1, unnest($2::text[])",
        cooperation_id,
        list(members or ()),
    )


SCENARIO_PREFIX = "scenario-"


async def reset_scenario_copies(conn: DbConnection, cooperation_ids: Sequence[str]) -> None:
    """Put a scenario's copies back to active, their end facts cleared, for a new run. Only
    rows whose id starts with `scenario-` are touched: the register's own history is never
    reset this way."""
    await conn.execute(
        "UPDATE cooperations SET status = 'active', integrated_on = NULL, continued_as = NULL, "
        "end_reason = NULL, ended_year = NULL, ended_on = NULL, end_note = NULL "
        "WHERE id = ANY($1::text[]) AND starts_with(id, $2)",
        [i for i in cooperation_ids if i.startswith(SCENARIO_PREFIX)],
        SCENARIO_PREFIX,
    )


async def set_members_who_took_part(
    conn: DbConnection, cooperation_id: str, authority_ids: Sequence[str]
) -> None:
    """After integration the cooperation's members are those who took part in its
    trajectory (newcomers included, a council that declined left out), in one statement
    pair inside the caller's transaction."""
    await _replace_members(conn, cooperation_id, tuple(authority_ids))


async def missing_authorities(conn: DbConnection, ids: Iterable[str]) -> list[str]:
    """The ids among these that are not authorities of the register, sorted."""
    return await _missing_authorities(conn, set(ids))


@dataclass(frozen=True)
class LiveTrajectory:
    id: str
    cooperation_id: str
    phase: str


async def live_trajectories(
    conn: DbConnection, cooperation_ids: Sequence[str]
) -> dict[str, list[LiveTrajectory]]:
    """Trajectories still running for these cooperations, by cooperation. A trajectory is live
    until its snapshot says finished, or its phase is integrated or aborted (the workflow's
    final phases), whichever PostgreSQL heard of first."""
    rows = await conn.fetch(
        "SELECT id, cooperation_id, phase FROM trajectories "
        "WHERE cooperation_id = ANY($1::text[]) AND NOT finished "
        "AND phase NOT IN ('integrated', 'aborted') ORDER BY started_at, id",
        list(cooperation_ids),
    )
    live: dict[str, list[LiveTrajectory]] = {}
    for row in rows:
        live.setdefault(row["cooperation_id"], []).append(
            LiveTrajectory(row["id"], row["cooperation_id"], row["phase"])
        )
    return live


class ReferenceKind(StrEnum):
    MEMBER_OF = "member of cooperations"
    HOST_OF = "host of shared services"
    TRAJECTORY = "trajectories"
    PARTY_TO = "party to trajectories"
    DECISIONS = "decisions in trajectories"
    AUDIT_EVENTS = "audit events of trajectories"


@dataclass(frozen=True)
class Reference:
    kind: ReferenceKind
    ids: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.kind.value} {', '.join(self.ids)}"


_COOPERATION_REFERENCES = {
    ReferenceKind.TRAJECTORY: "SELECT id FROM trajectories WHERE cooperation_id = $1",
}
_AUTHORITY_REFERENCES = {
    ReferenceKind.MEMBER_OF: (
        "SELECT cooperation_id FROM cooperation_members WHERE authority_id = $1"
    ),
    ReferenceKind.HOST_OF: "SELECT id FROM cooperations WHERE host = $1",
    ReferenceKind.PARTY_TO: (
        "SELECT id FROM trajectories WHERE $1 = ANY(pending_authorities) "
        "OR status->'participants' @> jsonb_build_array(jsonb_build_object('authority_id', $1))"
    ),
    ReferenceKind.DECISIONS: "SELECT trajectory_id FROM decisions WHERE authority_id = $1",
    ReferenceKind.AUDIT_EVENTS: "SELECT trajectory_id FROM events WHERE authority_id = $1",
}


async def references_to(conn: DbConnection, entity: Entity, entity_id: str) -> list[Reference]:
    """What refers to this cooperation or authority, so it cannot be removed."""
    queries = _COOPERATION_REFERENCES if entity is Entity.COOPERATION else _AUTHORITY_REFERENCES
    found = []
    for kind, sql in queries.items():
        rows = await conn.fetch(
            f"SELECT DISTINCT ref FROM ({sql}) AS r(ref) ORDER BY ref", entity_id
        )
        if rows:
            found.append(Reference(kind, tuple(row["ref"] for row in rows)))
    return found


async def record_change(
    conn: DbConnection, spec: EntitySpec, origin: ChangeOrigin, rows: Sequence[RowPlan]
) -> int:
    """Record a change and its rows (unchanged rows left out); returns the change's id."""
    change_id: int = await conn.fetchval(
        "INSERT INTO register_changes (action, entity, source, recorded_by, undoes) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        origin.action.value,
        spec.entity.value,
        origin.source,
        origin.recorded_by,
        origin.undoes,
    )
    recorded = [row for row in rows if row.status is not RowStatus.UNCHANGED]
    await conn.executemany(
        "INSERT INTO register_change_rows (change_id, entity_id, status, line) "
        "VALUES ($1, $2, $3, $4)",
        [(change_id, row.id, row.status.value, row.line) for row in recorded],
    )
    await conn.executemany(
        "INSERT INTO register_change_fields (change_id, entity_id, field, old_value, new_value) "
        "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)",
        [
            (change_id, row.id, c.field, _json(spec, c.field, c.old), _json(spec, c.field, c.new))
            for row in recorded
            for c in row.changes
        ],
    )
    return change_id


def _json(spec: EntitySpec, name: str, value: FieldValue | None) -> str | None:
    return None if value is None else json.dumps(spec.to_json(name, value), ensure_ascii=False)


_CHANGE_SELECT = """
SELECT c.id, c.action, c.entity, c.source, c.recorded_by, c.recorded_at, c.undoes,
       u.id AS undone_by,
       (SELECT count(*) FROM register_change_rows AS r WHERE r.change_id = c.id) AS row_count
FROM register_changes AS c
LEFT JOIN register_changes AS u ON u.undoes = c.id
"""


def _summary(row: asyncpg.Record) -> ChangeSummary:
    return ChangeSummary.model_validate(dict(row))


async def list_changes(conn: DbConnection, *, limit: int = 50) -> list[ChangeSummary]:
    """The latest recorded changes, newest first."""
    rows = await conn.fetch(f"{_CHANGE_SELECT} ORDER BY c.id DESC LIMIT $1", limit)
    return [_summary(row) for row in rows]


async def get_change(conn: DbConnection, change_id: int) -> ChangeDetail | None:
    """One recorded change with every row and field it changed."""
    head = await conn.fetchrow(f"{_CHANGE_SELECT} WHERE c.id = $1", change_id)
    if head is None:
        return None
    summary = _summary(head)
    spec = SPECS[summary.entity]
    rows = await conn.fetch(
        "SELECT entity_id, status, line FROM register_change_rows WHERE change_id = $1 "
        "ORDER BY line NULLS LAST, entity_id",
        change_id,
    )
    fields = await conn.fetch(
        "SELECT entity_id, field, old_value, new_value FROM register_change_fields "
        "WHERE change_id = $1",
        change_id,
    )
    order = {name: index for index, name in enumerate(spec.fields)}
    changes: dict[str, list[FieldChange]] = {}
    for f in sorted(fields, key=lambda f: order.get(f["field"], len(order))):
        changes.setdefault(f["entity_id"], []).append(
            FieldChange(
                field=f["field"],
                old=_decoded(spec, f["field"], f["old_value"]),
                new=_decoded(spec, f["field"], f["new_value"]),
            )
        )
    recorded = tuple(
        RecordedRow(
            entity_id=row["entity_id"],
            status=RowStatus(row["status"]),
            line=row["line"],
            changes=tuple(changes.get(row["entity_id"], ())),
        )
        for row in rows
    )
    return ChangeDetail(**summary.model_dump(), rows=recorded)


def _decoded(spec: EntitySpec, name: str, value: str | None) -> FieldValue | None:
    return None if value is None else spec.from_json(name, json.loads(value))


async def later_changes(
    conn: DbConnection, change: ChangeSummary, ids: Sequence[str]
) -> list[ChangeSummary]:
    """Changes recorded after `change` that touched any of these rows and still stand: not
    undone, and not undos themselves (an undo and what it undid cancel out)."""
    rows = await conn.fetch(
        f"""{_CHANGE_SELECT}
        WHERE c.id > $1 AND c.entity = $2 AND c.action <> 'undo' AND u.id IS NULL
          AND EXISTS (SELECT 1 FROM register_change_rows AS r
                      WHERE r.change_id = c.id AND r.entity_id = ANY($3::text[]))
        ORDER BY c.id""",
        change.id,
        change.entity.value,
        list(ids),
    )
    return [_summary(row) for row in rows]
