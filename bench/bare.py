"""The bare Temporal workflow the trajectory is measured against: no project code, only the
same number of updates and activities, in the same order, as a real trajectory's history.

`BarePlan.activities[0]` activities run at the start, `activities[i]` after the i-th update
(counted from a trajectory's history in the same run, see bench/histories.py). Each update
is answered at once, as the trajectory answers before its journal reaches PostgreSQL; the
activities it causes run afterwards, one after the other, as the journal's flusher runs.
The workflow ends once every planned update arrived and every activity ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

BARE_WORKFLOW = "BareWorkflow"


@dataclass(frozen=True)
class BarePlan:
    activities: list[int]  # before the first update, then after each update

    @property
    def updates(self) -> int:
        return len(self.activities) - 1


@activity.defn(name="bare_step")
async def bare_step(number: int) -> int:
    return number


@workflow.defn(name=BARE_WORKFLOW)
class BareWorkflow:
    def __init__(self) -> None:
        self._received = 0

    @workflow.run
    async def run(self, plan: BarePlan) -> int:
        ran = 0
        for handled, count in enumerate(plan.activities):
            await workflow.wait_condition(self._has_received(handled))
            for _ in range(count):
                ran = await workflow.execute_activity(
                    bare_step, ran + 1, start_to_close_timeout=timedelta(seconds=10)
                )
        return ran

    def _has_received(self, count: int) -> Callable[[], bool]:
        return lambda: self._received >= count

    @workflow.update
    def advance(self, note: str) -> int:
        self._received += 1
        return self._received

    @workflow.query
    def received(self) -> int:
        return self._received
