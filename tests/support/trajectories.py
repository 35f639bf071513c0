"""Helpers to run real trajectories in tests: a worker on a fresh task queue, requests built
from the seeded register, and a driver that plays the coordinator and the councils."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.registry import activities_for
from operations.messages import stamped
from operations.start import start_trajectory
from schemas.common import AuthorityKind, CooperationKind, Outcome
from schemas.template import ASSEMBLY_BODY
from schemas.trajectory import (
    Ack,
    Asset,
    Calendar,
    DecisionInput,
    DelegateVote,
    Participant,
    StaffMember,
    StepStatus,
    StepView,
    TaskCompletion,
    TrajectoryRequest,
    TrajectoryStatus,
)
from worker import WORKFLOW_RUNNER
from workflows.registry import WORKFLOWS

COOPERATION_FOR_KIND = {
    CooperationKind.PROJECTVERENIGING: ("projectvereniging-bie", "Projectvereniging BIE"),
    CooperationKind.SHARED_SERVICE: (
        "intergemeentelijk-archiefteam",
        "Intergemeentelijk archiefteam",
    ),
    CooperationKind.REGIONAL_ROLE: ("regierol-sociale-economie", "Regierol sociale economie"),
    # The register records the Regionaal Sportoverleg as dissolved (2020): nothing to start.
    CooperationKind.INFORMAL_OVERLEG: ("sport-midwest", "Sport Midwest"),
    CooperationKind.INTERLOKALE_VERENIGING: ("wijk-werken", "Wijk-werken"),
}


def participant(authority_id: str, votes: int = 1) -> Participant:
    if authority_id == "wvi":
        return Participant(
            authority_id="wvi", name="WVI", kind=AuthorityKind.INTERCOMMUNALE, votes=votes
        )
    return Participant(authority_id=authority_id, name=authority_id.capitalize(), votes=votes)


def make_request(
    kind: CooperationKind = CooperationKind.PROJECTVERENIGING,
    *,
    participants: tuple[str, ...] = ("roeselare", "izegem", "tielt"),
    start: date,
    av_after_days: int = 180,
    effective_after_days: int = 240,
    speed: float = 1.0,
    cooperation: tuple[str, str] | None = None,
) -> TrajectoryRequest:
    """A request that fits the kind's template (rules/template_fit.py): an informal overleg
    has no general assembly, staff or assets; a regional role no assets; a shared service
    names its trekkende gemeente (the first participant)."""
    cooperation_id, name = cooperation or COOPERATION_FOR_KIND[kind]
    informal = kind is CooperationKind.INFORMAL_OVERLEG
    return TrajectoryRequest(
        cooperation_id=cooperation_id,
        cooperation_name=name,
        kind=kind,
        participants=tuple(participant(p) for p in participants),
        planned_av_date=None if informal else start + timedelta(days=av_after_days),
        effective_date=start + timedelta(days=effective_after_days),
        staff=()
        if informal
        else (
            StaffMember(name="An Peeters", statute="contractual"),
            StaffMember(name="Bram Claes", statute="statutory", route="secondment"),
        ),
        assets=()
        if informal or kind is CooperationKind.REGIONAL_ROLE
        else (Asset(description="Erfgoeddepot inrichting", kind="asset", value_eur=12000),),
        coordinator="Coördinator Midwest",
        calendar=Calendar(speed=speed),
        host=participants[0] if kind is CooperationKind.SHARED_SERVICE else None,
    )


# Tests of what a trajectory does run their worker with a workflow cache: without one, every
# workflow task replays the whole history, and those tests took four times as long. Tests of
# how the product's workers behave (concurrent messages, the stress run) pass the product's own
# setting, `cache=worker.WORKFLOW_CACHE_SIZE`, and the durability suite runs worker.py itself;
# the replay tests check every recorded history on the current code.
TEST_WORKFLOW_CACHE = 1000

# Test workers run the workflows as the product's worker does, without the sandbox
# (worker.WORKFLOW_RUNNER): the sandbox doubled the CPU of every workflow task and the suite
# outgrew its time budget. The sandbox still runs every path that reaches a history: each
# recorded history (tests/test_replay.py) and each history the concurrency, stress and
# durability tests check (`assert_healthy`, `assert_replays`) is replayed in it. The paths no
# replay takes (queries, what runs only live) run in it in the templates' test, whose workers
# pass `sandboxed=True`, and tests/test_workflow_determinism.py checks the source.
SANDBOXED = SandboxedWorkflowRunner()


# Trajectories started through `start` per task queue, so that a failing test does not leave
# a live trajectory behind that blocks the next test's start for the same cooperation.
_STARTED: dict[str, list[WorkflowHandle[Any, Any]]] = {}


async def start(
    client: Client, task_queue: str, request: TrajectoryRequest
) -> WorkflowHandle[Any, TrajectoryStatus]:
    handle = await start_trajectory(client, task_queue, request)
    _STARTED.setdefault(task_queue, []).append(handle)
    return handle


@asynccontextmanager
async def running_worker(
    client: Client,
    database_url: str,
    *,
    cache: int = TEST_WORKFLOW_CACHE,
    sandboxed: bool = False,
) -> AsyncIterator[str]:
    """A worker on a fresh task queue against the given database; yields the task queue.
    `cache=WORKFLOW_CACHE_SIZE` gives it the product's own workflow cache (worker.py);
    `sandboxed=True` runs the workflows in the SDK's sandbox. On exit, trajectories started
    with `start` on that queue and still running are terminated."""
    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(database_url, min_size=0, max_size=5)
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=activities_for(pool),
            max_cached_workflows=cache,
            workflow_runner=SANDBOXED if sandboxed else WORKFLOW_RUNNER,
        ):
            try:
                yield task_queue
            finally:
                for handle in _STARTED.pop(task_queue, []):
                    description = await handle.describe()
                    if description.status is WorkflowExecutionStatus.RUNNING:
                        await handle.terminate("left running by a test")
    finally:
        await pool.close()


Send = Callable[[str, BaseModel], Awaitable[Any]]


def via_signals(handle: WorkflowHandle[Any, Any]) -> Send:
    """Send messages as signals with plain JSON (the time-skipping server has no updates)."""

    async def send(name: str, message: BaseModel) -> None:
        await handle.signal(f"{name}_signal", stamped(message).model_dump(mode="json"))

    return send


def via_updates(handle: WorkflowHandle[Any, Any]) -> Send:
    async def send(name: str, message: BaseModel) -> Ack:
        result: Ack = await handle.execute_update(name, stamped(message), result_type=Ack)
        return result

    return send


async def status_of(handle: WorkflowHandle[Any, Any]) -> TrajectoryStatus:
    result: TrajectoryStatus = await handle.query("status", result_type=TrajectoryStatus)
    return result


async def wait_for(
    handle: WorkflowHandle[Any, Any],
    predicate: Callable[[TrajectoryStatus], bool],
    *,
    env: WorkflowEnvironment | None = None,
    step: timedelta = timedelta(hours=6),
    attempts: int = 500,
) -> TrajectoryStatus:
    """Poll the status until `predicate` holds. On the time-skipping server each failed poll
    lets workflow time pass, `step` at first and doubling up to 4 days, so long legal
    periods pass in a few polls while a step that opens is still answered within days;
    elsewhere it waits for the workflow to move."""
    import asyncio

    for _ in range(attempts):
        status = await status_of(handle)
        if predicate(status):
            return status
        if env is not None and env.supports_time_skipping:
            await env.sleep(step)
            step = min(step * 2, timedelta(days=4))
        else:
            await asyncio.sleep(0.05)  # poll interval for a real-time server, bounded by attempts
    raise AssertionError(f"condition not reached; last phase {status.phase.value}")


def timeline_longer_than(length: int) -> Callable[[TrajectoryStatus], bool]:
    return lambda status: len(status.timeline) > length


def decision(
    authority_id: str, today: date, outcome: Outcome = Outcome.APPROVE, **extra: Any
) -> DecisionInput:
    return DecisionInput(
        authority_id=authority_id,
        outcome=outcome,
        session_date=today,
        reference=f"https://{authority_id}.example/besluit/{today.isoformat()}",
        recorded_by="Secretariaat Midwest",
        **extra,
    )


def can_be_done(step: StepView, status: TrajectoryStatus) -> bool:
    """An open task whose earliest day (a meeting after its convocation) has come."""
    return (
        step.status is StepStatus.OPEN
        and step.kind.value == "task"
        and (step.earliest is None or step.earliest <= status.today)
    )


def _silent(
    step_id: str, authority_id: str, silent: frozenset[str], silent_in: frozenset[str] | None
) -> bool:
    return authority_id in silent and (silent_in is None or step_id in silent_in)


def actionable(
    status: TrajectoryStatus,
    silent: frozenset[str] = frozenset(),
    silent_in: frozenset[str] | None = None,
) -> bool:
    return any(
        can_be_done(step, status)
        or (
            step.status is StepStatus.OPEN
            and any(
                p.outcome is None and not _silent(step.id, p.authority_id, silent, silent_in)
                for p in step.parties
            )
        )
        for step in status.steps
    )


def delegates_approving(status: TrajectoryStatus) -> tuple[DelegateVote, ...]:
    """Every member's delegate approving (the participants stand in for a request that
    carries no members), as a general assembly's approval must show."""
    return tuple(
        DelegateVote(authority_id=m.authority_id, outcome=Outcome.APPROVE)
        for m in (status.members or status.participants)
    )


