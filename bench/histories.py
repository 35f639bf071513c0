"""What a workflow's history holds, counted from the history the server returns: updates
accepted, activities scheduled, the order they came in (the bare workflow's plan), and the
history's size as the JSON `temporal workflow show --output json` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from bench.bare import BarePlan

UPDATE_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
ACTIVITY_SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


@dataclass(frozen=True)
class HistoryFigures:
    events: int
    json_bytes: int
    updates: int
    activities: int
    workflow_tasks: int
    # Activities scheduled before the first accepted update, then after each one.
    activity_plan: tuple[int, ...]

    def bare_plan(self) -> BarePlan:
        return BarePlan(activities=list(self.activity_plan))

    def summary(self) -> str:
        return (
            f"{self.updates} updates, {self.activities} activities, "
            f"{self.workflow_tasks} workflow tasks, {self.events} events, "
            f"{self.json_bytes / 1024:.0f} KB"
        )


async def history_figures(handle: WorkflowHandle[Any, Any]) -> HistoryFigures:
    history = await handle.fetch_history()
    kinds: Counter[int] = Counter()
    plan = [0]
    for event in history.events:
        kinds[event.event_type] += 1
        if event.event_type == UPDATE_ACCEPTED:
            plan.append(0)
        elif event.event_type == ACTIVITY_SCHEDULED:
            plan[-1] += 1
    return HistoryFigures(
        events=len(history.events),
        json_bytes=len(history.to_json().encode()),
        updates=kinds[UPDATE_ACCEPTED],
        activities=kinds[ACTIVITY_SCHEDULED],
        workflow_tasks=kinds[TASK_COMPLETED],
        activity_plan=tuple(plan),
    )
