"""Workers killed again and again, at moments nobody chose, while trajectories run.

The targeted crash tests kill a worker at points we know matter. This one kills at random
(seeded; the seed is printed on failure), six times, half a second to two seconds apart,
while the trajectories run: a workflow task can be left to time out on a dead worker, an
activity can be cut off halfway, a status query can land on a worker that is going away.
Each trajectory must still integrate, lose nothing (`check_nothing_lost`) and, since that
check replays every history on a fresh worker, leave a history that replays. This test found
that a worker's decisions could differ from a replay's after a workflow task timed out (see
"The calendar moves with recorded facts" and "Workers keep no workflow cache" in
docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import asyncpg
import pytest

from schemas.common import CooperationKind, StepKind
from schemas.template import Phase
from schemas.trajectory import StepStatus, TrajectoryRequest, TrajectoryStatus
from templates.loader import load_template
from tests.support.faults import (
    Trajectories,
    WorkerProcess,
    Workers,
    check_nothing_lost,
    days,
    drive,
    request_for,
    result_of,
)

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(300)]

# Three kinds (the two-worker test covers the others): each trajectory costs CPU on every
# workflow task, and the whole suite has ten minutes on two cores.
KINDS = (
    CooperationKind.PROJECTVERENIGING,
    CooperationKind.SHARED_SERVICE,
    CooperationKind.INTERLOKALE_VERENIGING,
)
# Enough kills that lost workflow tasks and cut-off activities are certain to occur. The
# effective date lies 20 s of wall time ahead, and each trajectory's last task is held until
# that many kills happened: a faster worker, or a slow start of a fresh one on a loaded
# machine (each kill waits up to 2 s, then for the new worker to poll), cannot let the
# trajectories end first.
AT_LEAST_KILLS = 3
# Every kill costs a worker start (seconds of CPU on a small machine): enough, not more.
AT_MOST_KILLS = 6


def finished(status: TrajectoryStatus) -> bool:
    return status.finished_on is not None


def last_task(kind: CooperationKind) -> str:
    """The template's last task: held until enough kills happened."""
    return next(s.id for s in reversed(load_template(kind).steps) if s.kind is StepKind.TASK)


def held_open(step_id: str) -> Callable[[TrajectoryStatus], bool]:
    return lambda s: any(v.id == step_id and v.status is StepStatus.OPEN for v in s.steps)


async def test_trajectories_survive_workers_killed_at_random(
    workers: Workers, trajectories: Trajectories, db: asyncpg.Connection
) -> None:
    """Fault: two workers serve three trajectories of three kinds; six times, at random
    moments half a second to two seconds apart, one of them is killed with SIGKILL and a new
    one started; then the trajectories finish.
    Checked: at least three kills happened while trajectories ran; every trajectory
    integrated with every invariant of `check_nothing_lost`, and its history replays."""
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    print(f"kill schedule seed: {seed}")  # shown with the output of a failed run
    alive: list[WorkerProcess] = [await workers.start(), await workers.start()]
    requests: list[TrajectoryRequest] = []
    handles = []
    for index, kind in enumerate(KINDS):
        request = request_for(
            kind, trajectories.cooperation(f"chaos-{index}"), effective_after_days=days(20)
        )
        requests.append(request)
        handles.append(await trajectories.start(request))

    kills = 0
    all_done = asyncio.Event()
    enough_kills = asyncio.Event()

    async def kill_at_random() -> None:
        nonlocal kills
        while kills < AT_MOST_KILLS and not all_done.is_set():
            await asyncio.sleep(chance.uniform(0.5, 2.0))
            if all_done.is_set():
                return
            victim = alive.pop(chance.randrange(len(alive)))
            victim.kill()
            kills += 1
            if kills >= AT_LEAST_KILLS:
                enough_kills.set()
            alive.append(await workers.start())

    killer = asyncio.create_task(kill_at_random())
    try:
        last = [last_task(kind) for kind in KINDS]
        await asyncio.gather(
            *(
                drive(
                    h,
                    until=held_open(step),
                    hold=frozenset({step}),
                    within=200,
                    what=f"{h.id} at its last task",
                )
                for h, step in zip(handles, last, strict=True)
            )
        )
        async with asyncio.timeout(120):
            await enough_kills.wait()
        await asyncio.gather(
            *(drive(h, until=finished, within=200, what=f"{h.id} integrated") for h in handles)
        )
    finally:
        all_done.set()
        killer.cancel()
    assert kills >= AT_LEAST_KILLS, f"only {kills} kills happened (seed {seed})"

    for handle, request in zip(handles, requests, strict=True):
        final = await result_of(handle, within=60)
        await check_nothing_lost(db, handle, request, final, phase=Phase.INTEGRATED)
