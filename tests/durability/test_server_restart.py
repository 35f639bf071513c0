"""The Temporal dev server stopped and started again on its state file in the middle of a
decision round, with a worker running throughout."""

from __future__ import annotations

import asyncpg
import pytest

from schemas.common import CooperationKind
from schemas.template import Phase
from schemas.trajectory import StepStatus, TrajectoryStatus
from stack.temporal_dev import TemporalDevServer
from tests.support.faults import (
    Trajectories,
    Workers,
    check_nothing_lost,
    days,
    decided,
    drive,
    eventually,
    fired_timers,
    history,
    request_for,
    result_of,
    status_when,
    step_of,
    trajectory_id,
    utcnow,
)

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(150)]

COUNCILS = ("roeselare", "izegem", "tielt", "staden")


def finished(status: TrajectoryStatus) -> bool:
    return status.finished_on is not None


async def test_server_restart_keeps_decisions_and_the_deadline_still_closes_the_round(
    temporal_server: TemporalDevServer,
    workers: Workers,
    trajectories: Trajectories,
    db: asyncpg.Connection,
) -> None:
    """Fault: the Temporal dev server is stopped (SIGTERM) and started again on the same state
    file while a council round (qualified majority) is open: three councils have decided,
    the fourth stays silent. Checked: after the restart the status query and the decisions
    table still hold the three decisions with their content; the round's deadline timer
    fires after the restart and closes the round (the silent council counted as abstaining,
    one escalation in the outbox); the same worker process carries on and the trajectory
    integrates, with every invariant of `check_nothing_lost`."""
    request = request_for(
        CooperationKind.REGIONAL_ROLE,
        trajectories.cooperation("restart"),
        participants=COUNCILS,
        av_after_days=days(8),
        effective_after_days=days(8) + 60,
    )
    worker = await workers.start()
    handle = await trajectories.start(request, rounds_close=True)
    tid = trajectory_id(handle)
    before = await drive(
        handle,
        silent=frozenset({"staden"}),
        until=lambda s: decided(s, "council-round") == {"roeselare", "izegem", "tielt"},
        within=60,
        what="three councils decided",
    )
    council_before = step_of(before, "council-round")
    assert council_before.status is StepStatus.OPEN

    async def stored() -> dict[str, str] | None:
        rows = await db.fetch(
            "SELECT authority_id, reference FROM decisions "
            "WHERE trajectory_id = $1 AND step_id = 'council-round'",
            tid,
        )
        found = {r["authority_id"]: r["reference"] for r in rows}
        return found if len(found) == 3 else None

    references = await eventually(stored, within=30, what="three decisions persisted")

    stopped_at = utcnow()
    temporal_server.stop()
    assert temporal_server.process is not None and temporal_server.process.returncode is not None
    await temporal_server.start(within=60)
    restarted_at = utcnow()

    after = await status_when(handle, lambda s: True, within=60, what="status after the restart")
    council_after = step_of(after, "council-round")
    assert {p.authority_id: p.decision for p in council_after.parties if p.decision} == {
        p.authority_id: p.decision for p in council_before.parties if p.decision
    }
    assert await stored() == references

    closed = await status_when(
        handle,
        lambda s: step_of(s, "council-round").status is StepStatus.DONE,
        within=60,
        what="the deadline closed the round",
    )
    staden = next(p for p in step_of(closed, "council-round").parties if p.authority_id == "staden")
    assert staden.counted_as_abstention
    await drive(handle, until=finished, within=90, what="integrated after the restart")
    final = await result_of(handle, within=30)

    survey = await check_nothing_lost(db, handle, request, final, phase=Phase.INTEGRATED)
    round_closed = [e for e in survey.events if e["kind"] == "round-closed"]
    assert len(round_closed) == 1
    # Closed by a timer the restarted server fired: nothing ran between stop and restart.
    assert round_closed[0]["at"].replace(tzinfo=None) > stopped_at
    assert sum(":council-round:escalation:" in key for key in survey.outbox_keys) == 1
    decisions = [e for e in survey.events if e["kind"] == "decision-recorded"]
    council_decisions = [e for e in decisions if e["step_id"] == "council-round"]
    assert len(council_decisions) == 3
    assert all(e["at"].replace(tzinfo=None) < stopped_at for e in council_decisions)
    fired_after = [at for at in fired_timers(await history(handle)).values() if at > stopped_at]
    assert fired_after, "no timer fired after the restart"
    assert restarted_at > stopped_at
    assert worker.alive(), "the worker should have ridden out the restart"