def decision_in(
    status: TrajectoryStatus, step_id: str, authority_id: str, outcome: Outcome = Outcome.APPROVE
) -> DecisionInput:
    """`decision` for a step of `status`, with the delegates' votes when the general
    assembly approves."""
    extra: dict[str, Any] = {"step_id": step_id}
    if authority_id == ASSEMBLY_BODY and outcome is Outcome.APPROVE:
        extra["delegates"] = delegates_approving(status)
    return decision(authority_id, status.today, outcome, **extra)


async def play_everyone(
    handle: WorkflowHandle[Any, Any],
    send: Send,
    *,
    env: WorkflowEnvironment | None = None,
    outcome_for: Callable[[str, str], Outcome] | None = None,
    silent: frozenset[str] = frozenset(),
    silent_in: frozenset[str] | None = None,
    until: Callable[[TrajectoryStatus], bool] = lambda s: s.finished_on is not None,
) -> TrajectoryStatus:
    """Complete every open task and decide every pending decision until `until` holds.
    Parties in `silent` never answer (their silence becomes abstention at the deadline), in
    the steps of `silent_in` only when it is given."""
    for _ in range(400):
        status = await wait_for(
            handle, lambda s: until(s) or actionable(s, silent, silent_in), env=env
        )
        if until(status):
            return status
        seq = len(status.timeline)
        for step in status.steps:
            if step.status is not StepStatus.OPEN:
                continue
            if can_be_done(step, status):
                await send(
                    "complete_task",
                    TaskCompletion(
                        step_id=step.id, evidence=f"doc://{step.id}", completed_by="Coördinator"
                    ),
                )
            for party in step.parties:
                if party.outcome is None and not _silent(
                    step.id, party.authority_id, silent, silent_in
                ):
                    outcome = (
                        outcome_for(step.id, party.authority_id) if outcome_for else Outcome.APPROVE
                    )
                    await send("decide", decision_in(status, step.id, party.authority_id, outcome))
        await wait_for(handle, timeline_longer_than(seq), env=env)
    raise AssertionError("trajectory did not finish within 400 rounds of messages")
