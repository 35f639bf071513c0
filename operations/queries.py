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
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from db.connect import DbConnection
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


class NoWorker(RuntimeError):
    """Temporal answered, but no worker picked the request up within the time allowed."""


def no_worker(workflow_id: str, task_queue: str | None, within: timedelta) -> NoWorker:
    queue = f" on task queue {task_queue!r}" if task_queue else ""
    return NoWorker(
        f"no answer from {workflow_id} within {within.total_seconds():g} s: no worker is "
        f"running{queue}; start the stack with `make stack` (or `python worker.py`)"
    )


async def bounded(call: Awaitable[T], within: timedelta) -> T:
    """`call`, cut off after `within` (asyncio.TimeoutError). The RPC deadline alone is not
    enough: some client calls poll, and each poll gets its own deadline."""
    return await asyncio.wait_for(call, within.total_seconds())


def is_timeout(exc: RPCError) -> bool:
    # A client-side deadline shows up as CANCELLED ("Timeout expired"), a server-side one as
    # DEADLINE_EXCEEDED.
    return exc.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED)


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
    return Described(
        handle,
        description.run_id,
        description.status,
        description.task_queue,
        description.close_time,
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
    status = await _read_status(described, within)
    return Reading(status, described.run_id, described.running)


async def _read_status(described: Described, within: timedelta) -> TrajectoryStatus:
    handle, workflow_id = described.handle, described.handle.id
    if described.status is WorkflowExecutionStatus.COMPLETED:
        return await bounded(handle.result(follow_runs=False, rpc_timeout=within), within)
    try:
        status: TrajectoryStatus = await bounded(
            handle.query("status", result_type=TrajectoryStatus, rpc_timeout=within), within
        )
    except TimeoutError:
        raise no_worker(workflow_id, described.task_queue, within) from None
    except RPCError as exc:
        if is_timeout(exc):
            raise no_worker(workflow_id, described.task_queue, within) from None
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
class HistoryEvent:
    seq: int
    on: date
    at: datetime
    kind: str
    actor: str | None
    summary: str
    step_id: str | None
    authority_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "on": self.on.isoformat(),
            "at": self.at.isoformat(),
            "kind": self.kind,
            "actor": self.actor,
            "summary": self.summary,
            "step_id": self.step_id,
            "authority_id": self.authority_id,
        }


@dataclass(frozen=True)
class History:
    workflow_id: str
    run_id: str
    other_runs: tuple[str, ...]  # earlier (or later) runs of the same workflow id
    events: tuple[HistoryEvent, ...]


async def trajectory_history(
    conn: DbConnection, workflow_id: str, run_id: str | None = None
) -> History:
    """The events of one run, oldest first: the latest run unless `run_id` names one."""
    runs = [
        (row["id"], row["run_id"])
        for row in await conn.fetch(
            "SELECT id, run_id FROM trajectories WHERE workflow_id = $1 "
            "ORDER BY started_at DESC, run_id",
            workflow_id,
        )
    ]
    if not runs:
        raise TrajectoryNotFound(
            f"no recorded history for {workflow_id}; `starter.py list --all` shows the "
            "trajectories (a trajectory whose worker never ran has recorded nothing yet)"
        )
    chosen = runs[0] if run_id is None else next((r for r in runs if r[1] == run_id), None)
    if chosen is None:
        known = ", ".join(r[1] for r in runs)
        raise TrajectoryNotFound(f"{workflow_id} has no run {run_id!r} (runs: {known})")
    rows = await conn.fetch(
        "SELECT seq, on_date, at, kind, actor, summary, step_id, authority_id "
        "FROM events WHERE trajectory_id = $1 ORDER BY seq",
        chosen[0],
    )
    events = tuple(
        HistoryEvent(
            seq=row["seq"],
            on=row["on_date"],
            at=row["at"],
            kind=row["kind"],
            actor=row["actor"],
            summary=row["summary"],
            step_id=row["step_id"],
            authority_id=row["authority_id"],
        )
        for row in rows
    )
    others = tuple(r[1] for r in runs if r != chosen)
    return History(workflow_id=workflow_id, run_id=chosen[1], other_runs=others, events=events)
