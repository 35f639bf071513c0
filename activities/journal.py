"""Persist the workflow's journal: the audit trail and its projections, in one transaction.

A batch is keyed by (trajectory, seq): a retried activity inserts nothing twice, and the
projections (decisions, tasks, outbox) are applied only for records inserted by this call.
"""

from __future__ import annotations

import json
from datetime import date

import asyncpg
from temporalio import activity

from db.connect import DbConnection
from schemas.journal import JournalBatch, JournalRecord
from schemas.trajectory import DecisionInput, TaskCompletion


class JournalActivities:
    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    @activity.defn(name="persist_journal")
    async def persist_journal(self, batch: JournalBatch) -> int:
        """Returns how many records were new (0 on a retry of a batch already written)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await _upsert_trajectory(conn, batch)
            inserted = 0
            for record in batch.records:
                if await _insert_event(conn, batch.trajectory.trajectory_id, record):
                    inserted += 1
                    await _project(conn, batch.trajectory.trajectory_id, record)
        activity.logger.info(
            "journal persisted", extra={"new_records": inserted, "batch": len(batch.records)}
        )
        return inserted


async def _upsert_trajectory(conn: DbConnection, batch: JournalBatch) -> None:
    ref, snap = batch.trajectory, batch.snapshot
    last_seq = batch.records[-1].seq if batch.records else 0
    # The guard on last_seq keeps an older batch (a late retry) from overwriting a newer
    # snapshot.
    await conn.execute(
        """
        INSERT INTO trajectories (id, workflow_id, run_id, cooperation_id, cooperation_name, kind,
            phase, calendar_today, planned_av_date, effective_date, needs_effective_date, overdue,
            pending_authorities, next_deadline, finished, status, last_seq)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, $17)
        ON CONFLICT (id) DO UPDATE SET
            phase = EXCLUDED.phase, calendar_today = EXCLUDED.calendar_today,
            planned_av_date = EXCLUDED.planned_av_date, effective_date = EXCLUDED.effective_date,
            needs_effective_date = EXCLUDED.needs_effective_date, overdue = EXCLUDED.overdue,
            pending_authorities = EXCLUDED.pending_authorities,
            next_deadline = EXCLUDED.next_deadline, finished = EXCLUDED.finished,
            status = EXCLUDED.status, last_seq = EXCLUDED.last_seq, updated_at = now()
        WHERE trajectories.last_seq <= EXCLUDED.last_seq
        """,
        ref.trajectory_id,
        ref.workflow_id,
        ref.run_id,
        ref.cooperation_id,
        ref.cooperation_name,
        ref.kind.value,
        snap.phase.value,
        snap.today,
        snap.planned_av_date,
        snap.effective_date,
        snap.needs_effective_date,
        snap.overdue,
        list(snap.pending_authorities),
        snap.next_deadline,
        snap.finished,
        json.dumps(snap.status_json),
        last_seq,
    )


async def _insert_event(conn: DbConnection, trajectory_id: str, record: JournalRecord) -> bool:
    seq = await conn.fetchval(
        """
        INSERT INTO events (trajectory_id, seq, kind, on_date, at, summary, actor, step_id,
            authority_id, data)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
        ON CONFLICT (trajectory_id, seq) DO NOTHING
        RETURNING seq
        """,
        trajectory_id,
        record.seq,
        record.kind,
        record.on,
        record.at,
        record.summary,
        record.actor,
        record.step_id,
        record.authority_id,
        json.dumps(record.data),
    )
    return seq is not None


async def _project(conn: DbConnection, trajectory_id: str, record: JournalRecord) -> None:
    """Keep the query-friendly tables in step with the audit trail."""
    if record.kind == "decision-recorded":
        decision = DecisionInput.model_validate(record.data["decision"])
        if decision.step_id is None:  # journals of older runs carried the message as sent
            decision = decision.model_copy(update={"step_id": record.step_id})
        await _upsert_decision(conn, trajectory_id, decision, int(record.data["round"]), record.seq)
    elif record.kind == "task-completed":
        completion = TaskCompletion.model_validate(record.data["completion"])
        await _insert_task(conn, trajectory_id, completion, record.on, record.seq)
    if record.notification is not None:
        note = record.notification
        await conn.execute(
            """
            INSERT INTO outbox (key, trajectory_id, recipients, subject, body)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING
            """,
            note.key,
            trajectory_id,
            list(note.recipients),
            note.subject,
            note.body,
        )


async def _upsert_decision(
    conn: DbConnection, trajectory_id: str, d: DecisionInput, round_number: int, seq: int
) -> None:
    # A postponement is replaced by the party's later decision in the same round.
    await conn.execute(
        """
        INSERT INTO decisions (trajectory_id, step_id, authority_id, round_number, outcome,
            session_date, reference, votes_for, votes_against, votes_abstained, recorded_by,
            note, event_seq)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (trajectory_id, step_id, authority_id, round_number) DO UPDATE SET
            outcome = EXCLUDED.outcome, session_date = EXCLUDED.session_date,
            reference = EXCLUDED.reference, votes_for = EXCLUDED.votes_for,
            votes_against = EXCLUDED.votes_against, votes_abstained = EXCLUDED.votes_abstained,
            recorded_by = EXCLUDED.recorded_by, note = EXCLUDED.note,
            event_seq = EXCLUDED.event_seq, recorded_at = now()
        WHERE decisions.event_seq < EXCLUDED.event_seq
        """,
        trajectory_id,
        d.step_id,
        d.authority_id,
        round_number,
        d.outcome.value,
        d.session_date,
        d.reference,
        d.votes_for,
        d.votes_against,
        d.votes_abstained,
        d.recorded_by,
        d.note,
        seq,
    )


async def _insert_task(
    conn: DbConnection, trajectory_id: str, c: TaskCompletion, on: date, seq: int
) -> None:
    await conn.execute(
        """
        INSERT INTO tasks (trajectory_id, step_id, evidence, completed_by, note, completed_on,
            event_seq)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (trajectory_id, step_id) DO NOTHING
        """,
        trajectory_id,
        c.step_id,
        c.evidence,
        c.completed_by,
        c.note,
        on,
        seq,
    )
