"""SQL of the trajectory tables: the trajectory row, the audit trail (events), and the
decisions, tasks and outbox projected from it. Written by the journal activity
(activities/journal.py); read by the report (report/data.py) and the command line
(operations/queries.py)."""

from __future__ import annotations

import json
from datetime import date

import asyncpg

from db.connect import DbConnection
from schemas.audit import AuditEvent
from schemas.journal import Notification, Snapshot, TrajectoryRef
from schemas.trajectory import RecordedDecision, TaskCompletion


async def upsert_trajectory(
    conn: DbConnection, ref: TrajectoryRef, snap: Snapshot, last_seq: int
) -> None:
    """The trajectory's row after a batch; an older batch (a late retry) changes nothing. A
    batch without a status keeps the stored one. PostgreSQL checks NOT NULL on the proposed
    row even when the conflict path is taken, hence JSON null in VALUES rather than SQL NULL
    (the first batch of a run always carries the status)."""
    await conn.execute(
        """
        INSERT INTO trajectories (id, workflow_id, run_id, cooperation_id, cooperation_name, kind,
            phase, calendar_today, planned_av_date, effective_date, needs_effective_date, overdue,
            pending_authorities, next_deadline, finished, status, last_seq)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
            COALESCE($16::jsonb, 'null'::jsonb), $17)
        ON CONFLICT (id) DO UPDATE SET
            phase = EXCLUDED.phase, calendar_today = EXCLUDED.calendar_today,
            planned_av_date = EXCLUDED.planned_av_date, effective_date = EXCLUDED.effective_date,
            needs_effective_date = EXCLUDED.needs_effective_date, overdue = EXCLUDED.overdue,
            pending_authorities = EXCLUDED.pending_authorities,
            next_deadline = EXCLUDED.next_deadline, finished = EXCLUDED.finished,
            status = CASE WHEN $16::jsonb IS NULL THEN trajectories.status ELSE EXCLUDED.status END,
            last_seq = EXCLUDED.last_seq, updated_at = now()
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
        None if snap.status_json is None else json.dumps(snap.status_json),
        last_seq,
    )


async def insert_event(conn: DbConnection, trajectory_id: str, event: AuditEvent) -> bool:
    """True when the event was new (the audit trail is keyed by trajectory and sequence)."""
    seq = await conn.fetchval(
        """
        INSERT INTO events (trajectory_id, seq, kind, on_date, at, summary, actor, step_id,
            authority_id, data)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
        ON CONFLICT (trajectory_id, seq) DO NOTHING
        RETURNING seq
        """,
        trajectory_id,
        event.seq,
        event.kind.value,
        event.on,
        event.at,
        event.summary,
        event.actor,
        event.step_id,
        event.authority_id,
        json.dumps(event.data),
    )
    return seq is not None


async def upsert_decision(
    conn: DbConnection, trajectory_id: str, d: RecordedDecision, round_number: int, seq: int
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


async def insert_task(
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


async def enqueue_notification(conn: DbConnection, trajectory_id: str, note: Notification) -> None:
    """Exactly once per key: the outbox has it unique."""
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


_EVENT_COLUMNS = "seq, kind, on_date, at, summary, actor, step_id, authority_id, data"


def _event(row: asyncpg.Record) -> AuditEvent:
    data = row["data"]
    return AuditEvent(
        seq=row["seq"],
        kind=row["kind"],
        on=row["on_date"],
        at=row["at"],
        summary=row["summary"],
        actor=row["actor"],
        step_id=row["step_id"],
        authority_id=row["authority_id"],
        data=json.loads(data) if isinstance(data, str) else dict(data),
    )


async def events_of(conn: DbConnection, trajectory_id: str) -> list[AuditEvent]:
    """The audit trail of one trajectory run, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE trajectory_id = $1 ORDER BY seq",
        trajectory_id,
    )
    return [_event(row) for row in rows]


async def all_events(conn: DbConnection) -> dict[str, list[AuditEvent]]:
    """Every trajectory's audit trail, by trajectory id (runs are a few hundred rows each)."""
    by_trajectory: dict[str, list[AuditEvent]] = {}
    for row in await conn.fetch(
        f"SELECT trajectory_id, {_EVENT_COLUMNS} FROM events ORDER BY trajectory_id, seq"
    ):
        by_trajectory.setdefault(row["trajectory_id"], []).append(_event(row))
    return by_trajectory


async def runs_of(conn: DbConnection, workflow_id: str) -> list[tuple[str, str]]:
    """(trajectory id, run id) of every recorded run of a workflow id, newest first."""
    rows = await conn.fetch(
        "SELECT id, run_id FROM trajectories WHERE workflow_id = $1 "
        "ORDER BY started_at DESC, run_id",
        workflow_id,
    )
    return [(row["id"], row["run_id"]) for row in rows]


async def running_workflows(conn: DbConnection) -> list[tuple[str, str]]:
    """(workflow id, run id) of every trajectory not finished."""
    rows = await conn.fetch(
        "SELECT workflow_id, run_id FROM trajectories WHERE NOT finished ORDER BY started_at, id"
    )
    return [(row["workflow_id"], row["run_id"]) for row in rows]
