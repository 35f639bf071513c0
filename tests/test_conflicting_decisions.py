"""Two coordinators record opposite decisions for the same authority at the same moment.

Exactly one of each pair is recorded and the other is refused with its reason; the
trajectory goes on. Before, a worker without a workflow cache broke on such a pair for good:
the refused update left a workflow task without commands, so did the task that took in the
journal activity's result, and the worker that replayed the run for the next task applied
that result after the next update, an order the history does not hold (sdk_reports/README.md,
claim 1; docs/architecture.md, "Concurrent messages"). The workers here run with the
product's own setting (worker.WORKFLOW_CACHE_SIZE), and every history is replayed at the end.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from schemas.common import CooperationKind
from schemas.common import Outcome as Vote
from schemas.trajectory import (
    Amendment,
    RefusalReason,
    StepStatus,
    TaskCompletion,
    TrajectoryStatus,
)
from tests.support.concurrency import (
    Outcome,
    assert_healthy,
    assert_journal_complete,
    assert_refused_cleanly,
    at_once,
    send,
)
from tests.support.members import MUNICIPALITIES
from tests.support.trajectories import (
    can_be_done,
    decision,
    make_request,
    running_worker,
    start,
    timeline_longer_than,
    wait_for,
)
from worker import WORKFLOW_CACHE_SIZE

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT = Path(__file__).resolve().parent.parent

# Three trajectories race at once: 3 x 6 pairs, across rounds (51 pairs took 90 s of the
# suite's 10 minutes; 18 still cross rejections, amendments and new rounds, which the test
# asserts; bench/stress.py races many more).
PAIRS_PER_TRAJECTORY = 6


def _pending(status: TrajectoryStatus) -> list[tuple[str, str]]:
    return [
        (step.id, party.authority_id)
        for step in status.steps
        if step.status is StepStatus.OPEN and step.kind.value != "task"
        for party in step.parties
        if party.outcome is None
    ]


def _open_tasks(status: TrajectoryStatus) -> list[str]:
    """Open tasks that can be done today (a meeting waits for its convocation period)."""
    return [x.id for x in status.steps if can_be_done(x, status)]


def _ahead_of_the_workflow(outcome: Outcome) -> bool:
    """A worker without a cache answers a query by replaying the whole history, events its
    next workflow task has not taken in yet included: a status may show a step open a moment
    before the workflow opens it, and a message sent on it is refused as "not open yet"
    (docs/architecture.md, "Concurrent messages"). Read the status again and go on."""
    return not outcome.applied and outcome.refusal_reason is RefusalReason.NOT_OPEN


def _actionable(status: TrajectoryStatus) -> bool:
    rejected = any(x.status is StepStatus.REJECTED for x in status.steps)
    return rejected or bool(_open_tasks(status)) or bool(_pending(status))


def _only_waiting(status: TrajectoryStatus) -> bool:
    """Nothing to act on: every open step waits for a date (a legal period, or a task's
    earliest day)."""
    open_steps = [x for x in status.steps if x.status is StepStatus.OPEN]
    return bool(open_steps) and all(
        x.kind.value == "wait" or (x.kind.value == "task" and not can_be_done(x, status))
        for x in open_steps
    )


async def _race_decisions(handle: WorkflowHandle[Any, Any], pairs: int) -> list[list[Outcome]]:
    """Race an approve against a reject for every pending decision, completing tasks and
    amending rejections, until `pairs` races have run or nothing is left to act on (the
    trajectory then waits for a legal period)."""
    raced: list[list[Outcome]] = []
    while len(raced) < pairs:
        status = await wait_for(handle, lambda s: _actionable(s) or _only_waiting(s))
        before = len(status.timeline)
        if any(x.status is StepStatus.REJECTED for x in status.steps):
            amended = await send(
                handle, "amend", Amendment(reason="voorstel aangepast", amended_by="test")
            )
            assert amended.applied, amended
        elif tasks := _open_tasks(status):
            done = await send(
                handle,
                "complete_task",
                TaskCompletion(step_id=tasks[0], evidence="doc://x", completed_by="test"),
            )
            if _ahead_of_the_workflow(done):
                continue
            assert done.applied, done
        elif pending := _pending(status):
            # The participants' own round asks unanimity, so a won rejection there leads to
            # an amendment and a new round; the members' round (a qualified majority of 16)
            # rarely turns on one council.
            step_id, authority = min(pending, key=lambda p: p[0] != "participants-exit")
            raced.append(
                await at_once(
                    *(
                        send(
                            handle,
                            "decide",
                            decision(authority, status.today, vote, step_id=step_id),
                        )
                        for vote in (Vote.APPROVE, Vote.REJECT)
                    )
                )
            )
        else:
            break
        # What the message set going (a step opened, a round settled) is in the status once
        # the next entry is.
        await wait_for(handle, timeline_longer_than(before))
    return raced


COOPERATIONS = (
    ("projectvereniging-bie", "Projectvereniging BIE"),
    ("intergemeentelijk-archiefteam", "Intergemeentelijk archiefteam"),
    ("regierol-sociale-economie", "Regierol sociale economie"),
)


async def test_opposite_decisions_at_once_record_one_and_refuse_the_other(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    today = (await dev_env.get_current_time()).date()
    async with running_worker(dev_env.client, database_url, cache=WORKFLOW_CACHE_SIZE) as queue:
        # Unanimity in the participants' round: every rejection that wins a race there opens
        # a new round after the amendment.
        handles = [
            await start(
                dev_env.client,
                queue,
                make_request(
                    CooperationKind.PROJECTVERENIGING,
                    participants=MUNICIPALITIES,
                    start=today,
                    cooperation=cooperation,
                ),
            )
            for cooperation in COOPERATIONS
        ]
        races = await asyncio.gather(*(_race_decisions(h, PAIRS_PER_TRAJECTORY) for h in handles))
        raced = [pair for per_trajectory in races for pair in per_trajectory]
        wanted = len(COOPERATIONS) * (PAIRS_PER_TRAJECTORY - 1)
        assert len(raced) >= wanted, f"only {len(raced)} races ran"
        for pair in raced:
            applied = [o for o in pair if o.applied]
            refused = [o for o in pair if o.refusal is not None]
            assert len(applied) == 1 and len(refused) == 1, pair
            assert_refused_cleanly(refused[0])
        conn = await asyncpg.connect(database_url)
        amendments = 0
        try:
            for handle, per_trajectory in zip(handles, races, strict=True):
                status = await assert_healthy(handle)
                recorded = [e for e in status.timeline if e.kind == "decision-recorded"]
                assert len(recorded) == len(per_trajectory)
                amendments += sum(e.kind == "amendment" for e in status.timeline)
                await assert_journal_complete(conn, handle, status)
                # The trajectory goes on: the next message is answered, or every round has
                # passed and it waits for the legal period before the assembly. A race that
                # ended on a won rejection leaves the proposal to be amended.
                if any(x.status is StepStatus.REJECTED for x in status.steps):
                    amended = await send(
                        handle, "amend", Amendment(reason="voorstel aangepast", amended_by="test")
                    )
                    assert amended.applied, amended
                elif pending := _pending(status):
                    step_id, authority = pending[0]
                    after = await send(
                        handle,
                        "decide",
                        decision(authority, status.today, Vote.APPROVE, step_id=step_id),
                    )
                    assert after.applied, after
                else:
                    assert _only_waiting(status), status.phase
        finally:
            await conn.close()
        # A won rejection leads to an amendment and a new round: the races crossed rounds.
        assert amendments >= 1, "no race was won by a rejection"


async def test_two_coordinators_at_the_command_line_get_one_recorded_and_one_refused(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    """What a newcomer sees: `starter.py decide T roeselare approve` and `... reject`, run at
    once in two terminals: one exits 0, the other exits 5 with the reason on one line."""
    today = (await dev_env.get_current_time()).date()
    request = make_request(
        CooperationKind.PROJECTVERENIGING, participants=MUNICIPALITIES, start=today
    )
    async with running_worker(dev_env.client, database_url, cache=WORKFLOW_CACHE_SIZE) as queue:
        handle = await start(dev_env.client, queue, request)
        status = await wait_for(handle, lambda s: bool(_pending(s)) or bool(_open_tasks(s)))
        while not any(step == "council-round" for step, _ in _pending(status)):
            if tasks := _open_tasks(status):
                message: Any = TaskCompletion(
                    step_id=tasks[0], evidence="doc://x", completed_by="t"
                )
                sent = await send(handle, "complete_task", message)
            else:
                step_id, authority = _pending(status)[0]
                vote = decision(authority, status.today, Vote.APPROVE, step_id=step_id)
                sent = await send(handle, "decide", vote)
            if _ahead_of_the_workflow(sent):
                status = await wait_for(handle, lambda s: True)
                continue
            assert sent.applied, sent
            before = len(status.timeline)
            status = await wait_for(
                handle,
                lambda s, n=before: (
                    len(s.timeline) > n  # type: ignore[misc]
                    and (bool(_pending(s)) or bool(_open_tasks(s)))
                ),
            )
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "INKANTELING_TASK_QUEUE": queue,
            "DATABASE_URL": database_url,
            "INKANTELING_LOG_LEVEL": "error",
        }

        async def decide(outcome: str) -> tuple[int, str]:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "starter.py",
                "decide",
                request.cooperation_id,
                "roeselare",
                outcome,
                # Roeselare decides in two open rounds (the members' and the participants'):
                # the coordinator names the one meant.
                "--step",
                "council-round",
                "--reference",
                f"RR-{outcome}",
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(process.communicate(), 120)
            assert process.returncode is not None
            return process.returncode, err.decode()

        results = sorted(await asyncio.gather(decide("approve"), decide("reject")))
        (ok_code, _), (refused_code, refused_err) = results
        assert (ok_code, refused_code) == (0, 5), results
        # "already decided 'approve'", or, when the rejection came first and settled the
        # unanimous round, "has no open decision ... right now".
        assert "roeselare" in refused_err and "Traceback" not in refused_err
        assert len(refused_err.strip().splitlines()) == 1, refused_err
        after = await assert_healthy(handle)
        recorded = [
            e
            for e in after.timeline
            if e.kind == "decision-recorded" and e.authority_id == "roeselare"
        ]
        assert len(recorded) == 1
