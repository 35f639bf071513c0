"""Two coordinators record opposite decisions for the same authority at the same moment.

Exactly one of each pair is recorded and the other is refused with its reason; the
trajectory goes on. Until the journal moved into the workflow task that writes it, a worker
without a workflow cache broke on such a pair for good: the refused update left a workflow
task without commands, the result of the journal activity landed in it, and the worker that
replayed the run for the next task applied that result after the next update, an order the
history does not hold (sdk_reports/README.md). The workers here run with the product's own
settings (worker.py), and every history is replayed at the end.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from schemas.common import CooperationKind
from schemas.common import Outcome as Vote
from schemas.trajectory import Amendment, StepStatus, TaskCompletion, TrajectoryStatus
from tests.support.concurrency import (
    Outcome,
    assert_healthy,
    assert_journal_complete,
    assert_refused_cleanly,
    at_once,
    send,
    status_of,
)
from tests.support.trajectories import (
    MUNICIPALITIES,
    decision,
    make_request,
    running_worker,
    start,
    timeline_longer_than,
    wait_for,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

PAIRS_PER_TRAJECTORY = 26


def _pending(status: TrajectoryStatus) -> list[tuple[str, str]]:
    return [
        (step.id, party.authority_id)
        for step in status.steps
        if step.status is StepStatus.OPEN and step.kind.value != "task"
        for party in step.parties
        if party.outcome is None
    ]


async def _race_decisions(handle: WorkflowHandle[Any, Any], pairs: int) -> list[list[Outcome]]:
    """Race an approve against a reject for every pending decision, completing tasks and
    amending rejections, until `pairs` races have run (or the trajectory leaves the rounds)."""
    raced: list[list[Outcome]] = []
    while len(raced) < pairs:
        status = await wait_for(
            handle,
            lambda s: (
                bool(_pending(s))
                or any(x.status is StepStatus.OPEN and x.kind.value == "task" for x in s.steps)
                or any(x.status is StepStatus.REJECTED for x in s.steps)
                or s.phase.value in ("general-assembly", "waiting", "transfer", "integrated")
            ),
        )
        rejected = [x for x in status.steps if x.status is StepStatus.REJECTED]
        if rejected:
            amended = await send(
                handle, "amend", Amendment(reason="voorstel aangepast", amended_by="test")
            )
            assert amended.applied, amended
            await wait_for(
                handle, lambda s: not any(x.status is StepStatus.REJECTED for x in s.steps)
            )
            continue
        tasks = [x for x in status.steps if x.status is StepStatus.OPEN and x.kind.value == "task"]
        for task in tasks:
            done = await send(
                handle,
                "complete_task",
                TaskCompletion(step_id=task.id, evidence=f"doc://{task.id}", completed_by="test"),
            )
            assert done.applied or done.refusal is not None
        pending = _pending(status)
        if not pending and not tasks:
            break
        for step_id, authority in pending[: pairs - len(raced)]:
            before = len((await status_of(handle)).timeline)
            raced.append(
                await at_once(
                    send(
                        handle,
                        "decide",
                        decision(authority, status.today, Vote.APPROVE, step_id=step_id),
                    ),
                    send(
                        handle,
                        "decide",
                        decision(authority, status.today, Vote.REJECT, step_id=step_id),
                    ),
                )
            )
            await wait_for(handle, timeline_longer_than(before))
            if any(x.status is StepStatus.REJECTED for x in (await status_of(handle)).steps):
                break  # a rejection stops the round: amend first
    return raced


@pytest.mark.parametrize("kind", [CooperationKind.PROJECTVERENIGING, CooperationKind.REGIONAL_ROLE])
async def test_opposite_decisions_at_once_record_one_and_refuse_the_other(
    dev_env: WorkflowEnvironment, database_url: str, kind: CooperationKind
) -> None:
    today = (await dev_env.get_current_time()).date()
    request = make_request(kind, participants=MUNICIPALITIES, start=today)
    async with running_worker(dev_env.client, database_url) as queue:
        handle = await start(dev_env.client, queue, request)
        raced = await _race_decisions(handle, PAIRS_PER_TRAJECTORY)
        assert len(raced) == PAIRS_PER_TRAJECTORY, f"only {len(raced)} races ran"
        rounds = {pair[0].name for pair in raced}
        assert rounds == {"decide"}
        for pair in raced:
            applied = [o for o in pair if o.applied]
            refused = [o for o in pair if o.refusal is not None]
            assert len(applied) == 1 and len(refused) == 1, pair
            assert_refused_cleanly(refused[0])
        status = await assert_healthy(handle)
        decided = [e for e in status.timeline if e.kind == "decision-recorded"]
        assert len(decided) >= PAIRS_PER_TRAJECTORY
        conn = await asyncpg.connect(database_url)
        try:
            await assert_journal_complete(conn, handle, status)
        finally:
            await conn.close()
        # The trajectory goes on: one more message is answered.
        pending = _pending(status)
        if pending:
            step_id, authority = pending[0]
            after = await send(
                handle, "decide", decision(authority, status.today, Vote.APPROVE, step_id=step_id)
            )
            assert after.applied, after
