"""Read a trajectory: its live status (Temporal), the list of trajectories (Temporal's
visibility, filtered on our search attributes) and its audit trail (PostgreSQL).

Every Temporal call is bounded: a query needs a worker to answer, and without one the server
would keep the caller waiting. The exceptions below are what callers branch on; their
messages are written for the coordinator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Self, TypeVar

from temporalio.api.common.v1 import WorkflowExecution as Execution
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.failure.v1 import Failure
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    GetWorkflowExecutionHistoryReverseRequest,
)
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import FailureError
from temporalio.service import RPCError, RPCStatusCode

from db import trajectories as db
from db.connect import DbConnection
from schemas.audit import AuditEvent
from schemas.common import CooperationKind, RegisterId
from schemas.template import Phase
from schemas.trajectory import WORKFLOW_ID_PREFIX, TrajectoryStatus
from temporal_connection import TemporalUnavailable
from workflows import search_attributes as sa

T = TypeVar("T")

WORKFLOW_TYPE = "InkantelingTrajectory"
CALL_TIMEOUT = timedelta(seconds=15)
LIST_LIMIT = 500


class TrajectoryNotFound(LookupError):
    """No trajectory (workflow) with this id."""


class TrajectoryClosed(RuntimeError):
    """The trajectory has finished, was aborted or terminated: it takes no more messages."""


class WorkerTrouble(RuntimeError):
    """The trajectory cannot answer now because of its worker; str() says what to do."""

    def adding(self, note: str) -> Self:
        """The same trouble, with what it means for the caller's request added."""
        return type(self)(f"{self}; {note}")


class NoWorker(WorkerTrouble):
    """Temporal answered, but no worker picked the request up within the time allowed."""


class TrajectoryStuck(WorkerTrouble):
    """The worker fails the trajectory's workflow task, again and again (a bug in the workflow
    code, a nondeterminism error): the trajectory is kept but does nothing until a fix is
    deployed. Starting more workers does not help."""


_START_WORKER = "start it with `make stack` or `python worker.py`"


def no_worker(workflow_id: str, task_queue: str | None, within: timedelta) -> NoWorker:
    queue = f" on task queue {task_queue!r}" if task_queue else ""
    return NoWorker(
        f"no answer from {workflow_id} within {within.total_seconds():g} s: no worker is "
        f"running{queue} (or it just stopped), or a worker is held up by other messages to "
        f"this trajectory at the same moment; if a worker runs, try again in a few seconds, "
        f"else {_START_WORKER}"
    )


def no_poller(workflow_id: str, task_queue: str) -> NoWorker:
    return NoWorker(
        f"no worker is running on task queue {task_queue!r} (none polled it in the last "
        f"minutes): {workflow_id} waits for one; {_START_WORKER}"
    )


async def bounded(call: Awaitable[T], within: timedelta) -> T:
    """`call`, cut off after `within` (TimeoutError). The RPC deadline alone is not enough:
    some client calls poll, and each poll gets its own deadline. Awaited in the caller's own
    task (not wait_for's inner one), so a Ctrl-C reaches the call directly and an error the
    SDK raises on cancellation is not left behind, unretrieved, in a task of its own."""
    async with asyncio.timeout(within.total_seconds()):
        return await call


def is_timeout(exc: RPCError) -> bool:
    # A client-side deadline shows up as CANCELLED ("Timeout expired"), a server-side one as
    # DEADLINE_EXCEEDED.
    return exc.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED)


def raise_if_cancelled() -> None:
    """A Ctrl-C cancels the command's task; the SDK may report the cancelled call as a timeout
    of its own. Re-raise the cancellation so it is not taken for a missing worker."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def is_failed_task(exc: RPCError) -> bool:
    """The server's answer to a query or update while the workflow task keeps failing."""
    return exc.status is RPCStatusCode.FAILED_PRECONDITION and (
        "workflow task in failed state" in exc.message.lower()
    )


def is_no_poller(exc: RPCError) -> bool:
    """The server's answer to a query when no worker has polled the task queue lately."""
    return exc.status is RPCStatusCode.FAILED_PRECONDITION and "no poller" in exc.message.lower()


