"""The harvester's messages (workflow ⇄ activities) and its Temporal Schedule.

The schedule starts `LblodHarvester` (workflows/harvester.py) once a day; it is created by
`starter.py lblod harvester on` and deleted by `off`, so a stack where nobody turned it on
harvests nothing. Which authorities are read is the register's `lblod_sources.harvest`.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

SCHEDULE_ID = "lblod-harvester"
WORKFLOW_TYPE = "LblodHarvester"
WORKFLOW_ID = "lblod-harvester"
DEFAULT_HOUR = 6  # in the morning, after the evening sessions' lists are published
RUN_TIMEOUT = timedelta(hours=2)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HarvestInput(_Model):
    fetch_timeout_seconds: float = 30.0


class SourceToRead(_Model):
    url: str
    authorities: tuple[str, ...]  # whose publications are at this URL


class HarvestPlan(_Model):
    sources: tuple[SourceToRead, ...] = ()


class ReadSource(_Model):
    source: SourceToRead
    fetch_timeout_seconds: float


class SourceResult(_Model):
    url: str
    outcome: str  # "recorded", "nothing-matched", "already-read", "failed"
    recorded: tuple[str, ...] = ()  # "workflow id: authority step outcome"
    messages: tuple[str, ...] = ()  # why nothing was recorded, or what failed


class HarvestReport(_Model):
    results: tuple[SourceResult, ...] = ()


def _schedule(task_queue: str, hour: int, inp: HarvestInput) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW_TYPE,
            inp,
            id=WORKFLOW_ID,
            task_queue=task_queue,
            execution_timeout=RUN_TIMEOUT,
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)])],
            time_zone_name="Europe/Brussels",
        ),
        # A day's run still going when the next is due: skip the next, never two at once
        # (they would read the same pages).
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def turn_on(
    client: Client,
    task_queue: str,
    hour: int = DEFAULT_HOUR,
    inp: HarvestInput | None = None,
) -> ScheduleHandle:
    """Create the daily schedule, or update it (hour, task queue) if it exists."""
    schedule = _schedule(task_queue, hour, inp or HarvestInput())
    try:
        return await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(SCHEDULE_ID)

        async def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await handle.update(replace)
        return handle


async def turn_off(client: Client) -> bool:
    """Delete the schedule; False if there was none. A run in progress finishes."""
    try:
        await client.get_schedule_handle(SCHEDULE_ID).delete()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def is_on(client: Client) -> bool:
    try:
        await client.get_schedule_handle(SCHEDULE_ID).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
