"""Repository of the register: authorities and cooperations, read and written with asyncpg.

Functions take a connection (plain or pooled) so the caller decides the transaction scope;
`upsert_cooperations` opens its own (a savepoint when the caller already has one) so a batch
is written completely or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import asyncpg

from db.connect import DbConnection
from schemas.common import CooperationStatus
from schemas.register import FICHE_FIELDS, Authority, Cooperation, CooperationFiche


class CooperationNotFound(LookupError):
    """No cooperation with this id in the register."""


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

_COOPERATION_SELECT = f"""
SELECT {", ".join(f"c.{name}" for name in FICHE_FIELDS)},
       c.status, c.integrated_on, c.updated_at,
       coalesce(array_agg(m.authority_id ORDER BY m.authority_id)
                FILTER (WHERE m.authority_id IS NOT NULL), '{{}}') AS members
FROM cooperations AS c
LEFT JOIN cooperation_members AS m ON m.cooperation_id = c.id
"""

# Status and integrated_on are left alone on update: the trajectories own them, a re-import of
# the fiches must not reset a cooperation that is in a trajectory.
_UPSERT = f"""
INSERT INTO cooperations ({", ".join(FICHE_FIELDS)})
VALUES ({", ".join(f"${i}" for i in range(1, len(FICHE_FIELDS) + 1))})
ON CONFLICT (id) DO UPDATE SET
    {", ".join(f"{name} = EXCLUDED.{name}" for name in FICHE_FIELDS if name != "id")}
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
        missing = await _missing_authorities(conn, referenced)
        if missing:
            raise UnknownAuthorities(missing)
        for fiche in fiches:
            values = [getattr(fiche, name) for name in FICHE_FIELDS]
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
) -> Cooperation:
    """Record where a cooperation stands; setting the same values again changes nothing else.

    Leaving the integrated status clears integrated_on (e.g. when an abort compensates)."""
    if integrated_on is not None and status is not CooperationStatus.INTEGRATED:
        raise ValueError("integrated_on can only be given with status 'integrated'")
    updated = await conn.fetchval(
        "UPDATE cooperations SET status = $2, integrated_on = $3 WHERE id = $1 RETURNING id",
        cooperation_id,
        status.value,
        integrated_on,
    )
    if updated is None:
        raise CooperationNotFound(f"no cooperation {cooperation_id!r} in the register")
    cooperation = await get_cooperation(conn, cooperation_id)
    assert cooperation is not None  # updated just now, in the same connection
    return cooperation