def _silent_server(client: Client, within: timedelta) -> TemporalUnavailable:
    # Describe and list need no worker: silence here means the server itself is in trouble.
    return TemporalUnavailable(
        f"Temporal at {client.service_client.config.target_host} did not answer within "
        f"{within.total_seconds():g} s; check the stack (`make stack`) or TEMPORAL_ADDRESS"
    )


@dataclass(frozen=True)
class Described:
    handle: WorkflowHandle[Any, TrajectoryStatus]
    run_id: str
    status: WorkflowExecutionStatus | None
    task_queue: str
    close_time: datetime | None
    # The attempt of the pending workflow task: above 1 while the worker keeps failing it.
    task_attempt: int = 0

    @property
    def running(self) -> bool:
        return self.status is WorkflowExecutionStatus.RUNNING

    def closed_error(self) -> TrajectoryClosed:
        how = self.status.name.lower().replace("_", " ") if self.status else "closed"
        when = f", {self.close_time:%Y-%m-%d %H:%M} UTC" if self.close_time else ""
        return TrajectoryClosed(
            f"the trajectory {self.handle.id} has ended ({how}{when}) and takes no more "
            "messages; "
            f"`starter.py status {self.handle.id}` shows how it ended"
        )


async def describe(client: Client, workflow_id: str, within: timedelta = CALL_TIMEOUT) -> Described:
    """The latest run of the trajectory, or TrajectoryNotFound."""
    handle = client.get_workflow_handle(workflow_id, result_type=TrajectoryStatus)
    try:
        description = await bounded(handle.describe(rpc_timeout=within), within)
    except TimeoutError:
        raise _silent_server(client, within) from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise TrajectoryNotFound(
                f"no trajectory {workflow_id}; `starter.py list --all` shows the trajectories"
            ) from None
        raise
    # Later calls target this run, so a new run started meanwhile is never confused with it.
    handle = client.get_workflow_handle(
        workflow_id, run_id=description.run_id, result_type=TrajectoryStatus
    )
    pending = description.raw_description.pending_workflow_task
    return Described(
        handle,
        description.run_id,
        description.status,
        description.task_queue,
        description.close_time,
        pending.attempt if description.raw_description.HasField("pending_workflow_task") else 0,
    )


# --- the worker behind a trajectory -----------------------------------------------------------


async def worker_polled(client: Client, task_queue: str, within: timedelta) -> bool:
    """Whether a worker polled the task queue in the last minutes (the server remembers pollers
    for about five). False is certain: nothing will answer, so a caller need not wait. True may
    still be a worker that stopped a moment ago. An error reading it counts as True: the
    caller then waits, bounded, as it would without this check."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        described = await bounded(
            client.workflow_service.describe_task_queue(request, timeout=within), within
        )
    except (RPCError, TimeoutError):
        return True
    return bool(described.pollers)


async def require_worker(client: Client, described: Described, within: timedelta) -> None:
    """NoWorker at once when no worker polls the trajectory's task queue."""
    if not await worker_polled(client, described.task_queue, within):
        raise no_poller(described.handle.id, described.task_queue)


_FAILURE_SHOWN = 200


async def last_task_failure(client: Client, described: Described, within: timedelta) -> str | None:
    """The error of the trajectory's last failed workflow task, as the worker reported it (its
    first line), read from the end of the history; None if it cannot be read in time. The
    server records only the first failure of a series, so this is the error that started it."""
    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace=client.namespace,
        execution=Execution(workflow_id=described.handle.id, run_id=described.run_id),
        maximum_page_size=100,
    )
    try:
        page = await bounded(
            client.workflow_service.get_workflow_execution_history_reverse(request, timeout=within),
            within,
        )
    except (RPCError, TimeoutError):
        return None
    for event in page.history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            message = await _failure_message(
                client, event.workflow_task_failed_event_attributes.failure
            )
            first = message.strip().splitlines()[0] if message.strip() else "no message"
            return first[:_FAILURE_SHOWN] + ("..." if len(first) > _FAILURE_SHOWN else "")
    return None


