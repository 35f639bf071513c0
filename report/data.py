"""What the report needs, loaded from PostgreSQL into plain typed models.

The `trajectories.status` column holds the workflow's status as of its last journal write
(without the timeline). A caller that can reach Temporal may pass live statuses (from the
workflow's `status` query) which then replace the snapshot of a running trajectory.

Staff names exist only in `transfers.description`; this module reads transfers as counts per
kind (staff also per route: a secondment is not a transfer), so no name ever leaves the
database through the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from db import trajectories as db
from db.connect import DbConnection
from schemas.audit import AuditEvent
from schemas.common import Outcome
from schemas.trajectory import TrajectoryStatus

SinceSource = Literal["option", "previous-report", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DecisionRecord(_Model):
    """A party's latest decision in one round of one decision step (LBLOD Besluit)."""

    step_id: str
    authority_id: str
    round_number: int
    outcome: Outcome
    session_date: date
    reference: str
    votes_for: int | None = None
    votes_against: int | None = None
    votes_abstained: int | None = None


class TrajectoryRecord(_Model):
    trajectory_id: str
    workflow_id: str
    run_id: str
    started_at: datetime
    finished: bool
    status: TrajectoryStatus  # timeline left empty: the events below are the full trail
    live: bool  # status from a Temporal query rather than the stored snapshot
    events: tuple[AuditEvent, ...]
    decisions: tuple[DecisionRecord, ...]
    transferred: dict[str, int]  # item kind -> number of items; never their descriptions
    seconded: int = 0  # staff members seconded to DVV Midwest, not in `transferred`


class ReportData(_Model):
    report_date: date
    since: date | None  # events on or after this date are "new"; None: everything
    since_source: SinceSource
    trajectories: tuple[TrajectoryRecord, ...]
    authority_names: dict[str, str]
    cooperation_names: dict[str, str]
    # The trekkende gemeente of a shared service, where the register knows it (cooperation id
    # -> authority id); the report names it.
    hosts: dict[str, str] = {}


def parse_status(raw: str | dict[str, Any]) -> TrajectoryStatus:
    """The stored snapshot: TrajectoryStatus dumped with mode="json", minus its timeline."""
    payload = json.loads(raw) if isinstance(raw, str) else dict(raw)
    payload["timeline"] = ()
    return TrajectoryStatus.model_validate(payload)


async def previous_period_end(conn: DbConnection) -> date | None:
    """The period end of the latest recorded report, or None before the first one."""
    value = await conn.fetchval(
        "SELECT period_end FROM reports ORDER BY generated_at DESC, id DESC LIMIT 1"
    )
    return value if isinstance(value, date) else None


async def record_report(conn: DbConnection, *, generated_at: datetime, period_end: date) -> int:
    report_id = await conn.fetchval(
        "INSERT INTO reports (generated_at, period_end) VALUES ($1, $2) RETURNING id",
        generated_at,
        period_end,
    )
    return int(report_id)


async def load_report_data(
    conn: DbConnection,
    *,
    report_date: date,
    since: date | None,
    since_source: SinceSource,
    live: Mapping[str, TrajectoryStatus] | None = None,
    only: frozenset[str] | None = None,
) -> ReportData:
    live = live or {}
    events = await db.all_events(conn)
    decisions = await _decisions(conn)
    transferred, seconded = await _transferred(conn)
    trajectories = []
    for row in await conn.fetch(
        "SELECT id, workflow_id, run_id, started_at, finished, status FROM trajectories "
        "ORDER BY started_at, id"
    ):
        if only is not None and row["id"] not in only:
            continue
        status = parse_status(row["status"])
        live_status = None if row["finished"] else live.get(row["workflow_id"])
        if live_status is not None:
            status = live_status.model_copy(update={"timeline": ()})
        trajectory_id = row["id"]
        trajectories.append(
            TrajectoryRecord(
                trajectory_id=trajectory_id,
                workflow_id=row["workflow_id"],
                run_id=row["run_id"],
                started_at=row["started_at"],
                finished=row["finished"],
                status=status,
                live=live_status is not None,
                events=tuple(events.get(trajectory_id, ())),
                decisions=tuple(decisions.get(trajectory_id, ())),
                transferred=transferred.get(trajectory_id, {}),
                seconded=seconded.get(trajectory_id, 0),
            )
        )
    return ReportData(
        report_date=report_date,
        since=since,
        since_source=since_source,
        trajectories=tuple(trajectories),
        authority_names=await _names(conn, "authorities"),
        cooperation_names=await _names(conn, "cooperations"),
        hosts=await _hosts(conn),
    )


async def _decisions(conn: DbConnection) -> dict[str, list[DecisionRecord]]:
    by_trajectory: dict[str, list[DecisionRecord]] = {}
    for row in await conn.fetch(
        "SELECT trajectory_id, step_id, authority_id, round_number, outcome, session_date, "
        "reference, votes_for, votes_against, votes_abstained FROM decisions "
        "ORDER BY trajectory_id, event_seq"
    ):
        by_trajectory.setdefault(row["trajectory_id"], []).append(
            DecisionRecord(
                step_id=row["step_id"],
                authority_id=row["authority_id"],
                round_number=row["round_number"],
                outcome=Outcome(row["outcome"]),
                session_date=row["session_date"],
                reference=row["reference"],
                votes_for=row["votes_for"],
                votes_against=row["votes_against"],
                votes_abstained=row["votes_abstained"],
            )
        )
    return by_trajectory


async def _transferred(conn: DbConnection) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Items moved per trajectory and kind, and staff seconded per trajectory.

    Counted in SQL on purpose: descriptions of staff rows are names (GDPR) and stay put. A
    seconded staff member stays employed by the old employer, so the report must not count
    them as transferred."""
    moved: dict[str, dict[str, int]] = {}
    seconded: dict[str, int] = {}
    for row in await conn.fetch(
        "SELECT trajectory_id, item_kind, item_kind = 'staff' AND route = 'secondment' AS lent, "
        "count(*) AS n FROM transfers GROUP BY 1, 2, 3"
    ):
        trajectory_id, number = row["trajectory_id"], int(row["n"])
        if row["lent"]:
            seconded[trajectory_id] = seconded.get(trajectory_id, 0) + number
        else:
            kinds = moved.setdefault(trajectory_id, {})
            kinds[row["item_kind"]] = kinds.get(row["item_kind"], 0) + number
    return moved, seconded


async def _hosts(conn: DbConnection) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, host FROM cooperations WHERE host IS NOT NULL")
    return {row["id"]: row["host"] for row in rows}


async def _names(
    conn: DbConnection, table: Literal["authorities", "cooperations"]
) -> dict[str, str]:
    rows = await conn.fetch(f"SELECT id, name FROM {table}")  # table is one of two literals
    return {row["id"]: row["name"] for row in rows}
