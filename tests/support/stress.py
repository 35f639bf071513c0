"""Random concurrent mixes of messages to many trajectories, then every invariant checked and
every history replayed. Used small by tests/test_message_stress.py (in CI) and large by
bench/stress.py (by hand).

Several clients send at once, each from the status it last read (so messages are often stale,
duplicated or contradictory, as from coordinators working side by side): decisions of random
parties with random outcomes (parties, non-parties, authorities that already decided),
task completions, amendments, joins, new effective dates and, rarely, an abort; some go as
signals with plain JSON, as the Web UI and the `temporal` CLI send them. The run is bounded
by a message count and a wall-clock limit.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from db.register import upsert_cooperations
from operations.messages import UpdateName, stamped
from operations.start import start_trajectory
from schemas.common import CooperationKind
from schemas.common import Outcome as Vote
from schemas.register import CooperationFiche
from schemas.trajectory import (
    AbortRequest,
    Amendment,
    EffectiveDateChange,
    JoinRequest,
    StepStatus,
    TaskCompletion,
    TrajectoryStatus,
)
from templates.loader import load_template
from tests.support.concurrency import (
    Outcome,
    assert_healthy,
    assert_journal_complete,
    assert_refused_cleanly,
    send,
    status_of,
)
from tests.support.members import MUNICIPALITIES
from tests.support.trajectories import decision, make_request, participant

KINDS = tuple(CooperationKind)
# Authorities that can join on the way (olievlek): not among a trajectory's first parties.
JOINERS = (*MUNICIPALITIES[8:], "wvi")


@dataclass(frozen=True)
class StressPlan:
    trajectories: int = 3
    clients: int = 4
    messages: int = 120  # in all, across the trajectories
    seconds: float = 120.0  # wall-clock bound of the sending
    seed: int = 20261201
    abort_share: float = 0.01
    signal_share: float = 0.2


@dataclass
class StressReport:
    sent: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    signals: int = 0
    closed: int = 0  # sent to a trajectory that had ended meanwhile
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def summary(self) -> str:
        total = sum(self.sent.values())
        kinds = ", ".join(
            f"{name} {self.sent[name]} ({self.applied[name]} applied, {self.refused[name]} refused)"
            for name in sorted(self.sent)
        )
        return f"{total} updates and {self.signals} signals in {self.elapsed:.1f} s: {kinds}"


def _cooperation(index: int, salt: str) -> tuple[str, str]:
    return (f"stress-{salt}-{index}", f"Stresstest {index}")


async def start_trajectories(
    client: Client, database_url: str, task_queue: str, plan: StressPlan, today: date, salt: str
) -> list[WorkflowHandle[Any, Any]]:
    """One trajectory per index, kinds in turn, half of the 16 municipalities as parties."""
    handles: list[WorkflowHandle[Any, Any]] = []
    conn = await asyncpg.connect(database_url)
    try:
        for index in range(plan.trajectories):
            kind = KINDS[index % len(KINDS)]
            cooperation = _cooperation(index, salt)
            await upsert_cooperations(
                conn, [CooperationFiche(id=cooperation[0], name=cooperation[1], kind=kind)]
            )
            request = make_request(
                kind, participants=MUNICIPALITIES[:8], start=today, cooperation=cooperation
            )
            handles.append(await start_trajectory(client, task_queue, request))
    finally:
        await conn.close()
    return handles


def _message(
    rng: random.Random, status: TrajectoryStatus, plan: StressPlan, *, late: bool
) -> tuple[UpdateName, BaseModel]:
    """A random message, plausible or not, for a trajectory last seen as `status`."""
    today = status.today
    open_steps = [s for s in status.steps if s.status is StepStatus.OPEN]
    roll = rng.random()
    if late and roll < plan.abort_share:  # late in the run, so most trajectories get far
        return "abort", AbortRequest(reason="stresstest: stopgezet", aborted_by="stress")
    if roll < 0.55:
        decisions = [s for s in open_steps if s.parties] or [rng.choice(status.steps)]
        step = rng.choice(decisions)
        parties = [p.authority_id for p in step.parties] or ["dvv-midwest-rvb"]
        authority = rng.choice([*parties, *parties, rng.choice(MUNICIPALITIES)])
        vote = rng.choices(
            (Vote.APPROVE, Vote.REJECT, Vote.ABSTAIN, Vote.POSTPONE), weights=(75, 12, 8, 5)
        )[0]
        return "decide", decision(authority, today, vote, step_id=step.id)
    if roll < 0.75:
        tasks = [s.id for s in open_steps if s.kind.value == "task"] or [
            rng.choice(status.steps).id
        ]
        completion = TaskCompletion(
            step_id=rng.choice(tasks), evidence=f"doc://{rng.randrange(9)}", completed_by="stress"
        )
        return "complete_task", completion
    if roll < 0.85:
        return "amend", Amendment(reason="stresstest: voorstel aangepast", amended_by="stress")
    if roll < 0.93:
        joiner = rng.choice(JOINERS)
        return "join", JoinRequest(participant=participant(joiner), joined_by="stress")
    # Around the assembly, or the planned effective date for a route without one.
    base = status.planned_av_date or status.effective_date
    effective = base + timedelta(days=rng.randrange(-30, 400))
    change = EffectiveDateChange(effective_date=effective, reason="stresstest", changed_by="stress")
    return "set_effective_date", change


async def _client(
    rng: random.Random,
    handles: list[WorkflowHandle[Any, Any]],
    plan: StressPlan,
    budget: list[int],
    deadline: float,
    report: StressReport,
) -> None:
    seen: dict[str, TrajectoryStatus] = {}
    while budget[0] > 0 and time.monotonic() < deadline:
        budget[0] -= 1
        handle = rng.choice(handles)
        if handle.id not in seen or rng.random() < 0.5:
            seen[handle.id] = await status_of(handle)
        status = seen[handle.id]
        if status.finished_on is not None:
            continue
        name, message = _message(rng, status, plan, late=budget[0] < plan.messages // 3)
        if rng.random() < plan.signal_share:
            try:
                await handle.signal(f"{name}_signal", stamped(message).model_dump(mode="json"))
            except RPCError as exc:  # the trajectory ended in the meantime
                assert exc.status is RPCStatusCode.NOT_FOUND, exc
            report.signals += 1
            continue
        began = time.monotonic()
        outcome: Outcome = await send(handle, name, message)
        report.latencies.append(time.monotonic() - began)
        report.sent[name] += 1
        if outcome.closed:
            report.closed += 1
        elif outcome.refusal is not None:
            assert_refused_cleanly(outcome)
            report.refused[name] += 1
        else:
            report.applied[name] += 1


async def run_stress(handles: list[WorkflowHandle[Any, Any]], plan: StressPlan) -> StressReport:
    rng = random.Random(plan.seed)
    report = StressReport()
    budget = [plan.messages]
    began = time.monotonic()
    deadline = began + plan.seconds
    await asyncio.gather(
        *(
            _client(random.Random(rng.random()), handles, plan, budget, deadline, report)
            for _ in range(plan.clients)
        )
    )
    report.elapsed = time.monotonic() - began
    return report


def check_invariants(status: TrajectoryStatus) -> None:
    """What must hold whatever the messages were: the timeline numbered 1..N; no step open or
    done before its dependencies, none done before it opened; nothing open once ended;
    every rejected signal counted."""
    assert [e.seq for e in status.timeline] == list(range(1, len(status.timeline) + 1))
    template = load_template(status.kind)
    steps = {s.id: s for s in status.steps}
    for spec in template.steps:
        if spec.id not in steps:
            continue  # a step the request does not need (rules/template_fit.py)
        step = steps[spec.id]
        if step.status in (StepStatus.DONE, StepStatus.OPEN):
            for dependency in spec.depends_on:
                if dependency not in steps:
                    continue
                assert steps[dependency].status in (StepStatus.DONE, StepStatus.COMPENSATED), (
                    f"{status.cooperation_id}: {spec.id} is {step.status.value} before "
                    f"{dependency} is done"
                )
        if step.status is StepStatus.DONE:
            assert step.opened_on is not None and step.completed_on is not None
            assert step.opened_on <= step.completed_on, f"{spec.id} done before it opened"
    if status.finished_on is not None:
        still_open = [s.id for s in status.steps if s.status is StepStatus.OPEN]
        assert not still_open, f"{status.cooperation_id} ended with open steps {still_open}"
    rejected = sum(1 for e in status.timeline if e.kind == "message-rejected")
    assert rejected == status.rejected_messages


async def check_all(
    handles: list[WorkflowHandle[Any, Any]], database_url: str
) -> dict[str, TrajectoryStatus]:
    """Every trajectory healthy (no failed task, status answering, history replaying), its
    invariants holding and its audit trail in PostgreSQL complete."""
    conn = await asyncpg.connect(database_url)
    statuses: dict[str, TrajectoryStatus] = {}
    try:
        for handle in handles:
            status = await assert_healthy(handle)
            check_invariants(status)
            await assert_journal_complete(conn, handle, status)
            statuses[handle.id] = status
    finally:
        await conn.close()
    return statuses


async def terminate(handles: list[WorkflowHandle[Any, Any]]) -> None:
    for handle in handles:
        if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            await handle.terminate("stress run ended")
