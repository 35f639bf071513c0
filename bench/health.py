"""Whether a workflow the bench measured was healthy: figures of a trajectory whose activities
keep failing or whose workflow tasks fail are not the core's figures, so the bench says so."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

TASK_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED


async def troubles(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Activities retried or failing now, and workflow tasks that failed; empty when none."""
    found: list[str] = []
    try:
        description = await handle.describe()
        history = await handle.fetch_history()
    except RPCError as exc:
        return [f"{handle.id}: cannot describe ({exc.message})"]
    for pending in description.raw_description.pending_activities:
        if pending.attempt > 1:
            failure = pending.last_failure.message if pending.HasField("last_failure") else ""
            found.append(
                f"{handle.id}: activity {pending.activity_type.name} at attempt "
                f"{pending.attempt}: {failure[:300]}"
            )
    failed = [
        e.workflow_task_failed_event_attributes.failure.message
        for e in history.events
        if e.event_type == TASK_FAILED
    ]
    if failed:
        found.append(f"{handle.id}: {len(failed)} failed workflow tasks, last: {failed[-1][:300]}")
    return found
