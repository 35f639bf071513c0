"""Matching a publication against a running trajectory and recording what matched: what the
command line (`lblod match --apply`) and the harvester share.

The trajectory's status comes from operations/queries.py `trajectory_status`, and a decision
is recorded through the same `decide` update a coordinator sends (operations/messages.py), so
the trajectory's own checks apply to a published decision as to a typed one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from db.connect import DbConnection
from db.lblod import bodies_by_authority, get_patterns
from lblod.matcher import MatchResult, Proposal, default_patterns, match
from lblod.model import Publication
from operations.messages import send_update
from operations.queries import CALL_TIMEOUT, trajectory_status
from schemas.trajectory import Ack, TrajectoryStatus

_SHORT_TEXT = 200


async def patterns_for(
    conn: DbConnection, cooperation_id: str, cooperation_name: str
) -> tuple[str, ...]:
    return await get_patterns(conn, cooperation_id) or default_patterns(cooperation_name)


async def match_trajectory(
    client: Client,
    conn: DbConnection,
    workflow_id: str,
    publication: Publication,
    within: timedelta = CALL_TIMEOUT,
) -> tuple[TrajectoryStatus, MatchResult]:
    status = (await trajectory_status(client, workflow_id, within)).status
    today = status.calendar_today(datetime.now(UTC))
    bodies = await bodies_by_authority(conn)
    patterns = await patterns_for(conn, status.cooperation_id, status.cooperation_name)
    return status, match(status, today, bodies, patterns, publication)


def recorded_by(publication: Publication) -> str:
    """Who recorded it: the publication, named by where it was read."""
    text = f"LBLOD {publication.source}"
    return text if len(text) <= _SHORT_TEXT else text[: _SHORT_TEXT - 3] + "..."


def note_for(proposal: Proposal, publication: Publication) -> str:
    missing = f"; not published: {', '.join(proposal.missing)}" if proposal.missing else ""
    return (
        f"read from {publication.source} (sha256 {publication.sha256[:16]}); "
        f"{proposal.basis}{missing}"
    )


async def record(
    client: Client,
    workflow_id: str,
    proposal: Proposal,
    publication: Publication,
    within: timedelta = CALL_TIMEOUT,
) -> Ack:
    decision = proposal.decision(recorded_by(publication), note=note_for(proposal, publication))
    return await send_update(client, workflow_id, "decide", decision, within=within)
