"""What a workflow's history holds, counted from the history the server returns: updates
accepted, activities scheduled, the order they came in (the bare workflow's plan), and the
history's size as the JSON `temporal workflow show --output json` prints (the target's
measure), beside the size the server itself counts against its history limits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from bench.bare import BarePlan

UPDATE_ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
ACTIVITY_SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


@dataclass(frozen=True)
class HistoryFigures:
    events: int
    json_bytes: int  # as the SDK's to_json() writes it: indented, as `temporal workflow show`
    updates: int
    activities: int
    workflow_tasks: int
    # Activities scheduled before the first accepted update, then after each one.
    activity_plan: tuple[int, ...]
    # (event type, count, bytes of their JSON), largest first: what makes the history big.
    by_type: tuple[tuple[str, int, int], ...] = ()
    # The server's own count (protobuf, payloads as bytes, not base64), which its history
    # size limits apply to: `history_size_bytes` of the workflow's description.
    server_bytes: int = 0

    def bare_plan(self) -> BarePlan:
        return BarePlan(activities=list(self.activity_plan))

    def largest(self, count: int = 7) -> str:
        return ", ".join(
            f"{name} {events}x {size / 1000:.0f} KB" for name, events, size in self.by_type[:count]
        )

    @property
    def compact_bytes(self) -> int:
        """The same events as JSON without indentation."""
        return sum(size for _, _, size in self.by_type)

    def summary(self) -> str:
        return (
            f"{self.updates} updates, {self.activities} activities, "
            f"{self.workflow_tasks} workflow tasks, {self.events} events, "
            f"{self.json_bytes / 1000:.0f} KB, {self.compact_bytes / 1000:.0f} KB unindented, "
            f"{self.server_bytes / 1000:.0f} KB as the server counts it"
        )


async def history_figures(handle: WorkflowHandle[Any, Any]) -> HistoryFigures:
    history = await handle.fetch_history()
    info = (await handle.describe()).raw_description.workflow_execution_info
    kinds: Counter[EventType.ValueType] = Counter()
    sizes: Counter[EventType.ValueType] = Counter()
    plan = [0]
    for event in history.events:
        kinds[event.event_type] += 1
        sizes[event.event_type] += len(json_format.MessageToJson(event, indent=None).encode())
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
        by_type=tuple(
            (EventType.Name(kind).removeprefix("EVENT_TYPE_"), kinds[kind], size)
            for kind, size in sizes.most_common()
        ),
        server_bytes=info.history_size_bytes,
    )
