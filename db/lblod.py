"""The LBLOD side of the register (migration 0006): bodies, publication sources, agenda-item
patterns per trajectory, and the publications the harvester has read."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from db.connect import DbConnection


class UnknownAuthority(LookupError):
    """No authority with this id in the register."""


class UnknownCooperationId(LookupError):
    """No cooperation with this id in the register."""


class BodyTaken(ValueError):
    """The URI is already registered as a body of another authority."""


@dataclass(frozen=True)
class RegisteredBody:
    uri: str
    authority_id: str
    label: str | None


@dataclass(frozen=True)
class Source:
    authority_id: str
    publication_url: str | None
    harvest: bool


async def _require_authority(conn: DbConnection, authority_id: str) -> None:
    if await conn.fetchval("SELECT 1 FROM authorities WHERE id = $1", authority_id) is None:
        raise UnknownAuthority(authority_id)


async def add_body(conn: DbConnection, authority_id: str, uri: str, label: str | None) -> bool:
    """Register `uri` as a body of the authority; False if it already was (nothing changes)."""
    await _require_authority(conn, authority_id)
    owner = await conn.fetchval("SELECT authority_id FROM lblod_bodies WHERE uri = $1", uri)
    if owner == authority_id:
        return False
    if owner is not None:
        raise BodyTaken(f"{uri} is already registered as a body of {owner}")
    await conn.execute(
        "INSERT INTO lblod_bodies (uri, authority_id, label) VALUES ($1, $2, $3)",
        uri,
        authority_id,
        label,
    )
    return True


async def remove_body(conn: DbConnection, uri: str) -> bool:
    deleted = await conn.fetchval("DELETE FROM lblod_bodies WHERE uri = $1 RETURNING 1", uri)
    return bool(deleted == 1)


async def list_bodies(conn: DbConnection) -> list[RegisteredBody]:
    rows = await conn.fetch(
        "SELECT uri, authority_id, label FROM lblod_bodies ORDER BY authority_id, uri"
    )
    return [RegisteredBody(r["uri"], r["authority_id"], r["label"]) for r in rows]


async def bodies_by_authority(conn: DbConnection) -> dict[str, frozenset[str]]:
    """Every registered authority's body URIs, the matcher's view of the register."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for body in await list_bodies(conn):
        grouped[body.authority_id].add(body.uri)
    return {authority: frozenset(uris) for authority, uris in grouped.items()}


async def set_source(conn: DbConnection, authority_id: str, url: str | None) -> None:
    """Where the authority publishes; None forgets it (and turns its harvesting off)."""
    await _require_authority(conn, authority_id)
    await conn.execute(
        """
        INSERT INTO lblod_sources (authority_id, publication_url, harvest) VALUES ($1, $2, false)
        ON CONFLICT (authority_id) DO UPDATE SET publication_url = EXCLUDED.publication_url,
            harvest = lblod_sources.harvest AND EXCLUDED.publication_url IS NOT NULL
        """,
        authority_id,
        url,
    )


async def set_harvest(conn: DbConnection, authority_id: str, on: bool) -> Source:
    """Turn harvesting on or off; on needs a publication URL (ValueError otherwise)."""
    await _require_authority(conn, authority_id)
    source = await get_source(conn, authority_id)
    if on and (source is None or source.publication_url is None):
        raise ValueError(
            f"{authority_id} has no publication URL; set one first with "
            f"`starter.py lblod source {authority_id} URL`"
        )
    await conn.execute(
        "UPDATE lblod_sources SET harvest = $2 WHERE authority_id = $1", authority_id, on
    )
    return Source(authority_id, source.publication_url if source else None, on)


async def get_source(conn: DbConnection, authority_id: str) -> Source | None:
    row = await conn.fetchrow(
        "SELECT authority_id, publication_url, harvest FROM lblod_sources WHERE authority_id = $1",
        authority_id,
    )
    return Source(row["authority_id"], row["publication_url"], row["harvest"]) if row else None


async def list_sources(conn: DbConnection, *, harvest_only: bool = False) -> list[Source]:
    rows = await conn.fetch(
        "SELECT authority_id, publication_url, harvest FROM lblod_sources "
        + ("WHERE harvest " if harvest_only else "")
        + "ORDER BY authority_id"
    )
    return [Source(r["authority_id"], r["publication_url"], r["harvest"]) for r in rows]


# --- patterns -----------------------------------------------------------------------------


async def cooperation_name(conn: DbConnection, cooperation_id: str) -> str:
    name = await conn.fetchval("SELECT name FROM cooperations WHERE id = $1", cooperation_id)
    if name is None:
        raise UnknownCooperationId(cooperation_id)
    return str(name)


async def get_patterns(conn: DbConnection, cooperation_id: str) -> tuple[str, ...] | None:
    """The patterns set for the cooperation's trajectory, None when it keeps the default."""
    value = await conn.fetchval(
        "SELECT patterns FROM lblod_patterns WHERE cooperation_id = $1", cooperation_id
    )
    return tuple(value) if value is not None else None


async def set_patterns(
    conn: DbConnection, cooperation_id: str, patterns: tuple[str, ...] | None, by: str
) -> None:
    """Set the patterns, or with None go back to the default."""
    await cooperation_name(conn, cooperation_id)
    if patterns is None:
        await conn.execute("DELETE FROM lblod_patterns WHERE cooperation_id = $1", cooperation_id)
        return
    await conn.execute(
        """
        INSERT INTO lblod_patterns (cooperation_id, patterns, updated_by) VALUES ($1, $2, $3)
        ON CONFLICT (cooperation_id) DO UPDATE SET patterns = EXCLUDED.patterns,
            updated_by = EXCLUDED.updated_by
        """,
        cooperation_id,
        list(patterns),
        by,
    )


# --- what the harvester read ----------------------------------------------------------------


async def was_read(conn: DbConnection, url: str, sha256: str) -> bool:
    return (
        await conn.fetchval(
            "SELECT 1 FROM lblod_readings WHERE url = $1 AND sha256 = $2", url, sha256
        )
        is not None
    )


async def record_reading(
    conn: DbConnection, url: str, sha256: str, recorded: int, summary: dict[str, Any]
) -> bool:
    """Remember the publication as read; False if it already was (a retried activity)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO lblod_readings (url, sha256, recorded, summary) VALUES ($1, $2, $3, $4)
        ON CONFLICT (url, sha256) DO NOTHING RETURNING 1
        """,
        url,
        sha256,
        recorded,
        json.dumps(summary, ensure_ascii=False),
    )
    return bool(inserted == 1)


@dataclass(frozen=True)
class OpenTrajectory:
    trajectory_id: str  # the `trajectories` row: workflow id / first run id
    workflow_id: str
    pending: tuple[str, ...]


async def open_trajectories(conn: DbConnection) -> list[OpenTrajectory]:
    """Trajectories still running, with the authorities they wait for (as last persisted)."""
    rows = await conn.fetch(
        "SELECT id, workflow_id, pending_authorities FROM trajectories WHERE NOT finished "
        "AND cardinality(pending_authorities) > 0 ORDER BY workflow_id"
    )
    return [
        OpenTrajectory(r["id"], r["workflow_id"], tuple(r["pending_authorities"])) for r in rows
    ]


async def notify_coordinator(
    conn: DbConnection, key: str, trajectory_id: str, subject: str, body: str
) -> None:
    """A notification for the trajectory's coordinator, exactly once per key."""
    await conn.execute(
        """
        INSERT INTO outbox (key, trajectory_id, recipients, subject, body)
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING
        """,
        key,
        trajectory_id,
        ["coordinator"],
        subject,
        body,
    )
