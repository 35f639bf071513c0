"""Persist the workflow's journal: the audit trail and its projections, in one transaction.

A batch is keyed by (trajectory, seq): a retried activity inserts nothing twice, and the
projections (decisions, tasks, outbox) are applied only for events inserted by this call. The
SQL lives in db/trajectories.py; this module decides what each kind of event projects to, from
its typed payload.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity

from db import trajectories as db
from db.connect import DbConnection
from schemas.events import DecisionRecorded, TaskCompleted
from schemas.journal import JournalBatch, JournalRecord


class JournalActivities:
    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    @activity.defn(name="persist_journal")
    async def persist_journal(self, batch: JournalBatch) -> int:
        """Returns how many records were new (0 on a retry of a batch already written)."""
        trajectory_id = batch.trajectory.trajectory_id
        last_seq = batch.records[-1].event.seq if batch.records else 0
        async with self._pool.acquire() as conn, conn.transaction():
            await db.upsert_trajectory(conn, batch.trajectory, batch.snapshot, last_seq)
            inserted = 0
            for record in batch.records:
                if await db.insert_event(conn, trajectory_id, record.event):
                    inserted += 1
                    await _project(conn, trajectory_id, record)
        activity.logger.info(
            "journal persisted", extra={"new_records": inserted, "batch": len(batch.records)}
        )
        return inserted


async def _project(conn: DbConnection, trajectory_id: str, record: JournalRecord) -> None:
    """Keep the query-friendly tables in step with the audit trail."""
    event = record.event
    payload = event.payload()
    if isinstance(payload, DecisionRecorded):
        await db.upsert_decision(conn, trajectory_id, payload.decision, payload.round, event.seq)
    elif isinstance(payload, TaskCompleted):
        await db.insert_task(conn, trajectory_id, payload.completion, event.on, event.seq)
    if record.notification is not None:
        await db.enqueue_notification(conn, trajectory_id, record.notification)
