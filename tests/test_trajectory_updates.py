"""Updates with validators on the real dev server: the caller gets an answer, a refused
message changes nothing, a repeated one is a no-op."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from operations.messages import refusal_reason
from operations.requests import TrajectoryExists
from operations.start import start_trajectory
from schemas.common import CooperationKind, Outcome
from schemas.trajectory import (
    AbortRequest,
    Amendment,
    EffectiveDateChange,
    JoinRequest,
    RefusalReason,
    StepStatus,
    TaskCompletion,
    TrajectoryStatus,
)
from tests.support.trajectories import (
    decision,
    make_request,
    participant,
    play_everyone,
    running_worker,
    start,
    status_of,
    via_updates,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def council_round(
    dev_env: WorkflowEnvironment, database_url: str
) -> AsyncIterator[tuple[WorkflowHandle[Any, Any], TrajectoryStatus]]:
    """A projectvereniging trajectory whose council round is open (real time, no waits yet)."""
    today = (await dev_env.get_current_time()).date()
    request = make_request(CooperationKind.PROJECTVERENIGING, start=today)
    async with running_worker(dev_env.client, database_url) as queue:
        handle = await start(dev_env.client, queue, request)
        status = await play_everyone(
            handle,
            via_updates(handle),
            until=lambda s: any(
                x.id == "council-round" and x.status is StepStatus.OPEN for x in s.steps
            ),
        )
        yield handle, status
        description = await handle.describe()
        if description.status is WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test finished")


async def refusal(
    handle: WorkflowHandle[Any, Any], name: str, message: Any
) -> WorkflowUpdateFailedError:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(name, message)
    return failure.value


async def refused(handle: WorkflowHandle[Any, Any], name: str, message: Any) -> str:
    return str((await refusal(handle, name, message)).cause)


async def test_decision_is_recorded_and_repeat_is_a_no_op(
    council_round: tuple[WorkflowHandle[Any, Any], TrajectoryStatus],
) -> None:
    handle, status = council_round
    send = via_updates(handle)
    # Each council has two open decisions (the members' round and the participants' own):
    # the step is named.
    first = await send("decide", decision("izegem", status.today, step_id="council-round"))
    assert not first.no_op and "recorded" in first.message
    again = await send("decide", decision("izegem", status.today, step_id="council-round"))
    assert again.no_op
    after = await status_of(handle)
    council = next(x for x in after.steps if x.id == "council-round")
    assert next(p for p in council.parties if p.authority_id == "izegem").outcome is not None
    assert (
        sum(
            1
            for e in after.timeline
            if e.kind == "decision-recorded" and e.authority_id == "izegem"
        )
        == 1
    )


async def test_conflicting_decision_is_refused_with_the_validators_message(
    council_round: tuple[WorkflowHandle[Any, Any], TrajectoryStatus],
) -> None:
    handle, status = council_round
    await via_updates(handle)("decide", decision("tielt", status.today, step_id="council-round"))
    before = len((await status_of(handle)).timeline)
    message = await refused(
        handle,
        "decide",
        decision("tielt", status.today, Outcome.REJECT, step_id="council-round"),
    )
    assert "already decided 'approve'" in message and "amendment" in message
    assert len((await status_of(handle)).timeline) == before


@pytest.mark.parametrize(
    ("name", "build", "expected"),
    [
        ("decide", lambda t: decision("ledegem", t), "not a party"),
        ("decide", lambda t: decision("izegem", t + timedelta(days=3)), "lies in the future"),
        ("decide", lambda t: decision("izegem", t, step_id="general-assembly"), "no open decision"),
        ("decide", lambda t: decision("izegem", t, step_id="no-such-step"), "no step"),
        (
            "complete_task",
            lambda t: TaskCompletion(step_id="execute-deed", evidence="x", completed_by="c"),
            "not open yet",
        ),
        (
            "complete_task",
            lambda t: TaskCompletion(step_id="council-round", evidence="x", completed_by="c"),
            "not a task",
        ),
        (
            "complete_task",
            lambda t: TaskCompletion(step_id="nope", evidence="x", completed_by="c"),
            "no task",
        ),
        ("amend", lambda t: Amendment(reason="r", amended_by="c"), "nothing to amend"),
        (
            "join",
            lambda t: JoinRequest(participant=participant("izegem"), joined_by="c"),
            "already takes part",
        ),
        (
            "set_effective_date",
            lambda t: EffectiveDateChange(
                effective_date=t - timedelta(days=1), reason="r", changed_by="c"
            ),
            "backdating",
        ),
    ],
    ids=[
        "not-a-party",
        "future-session",
        "step-not-open",
        "unknown-step",
        "task-not-open",
        "decision-is-not-a-task",
        "unknown-task",
        "amend-without-rejection",
        "join-twice",
        "backdated-effective-date",
    ],
)
async def test_validators_refuse_and_change_nothing(
    council_round: tuple[WorkflowHandle[Any, Any], TrajectoryStatus],
    name: str,
    build: Any,
    expected: str,
) -> None:
    handle, status = council_round
    before = await status_of(handle)
    failure = await refusal(handle, name, build(status.today))
    assert expected in str(failure.cause)
    # A client tells a step not open from a wrong message by the reason, not by the text.
    not_open = expected in ("no open decision", "not open yet")
    reason = RefusalReason.NOT_OPEN if not_open else RefusalReason.INVALID
    assert refusal_reason(failure) is reason
    after = await status_of(handle)
    assert after.timeline == before.timeline
    assert after.steps == before.steps


async def test_second_live_trajectory_for_a_cooperation_is_refused(
    council_round: tuple[WorkflowHandle[Any, Any], TrajectoryStatus], dev_env: WorkflowEnvironment
) -> None:
    _, status = council_round
    request = make_request(CooperationKind.PROJECTVERENIGING, start=status.today)
    with pytest.raises(TrajectoryExists, match="already running"):
        await start_trajectory(dev_env.client, "any-queue", request)


async def test_abort_after_is_refused_for_later_messages(
    council_round: tuple[WorkflowHandle[Any, Any], TrajectoryStatus],
) -> None:
    handle, status = council_round
    ack = await via_updates(handle)("abort", AbortRequest(reason="stop", aborted_by="c"))
    assert "abort accepted" in ack.message
    final: TrajectoryStatus = await handle.result()
    assert final.phase.value == "aborted"
    with pytest.raises(Exception) as failure:
        await handle.execute_update("decide", decision("izegem", status.today))
    assert "completed" in str(failure.value).lower() or "not found" in str(failure.value).lower()


async def test_decision_without_step_is_persisted_against_its_step(
    council_round: tuple[WorkflowHandle[Any, Any], TrajectoryStatus], database_url: str
) -> None:
    """The sender may leave step_id out when the authority has one open decision; the audit
    trail and the decisions table still record it against that step."""
    handle, status = council_round
    send = via_updates(handle)
    # Its own round first (named), so the members' round is its one open decision.
    await send("decide", decision("roeselare", status.today, step_id="participants-exit"))
    other_besluit = decision("roeselare", status.today).model_copy(
        update={"reference": "https://roeselare.example/besluit/statutenwijziging"}
    )
    ack = await send("decide", other_besluit)
    assert "council-round" in ack.message
    conn = await asyncpg.connect(database_url)
    try:
        row = None
        for _ in range(400):  # bounded wait for the journal flush
            row = await conn.fetchrow(
                "SELECT step_id, outcome FROM decisions WHERE authority_id = 'roeselare' "
                "AND reference = $1",
                other_besluit.reference,
            )
            if row is not None:
                break
            await asyncio.sleep(0.05)
        assert row is not None and dict(row) == {"step_id": "council-round", "outcome": "approve"}
    finally:
        await conn.close()