async def _failure_message(client: Client, failure: Failure) -> str:
    """The failure's own message. The codec encrypts failure messages (the history shows
    `Encoded failure`), so it is decoded first; one this client cannot decode (a key its ring
    lacks) is shown as the history holds it."""
    try:
        error = await client.data_converter.decode_failure(failure)
    except ValueError:
        return failure.message
    return error.message if isinstance(error, FailureError) else str(error)


async def stuck(client: Client, described: Described, within: timedelta) -> TrajectoryStuck:
    """What a coordinator should know about a trajectory whose workflow task keeps failing."""
    workflow_id, run_id = described.handle.id, described.run_id
    error = await last_task_failure(client, described, within)
    attempt = f"attempt {described.task_attempt}" if described.task_attempt > 1 else "failing"
    cause = f"{attempt}: {error}" if error else attempt
    return TrajectoryStuck(
        f"the trajectory {workflow_id} is stuck: the worker fails its workflow task ({cause}); "
        "the trajectory and its history are kept, the worker's log names the error, and once "
        "a fix is deployed the worker resumes it by itself (docs/changing-workflows.md); as a "
        f"last resort, with the fix deployed: `temporal workflow reset --workflow-id {workflow_id} "
        f"--run-id {run_id} --type LastWorkflowTask --reason 'workflow task failed'`"
    )


@dataclass(frozen=True)
class Reading:
    """A trajectory's status and the run it was read from."""

    status: TrajectoryStatus
    run_id: str
    running: bool


async def live_run(
    client: Client, workflow_id: str, within: timedelta = CALL_TIMEOUT
) -> str | None:
    """The run id of the trajectory if it is running, else None."""
    try:
        described = await describe(client, workflow_id, within)
    except TrajectoryNotFound:
        return None
    return described.run_id if described.running else None


async def trajectory_status(
    client: Client, workflow_id: str, within: timedelta = CALL_TIMEOUT
) -> Reading:
    """The status query of a running trajectory; for a finished one its result (the final
    status), which the server holds and no worker has to compute."""
    described = await describe(client, workflow_id, within)
    status = await _read_status(client, described, within)
    return Reading(status, described.run_id, described.running)


async def _read_status(client: Client, described: Described, within: timedelta) -> TrajectoryStatus:
    handle, workflow_id = described.handle, described.handle.id
    if described.status is WorkflowExecutionStatus.COMPLETED:
        return await bounded(handle.result(follow_runs=False, rpc_timeout=within), within)
    if described.running:
        # A query needs a worker: say so now rather than after the bound, when none polls.
        await require_worker(client, described, within)
    try:
        status: TrajectoryStatus = await bounded(
            handle.query("status", result_type=TrajectoryStatus, rpc_timeout=within), within
        )
    except TimeoutError:
        raise_if_cancelled()
        raise no_worker(workflow_id, described.task_queue, within) from None
    except RPCError as exc:
        raise_if_cancelled()
        if is_timeout(exc) or is_no_poller(exc):
            raise no_worker(workflow_id, described.task_queue, within) from None
        if is_failed_task(exc):
            raise await stuck(client, described, within) from None
        if not described.running:
            # Terminated or failed: it never produced a final status, and replaying it for a
            # query may be impossible.
            raise TrajectoryClosed(
                f"the trajectory {workflow_id} ended without a final status "
                f"({described.status.name.lower() if described.status else 'closed'}); "
                f"`starter.py history {workflow_id}` shows what it recorded"
            ) from None
        raise
    return status


# --- the list, through Temporal's visibility --------------------------------------------------


@dataclass(frozen=True)
class ListFilter:
    phase: Phase | None = None
    kind: CooperationKind | None = None
    pending: RegisterId | None = None
    overdue: bool = False
    include_closed: bool = False


