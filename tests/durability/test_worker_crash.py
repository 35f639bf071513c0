"""A worker killed with SIGKILL at four points of a trajectory, then replaced by a new one.

Each test kills the only worker (a real `python worker.py` process) at one point, starts a
new worker, lets the trajectory finish and then checks that nothing was lost or doubled:
`check_nothing_lost` (events 1..N equal to the workflow's timeline and in order, one row per
decision, task, action, notification, document and transferred item, the register status).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import pytest
from temporalio.client import WorkflowHandle

from schemas.common import CooperationKind
from schemas.template import Phase
from schemas.trajectory import (
    AbortRequest,
    StepStatus,
    TaskCompletion,
    TrajectoryStatus,
)
from tests.support.faults import (
    FAR_EFFECTIVE_DAYS,
    TableLock,
    Trajectories,
    Workers,
    backends_ended,
    check_nothing_lost,
    completed_attempts,
    decided,
    drive,
    effective_date_in,
    eventually,
    fired_timers,
    history,
    pending_timers,
    request_for,
    result_of,
    status_when,
    step_of,
    trajectory_id,
    utcnow,
)
from tests.support.trajectories import decision, via_updates
from workflows.trajectory import InkantelingTrajectory

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(150)]

Handle = WorkflowHandle[InkantelingTrajectory, TrajectoryStatus]
PV = CooperationKind.PROJECTVERENIGING


def finished(status: TrajectoryStatus) -> bool:
    return status.finished_on is not None


async def flushed(db: asyncpg.Connection, handle: Handle, status: TrajectoryStatus) -> bool:
    """The journal up to `status` is in PostgreSQL (no persist_journal in flight for it)."""
    last = await db.fetchval(
        "SELECT coalesce(max(seq), 0) FROM events WHERE trajectory_id = $1", trajectory_id(handle)
    )
    return bool(last == len(status.timeline))


async def test_sigkill_inside_transfer_and_journal_activities(
    workers: Workers, trajectories: Trajectories, database_url: str, db: asyncpg.Connection
) -> None:
    """Fault: SIGKILL while three activities are each blocked inside their open transaction
    by table locks the test holds: transfer-staff and transfer-assets (INSERT INTO transfers)
    and a journal batch (INSERT INTO events), with a task completion already acknowledged to
    its caller but not yet persisted. Checked: the killed transactions rolled back (no
    transfer row, no new event, no task row); the new worker retries them (attempt >= 2);
    the trajectory integrates with transfers == staff + assets, the acknowledged task
    completion persisted once, and every other invariant of `check_nothing_lost`."""
    request = request_for(PV, trajectories.cooperation("kill-activity"), effective_after_days=240)
    transfers = await TableLock(database_url, ("transfers",)).acquire()
    events = TableLock(database_url, ("events",))
    try:
        worker = await workers.start()
        handle = await trajectories.start(request)
        tid = trajectory_id(handle)
        await drive(
            handle,
            hold=frozenset({"deed-to-supervisor"}),
            until=lambda s: step_of(s, "transfer-assets").status is StepStatus.OPEN,
            within=60,
            what="the transfer steps run",
        )
        blocked = await transfers.wait_for_waiters("transfers", count=2, within=30)
        await events.acquire()
        seq_before = await db.fetchval("SELECT max(seq) FROM events WHERE trajectory_id = $1", tid)
        ack = await via_updates(handle)(
            "complete_task",
            TaskCompletion(
                step_id="deed-to-supervisor", evidence="akte://123", completed_by="Notaris"
            ),
        )
        assert not ack.no_op
        blocked += await events.wait_for_waiters("events", count=1, within=30)
        worker.kill()
    finally:
        await events.release()
        await transfers.release()
    await backends_ended(database_url, blocked, within=30)
    assert await db.fetchval("SELECT count(*) FROM transfers WHERE trajectory_id = $1", tid) == 0
    assert (
        await db.fetchval(
            "SELECT count(*) FROM tasks WHERE trajectory_id = $1 "
            "AND step_id = 'deed-to-supervisor'",
            tid,
        )
        == 0
    )
    assert (
        await db.fetchval("SELECT max(seq) FROM events WHERE trajectory_id = $1", tid) == seq_before
    )

    replacement = await workers.start()
    await drive(handle, until=finished, within=90, what="integrated after the crash")
    final = await result_of(handle, within=30)

    survey = await check_nothing_lost(db, handle, request, final, phase=Phase.INTEGRATED)
    assert len(survey.transfers) == len(request.staff) + len(request.assets) == 3
    assert "deed-to-supervisor" in {
        e["step_id"] for e in survey.events if e["kind"] == "task-completed"
    }
    retried = [a for a in completed_attempts(await history(handle)) if a.attempt >= 2]
    assert sorted(a.activity_type for a in retried if a.activity_type == "perform_action") == [
        "perform_action",
        "perform_action",
    ]
    assert any(a.activity_type == "persist_journal" for a in retried)
    assert {a.identity for a in retried} == {replacement.identity}


async def test_sigkill_between_two_decisions_of_the_council_round(
    workers: Workers, trajectories: Trajectories, database_url: str, db: asyncpg.Connection
) -> None:
    """Fault: SIGKILL in the council round between decisions: one council's decision is
    persisted, a second council's decision has been acknowledged to its caller but its
    journal batch is held back by a lock on events; the third council decides through the
    new worker. Checked: the acknowledged decision survives the crash (status query) and
    reaches the decisions table exactly once, all three decisions keep their content, the
    round passes and the trajectory integrates (the crash cost years of compressed
    calendar, so the coordinator sets a new effective date when asked), plus every
    invariant of `check_nothing_lost`."""
    request = request_for(PV, trajectories.cooperation("kill-round"), effective_after_days=240)
    worker = await workers.start()
    handle = await trajectories.start(request)
    tid = trajectory_id(handle)
    status = await drive(
        handle,
        silent=frozenset({"izegem", "tielt"}),
        until=lambda s: decided(s, "council-round") == {"roeselare"},
        within=60,
        what="roeselare decided",
    )

    async def roeselare_stored() -> bool:
        stored = await db.fetch(
            "SELECT authority_id FROM decisions "
            "WHERE trajectory_id = $1 AND step_id = 'council-round'",
            tid,
        )
        return [r["authority_id"] for r in stored] == ["roeselare"]

    await eventually(roeselare_stored, within=30, what="roeselare's decision persisted")
    izegem = decision("izegem", status.today, step_id="council-round")
    lock = await TableLock(database_url, ("events",)).acquire()
    try:
        ack = await via_updates(handle)("decide", izegem)
        assert not ack.no_op
        blocked = await lock.wait_for_waiters("events", count=1, within=30)
        worker.kill()
    finally:
        await lock.release()
    await backends_ended(database_url, blocked, within=30)
    assert await roeselare_stored()  # izegem's batch died with the worker

    await workers.start()
    after = await status_when(handle, lambda s: True, within=60, what="status after the crash")
    assert decided(after, "council-round") == {"roeselare", "izegem"}
    tielt = decision("tielt", after.today, step_id="council-round")
    assert not (await via_updates(handle)("decide", tielt)).no_op
    await drive(handle, until=finished, within=90, what="integrated after the crash")
    final = await result_of(handle, within=30)

    survey = await check_nothing_lost(db, handle, request, final, phase=Phase.INTEGRATED)
    council = {
        d["authority_id"]: (d["round_number"], d["outcome"], d["reference"])
        for d in survey.decisions
        if d["step_id"] == "council-round"
    }
    assert sorted(council) == ["izegem", "roeselare", "tielt"]
    assert council["izegem"] == (0, "approve", izegem.reference)
    assert council["tielt"] == (0, "approve", tielt.reference)
    assert step_of(final, "council-round").status is StepStatus.DONE
    stored_izegem = next(
        p for p in step_of(final, "council-round").parties if p.authority_id == "izegem"
    )
    assert stored_izegem.decision is not None
    assert stored_izegem.decision.reference == izegem.reference
    assert stored_izegem.decision.session_date == izegem.session_date


async def test_sigkill_while_the_effective_date_timer_is_pending(
    workers: Workers, trajectories: Trajectories, database_url: str, db: asyncpg.Connection
) -> None:
    """Fault: SIGKILL while the trajectory sleeps on a timer (the wait for the effective
    date), with nothing else in flight; no worker lives while the timer is due. Checked: the
    server fires the timer with no worker alive; the new worker resumes the wait step on the
    effective date, the transfers run and the trajectory integrates, plus every invariant of
    `check_nothing_lost`."""
    request = request_for(
        PV, trajectories.cooperation("kill-timer"), effective_after_days=FAR_EFFECTIVE_DAYS
    )
    worker = await workers.start()
    handle = await trajectories.start(request)
    await drive(
        handle,
        until=lambda s: step_of(s, "effective-date").status is StepStatus.OPEN,
        within=60,
        what="waiting for the effective date",
    )
    await effective_date_in(handle, seconds=2.0)
    waiting = await status_when(
        handle,
        lambda s: (
            not s.needs_effective_date
            and [x.id for x in s.steps if x.status is StepStatus.OPEN] == ["effective-date"]
        ),
        within=30,
        what="only the effective-date wait is open",
    )

    async def quiet() -> bool:
        return await flushed(db, handle, waiting)

    await eventually(quiet, within=30, what="the journal is flushed")
    pending = pending_timers(await history(handle))
    assert pending, "no timer pending at the kill"
    worker.kill()
    killed_at = utcnow()

    async def fired_without_worker() -> dict[str, datetime] | None:
        fired = {t: at for t, at in fired_timers(await history(handle)).items() if t in pending}
        return fired if set(fired) == pending else None

    fired = await eventually(fired_without_worker, within=30, what="the server fired the timer")
    assert all(at > killed_at for at in fired.values())

    replacement = await workers.start()
    await drive(handle, until=finished, within=90, what="integrated after the crash")
    final = await result_of(handle, within=30)

    await check_nothing_lost(db, handle, request, final, phase=Phase.INTEGRATED)
    wait = step_of(final, "effective-date")
    assert wait.completed_on is not None and wait.completed_on >= final.effective_date
    after = [a for a in completed_attempts(await history(handle)) if a.started > killed_at]
    assert after and {a.identity for a in after} == {replacement.identity}


async def test_sigkill_during_compensation_after_an_abort(
    workers: Workers, trajectories: Trajectories, database_url: str, db: asyncpg.Connection
) -> None:
    """Fault: SIGKILL during the compensation of an abort, while the first withdraw-document
    is blocked inside its transaction (UPDATE documents) by a table lock. Checked: the killed
    withdraw rolled back (both drafts still 'draft'); the new worker finishes the
    compensation: the trajectory is aborted, both drafts withdrawn exactly once, the parties
    notified once, the register back to 'active', plus every invariant of
    `check_nothing_lost`."""
    request = request_for(
        PV, trajectories.cooperation("kill-compensation"), effective_after_days=240
    )
    worker = await workers.start()
    handle = await trajectories.start(request)
    tid = trajectory_id(handle)
    await drive(
        handle,
        silent=frozenset({"roeselare", "izegem", "tielt"}),
        until=lambda s: step_of(s, "council-round").status is StepStatus.OPEN,
        within=60,
        what="the council round is open",
    )
    drafts = {"overdrachtsvoorstel": "draft", "statutenwijziging": "draft"}

    async def documents() -> dict[str, str]:
        rows = await db.fetch("SELECT name, status FROM documents WHERE trajectory_id = $1", tid)
        return {r["name"]: r["status"] for r in rows}

    assert await documents() == drafts
    lock = await TableLock(database_url, ("documents",)).acquire()
    try:
        abort = AbortRequest(reason="De gemeenten kiezen een andere weg", aborted_by="Coördinator")
        assert not (await via_updates(handle)("abort", abort)).no_op
        blocked = await lock.wait_for_waiters("documents", count=1, within=30)
        worker.kill()
    finally:
        await lock.release()
    await backends_ended(database_url, blocked, within=30)
    assert await documents() == drafts  # the withdraw died with the worker

    await workers.start()
    final = await result_of(handle, within=90)

    survey = await check_nothing_lost(db, handle, request, final, phase=Phase.ABORTED)
    assert survey.documents == {name: "withdrawn" for name in drafts}
    assert {s for s, a in survey.actions if a == "withdraw-document"} == {
        "draft-transfer-proposal",
        "draft-statute-change",
    }
    assert sum(key.endswith(":abort:notify-parties") for key in survey.outbox_keys) == 1
    assert step_of(final, "council-round").status is StepStatus.CANCELLED
