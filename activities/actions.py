"""Automatic steps: the side effects a template can ask for, each performed exactly once.

Every action runs in one transaction together with its row in the `actions` ledger, keyed by
(trajectory, step, action): a retry after a crash finds the row and does nothing again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.connect import DbConnection
from db.register import (
    CooperationEndRefused,
    CooperationNotFound,
    record_dissolution,
    record_not_integrated,
    set_cooperation_status,
    set_members_who_took_part,
)
from schemas.common import CooperationStatus
from schemas.journal import ActionInput, ActionResult
from schemas.register import EndReason
from schemas.template import ActionName
from schemas.trajectory import MergedStructure, StructureEnd


class ActionActivities:
    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    @activity.defn(name="perform_action")
    async def perform_action(self, inp: ActionInput) -> ActionResult:
        trajectory_id = inp.trajectory.trajectory_id
        async with self._pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                "SELECT summary FROM actions WHERE trajectory_id = $1 AND step_id = $2 AND "
                "action = $3",
                trajectory_id,
                inp.step_id,
                inp.action.name.value,
            )
            if done is not None:
                return ActionResult(
                    summary=str(done), repeated=True, performed_at=datetime.now(UTC)
                )
            try:
                summary = await _perform(conn, inp)
            except (CooperationNotFound, CooperationEndRefused) as exc:
                # Retrying cannot make a cooperation appear in the register, nor undo how it
                # ended (a dissolved one is not reopened by a trajectory).
                raise ApplicationError(str(exc), type="InvalidAction", non_retryable=True) from exc
            await conn.execute(
                "INSERT INTO actions (trajectory_id, step_id, action, summary) VALUES ($1, $2, "
                "$3, $4)",
                trajectory_id,
                inp.step_id,
                inp.action.name.value,
                summary,
            )
        activity.logger.info(
            "action performed", extra={"action": inp.action.name.value, "step_id": inp.step_id}
        )
        # The wall clock is read here, outside the workflow: the result lands in the history,
        # so the workflow's calendar can move with it deterministically.
        return ActionResult(summary=summary, performed_at=datetime.now(UTC))


async def _perform(conn: DbConnection, inp: ActionInput) -> str:
    trajectory_id = inp.trajectory.trajectory_id
    cooperation_id = inp.trajectory.cooperation_id
    action = inp.action
    match action.name:
        case ActionName.OPEN_DOSSIER:
            ids = [cooperation_id, *(m.cooperation_id for m in inp.merged)]
            for each in ids:
                await set_cooperation_status(conn, each, CooperationStatus.IN_TRAJECTORY)
            return f"{', '.join(ids)} marked as in trajectory in the register"
        case ActionName.DRAFT_DOCUMENT:
            document = _document(inp)
            await conn.execute(
                """
                INSERT INTO documents (trajectory_id, name, status, step_id, created_on)
                VALUES ($1, $2, 'draft', $3, $4)
                ON CONFLICT (trajectory_id, name)
                DO UPDATE SET status = 'draft', withdrawn_on = NULL
                """,
                trajectory_id,
                document,
                inp.step_id,
                inp.on,
            )
            return f"draft '{document}' recorded"
        case ActionName.WITHDRAW_DOCUMENT:
            document = _document(inp)
            await conn.execute(
                "UPDATE documents SET status = 'withdrawn', withdrawn_on = $3 WHERE "
                "trajectory_id = $1 AND name = $2",
                trajectory_id,
                document,
                inp.on,
            )
            return f"draft '{document}' withdrawn"
        case ActionName.NOTIFY_PARTIES:
            recipients = [p.authority_id for p in inp.participants]
            subject = action.message or f"Traject {inp.trajectory.cooperation_name}"
            await conn.execute(
                """
                INSERT INTO outbox (key, trajectory_id, recipients, subject, body)
                VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING
                """,
                f"{trajectory_id}:{inp.step_id}:notify-parties",
                trajectory_id,
                recipients,
                subject,
                f"{subject} — inkanteling van {inp.trajectory.cooperation_name} in DVV Midwest.",
            )
            return f"{len(recipients)} parties notified"
        case ActionName.TRANSFER_STAFF:
            for number, member in enumerate(inp.staff, start=1):
                await conn.execute(
                    """
                    INSERT INTO transfers (trajectory_id, item_kind, item_no, description, statute,
                        route, transferred_on)
                    VALUES ($1, 'staff', $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
                    """,
                    trajectory_id,
                    number,
                    member.name,
                    member.statute,
                    member.route,
                    inp.on,
                )
            # The summary goes to the audit trail: counts only, never names.
            return f"{len(inp.staff)} staff members transferred"
        case ActionName.TRANSFER_ASSETS:
            for number, asset in enumerate(inp.assets, start=1):
                await conn.execute(
                    """
                    INSERT INTO transfers (trajectory_id, item_kind, item_no, description,
                        value_eur, transferred_on)
                    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
                    """,
                    trajectory_id,
                    asset.kind,
                    number,
                    asset.description,
                    asset.value_eur,
                    inp.on,
                )
            return f"{len(inp.assets)} assets, contracts and subsidies transferred"
        case ActionName.END_OLD_STRUCTURE:
            await conn.execute(
                """
                INSERT INTO documents (trajectory_id, name, status, step_id, created_on)
                VALUES ($1, 'einde oude structuur', 'final', $2, $3) ON CONFLICT DO NOTHING
                """,
                trajectory_id,
                inp.step_id,
                inp.on,
            )
            # Each cooperation merged in ends its own way, recorded with the day it ended.
            for merged in inp.merged:
                await _record_end(conn, merged, inp.ended_on or inp.on)
            ended = [cooperation_id, *(m.cooperation_id for m in inp.merged)]
            return f"old structure of {', '.join(ended)} ended"
        case ActionName.MARK_INTEGRATED:
            integrated_on = inp.effective_date or inp.on
            await set_cooperation_status(
                conn,
                cooperation_id,
                CooperationStatus.INTEGRATED,
                integrated_on=integrated_on,
                continued_as=inp.continues_as,
            )
            # Runs from before the trajectory named who took part send none: members stay.
            took_part = [p.authority_id for p in inp.participants]
            if took_part:
                await set_members_who_took_part(conn, cooperation_id, took_part)
            return f"{cooperation_id} registered as integrated (ingekanteld) on {integrated_on}" + (
                f" with {len(took_part)} members" if took_part else ""
            )
        case ActionName.RESTORE_REGISTER:
            ids = [cooperation_id, *(m.cooperation_id for m in inp.merged)]
            for each in ids:
                await set_cooperation_status(conn, each, CooperationStatus.ACTIVE)
            return f"{', '.join(ids)} restored to active in the register"
    raise ApplicationError(
        f"unknown action {action.name}", type="InvalidAction", non_retryable=True
    )


async def _record_end(conn: DbConnection, merged: MergedStructure, on: date) -> None:
    match merged.end:
        case StructureEnd.DISSOLVED:
            await record_dissolution(conn, merged.cooperation_id, on, note=merged.note)
        case StructureEnd.CONTINUED_OUTSIDE_REGION:
            await record_not_integrated(
                conn,
                merged.cooperation_id,
                EndReason.CONTINUED_OUTSIDE_REGION,
                on,
                note=merged.note,
            )
        case StructureEnd.ENDED:
            await record_not_integrated(
                conn, merged.cooperation_id, EndReason.ENDED, on, note=merged.note
            )


def _document(inp: ActionInput) -> str:
    if inp.action.document is None:
        raise ApplicationError(
            f"step {inp.step_id}: {inp.action.name.value} needs a document name",
            type="InvalidAction",
            non_retryable=True,
        )
    return inp.action.document