def visibility_query(filters: ListFilter) -> str:
    """The List Filter for Temporal's visibility. Values come from enums and register ids
    (validated, no quotes possible), so nothing typed by a user is spliced in raw."""
    clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'"]
    if not filters.include_closed:
        clauses.append("ExecutionStatus = 'Running'")
    if filters.phase is not None:
        clauses.append(f"{sa.PHASE.name} = '{filters.phase.value}'")
    if filters.kind is not None:
        clauses.append(f"{sa.COOPERATION_KIND.name} = '{filters.kind.value}'")
    if filters.pending is not None:
        clauses.append(f"{sa.PENDING_AUTHORITIES.name} = '{filters.pending}'")
    if filters.overdue:
        clauses.append(f"{sa.OVERDUE.name} = true")
    return " AND ".join(clauses)


@dataclass(frozen=True)
class TrajectorySummary:
    workflow_id: str
    run_id: str
    cooperation_id: str
    kind: str | None
    phase: str | None
    pending_authorities: tuple[str, ...]
    overdue: bool
    effective_date: date | None
    execution_status: str
    started_at: datetime
    closed_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
            "cooperation_id": self.cooperation_id,
            "kind": self.kind,
            "phase": self.phase,
            "pending_authorities": list(self.pending_authorities),
            "overdue": self.overdue,
            "effective_date": self.effective_date.isoformat() if self.effective_date else None,
            "execution_status": self.execution_status,
            "started_at": self.started_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


def _summary(execution: WorkflowExecution) -> TrajectorySummary:
    attrs = execution.typed_search_attributes
    effective = attrs.get(sa.EFFECTIVE_DATE)
    cooperation = attrs.get(sa.COOPERATION_ID) or execution.id.removeprefix(WORKFLOW_ID_PREFIX)
    return TrajectorySummary(
        workflow_id=execution.id,
        run_id=execution.run_id,
        cooperation_id=cooperation,
        kind=attrs.get(sa.COOPERATION_KIND),
        phase=attrs.get(sa.PHASE),
        pending_authorities=tuple(attrs.get(sa.PENDING_AUTHORITIES) or ()),
        overdue=bool(attrs.get(sa.OVERDUE)),
        effective_date=effective.date() if effective else None,
        execution_status=(
            execution.status.name.lower().replace("_", "-") if execution.status else "unknown"
        ),
        started_at=execution.start_time,
        closed_at=execution.close_time,
    )


async def list_trajectories(
    client: Client, filters: ListFilter, within: timedelta = CALL_TIMEOUT
) -> list[TrajectorySummary]:
    """Newest first (the order visibility returns), at most LIST_LIMIT."""

    async def collect() -> list[TrajectorySummary]:
        executions = client.list_workflows(
            visibility_query(filters), limit=LIST_LIMIT, rpc_timeout=within
        )
        return [_summary(execution) async for execution in executions]

    try:
        return await bounded(collect(), within)
    except TimeoutError:
        raise _silent_server(client, within) from None


# --- the audit trail, from PostgreSQL ---------------------------------------------------------


@dataclass(frozen=True)
class History:
    workflow_id: str
    run_id: str
    other_runs: tuple[str, ...]  # earlier (or later) runs of the same workflow id
    events: tuple[AuditEvent, ...]


async def trajectory_history(
    conn: DbConnection, workflow_id: str, run_id: str | None = None
) -> History:
    """The events of one run, oldest first: the latest run unless `run_id` names one."""
    runs = await db.runs_of(conn, workflow_id)
    if not runs:
        raise TrajectoryNotFound(
            f"no recorded history for {workflow_id}; `starter.py list --all` shows the "
            "trajectories (a trajectory whose worker never ran has recorded nothing yet)"
        )
    chosen = runs[0] if run_id is None else next((r for r in runs if r[1] == run_id), None)
    if chosen is None:
        known = ", ".join(r[1] for r in runs)
        raise TrajectoryNotFound(f"{workflow_id} has no run {run_id!r} (runs: {known})")
    events = tuple(await db.events_of(conn, chosen[0]))
    others = tuple(r[1] for r in runs if r != chosen)
    return History(workflow_id=workflow_id, run_id=chosen[1], other_runs=others, events=events)
