"""Tools to break running trajectories for real, and to check afterwards that nothing was lost.

- Workers run as real subprocesses (`python worker.py`), so SIGKILL is a real crash: no
  shutdown hook runs, in-flight activities and workflow tasks are simply gone.
- Activities are made to block at a known statement with real PostgreSQL table locks, held
  by the test in its own open transaction; pg_locks shows when a worker's backend waits.
- Every wait polls a real condition under a deadline (`eventually`), never a bare sleep.
- `check_nothing_lost` compares what PostgreSQL holds with the workflow's own final status
  and its template: the audit trail, decisions, tasks, actions, outbox, documents, transfers
  and the register.

The calendar is compressed (`SPEED`): a day passes in under 9 ms of wall time, so the legal
periods and the wait for the effective date really run as timers on a real server. A fault
costs wall time (a killed worker's activity is retried after its 10 s start-to-close
timeout; its sticky workflow tasks move on after 10 s) and therefore calendar time, so
`request_for` gives rounds a long grace after their deadline unless a test wants the
deadline to close a round, and `drive` sets a new effective date when the workflow asks for
one, as a coordinator would.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError
from temporalio.worker import Replayer

from db.register import upsert_cooperations
from operations.messages import refusal_reason
from operations.start import start_trajectory
from rules.template_fit import applicable
from schemas.common import CooperationKind, StepKind
from schemas.register import CooperationFiche
from schemas.template import ActionName, Phase, Template
from schemas.trajectory import (
    EffectiveDateChange,
    RefusalReason,
    StepStatus,
    StepView,
    TaskCompletion,
    TrajectoryRequest,
    TrajectoryStatus,
)
from templates.loader import load_template
from tests.support.codec import TESTS_KEYRING_FILE, converter_for_tests
from tests.support.trajectories import (
    can_be_done,
    decision_in,
    make_request,
    status_of,
    via_updates,
)
from workflows.registry import WORKFLOWS
from workflows.trajectory import InkantelingTrajectory

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# --- the compressed calendar -------------------------------------------------------------------

SPEED = 10_000_000.0  # the schema's maximum: one calendar day in 8.6 ms of workflow time
SECONDS_PER_DAY = 86_400


def rounds_without_deadline(template: Template) -> Template:
    """The template with no deadline on its decision rounds, so a fault's lost wall time (a
    calendar day passes in 8.6 ms) never closes a round the test means to decide. A round
    closes on its legal deadline whatever the escalation grace, so the grace cannot do it."""
    data = template.model_dump(mode="json")
    for step in data["steps"]:
        if step["kind"] == StepKind.DECISION_ROUND.value:
            step["deadline"] = None
    return Template.model_validate(data)


def days(seconds: float) -> int:
    """Calendar days that pass in `seconds` of wall time at `SPEED`."""
    return math.ceil(seconds * SPEED / SECONDS_PER_DAY)


def request_for(
    kind: CooperationKind,
    cooperation: tuple[str, str],
    *,
    av_after_days: int = 180,
    effective_after_days: int,
    participants: tuple[str, ...] = ("roeselare", "izegem", "tielt"),
) -> TrajectoryRequest:
    """A request on today's date for a cooperation of the test's own, at `SPEED`."""
    return make_request(
        kind,
        participants=participants,
        start=date.today(),
        av_after_days=av_after_days,
        effective_after_days=effective_after_days,
        speed=SPEED,
        cooperation=cooperation,
    )


def fiche(cooperation_id: str, name: str, kind: CooperationKind) -> CooperationFiche:
    return CooperationFiche(id=cooperation_id, name=name, kind=kind)


# --- bounded polling -----------------------------------------------------------------------------


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    within: float,
    what: str,
    interval: float = 0.05,
) -> T:
    """Call `probe` until it returns a value other than None or False; fail after `within`
    seconds, naming `what`. The only way the tests here wait for state."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not reached within {within:.0f}s: {what}")
        await asyncio.sleep(interval)  # the poll interval; the deadline above bounds the wait


# One status read's own bound. A query the server handed to a worker that was just killed is
# answered by nobody: without a bound of its own the read waits out the server's default (about
# 30 s, every trajectory's driver at once after a kill); with it, it is asked again at once.
QUERY_ATTEMPT = timedelta(seconds=5)


async def status_when(
    handle: WorkflowHandle[Any, Any],
    predicate: Callable[[TrajectoryStatus], bool],
    *,
    within: float,
    what: str,
) -> TrajectoryStatus:
    """Query the status until `predicate` holds. A query fails or times out while no live
    worker serves the workflow (just after a crash, while the server restarts): ask again."""
    last: list[TrajectoryStatus] = []

    async def probe() -> TrajectoryStatus | None:
        try:
            status = await handle.query(
                "status", result_type=TrajectoryStatus, rpc_timeout=QUERY_ATTEMPT
            )
        except RPCError:
            return None
        last[:] = [status]
        return status if predicate(status) else None

    try:
        return await eventually(probe, within=within, what=what, interval=0.1)
    except AssertionError as exc:
        where = f" (last phase {last[0].phase.value}, today {last[0].today})" if last else ""
        raise AssertionError(f"{exc}{where}") from None


async def result_of(
    handle: WorkflowHandle[Any, TrajectoryStatus], *, within: float
) -> TrajectoryStatus:
    """The workflow's own result: its final status, returned only once the whole journal
    is persisted (a `finished_on` in a query can come before the last journal batch)."""
    try:
        return await asyncio.wait_for(handle.result(), timeout=within)
    except TimeoutError:
        pending = await pending_activities(handle)
        try:
            status = await asyncio.wait_for(status_of(handle), timeout=10)
            where = f"phase {status.phase.value}, last record {status.timeline[-1].summary!r}"
        except (TimeoutError, RPCError) as exc:
            where = f"no status ({exc!r})"
        failed = [
            e.workflow_task_failed_event_attributes.failure.message
            for e in await history(handle)
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        raise AssertionError(
            f"{handle.id} did not finish within {within:.0f}s: {where}; pending {pending}; "
            f"failed workflow tasks {failed[-3:]}"
        ) from None


# --- playing the coordinator and every council ---------------------------------------------------


def step_of(status: TrajectoryStatus, step_id: str) -> StepView:
    return next(s for s in status.steps if s.id == step_id)


def decided(status: TrajectoryStatus, step_id: str) -> set[str]:
    return {p.authority_id for p in step_of(status, step_id).parties if p.decision is not None}


def _messages(
    status: TrajectoryStatus,
    silent: frozenset[str],
    hold: frozenset[str],
    new_effective_in_days: int,
    sent: dict[tuple[str, str], BaseModel] | None = None,
) -> list[tuple[str, BaseModel]]:
    """The updates that move the trajectory on now: open tasks completed, pending parties
    approving (except `silent` parties and `hold` steps), a new effective date when asked.

    A decision or task completion already sent once is sent again unchanged (from `sent`),
    as a careful client retries: if the first attempt did arrive after all (its answer was
    lost with a killed worker), the repeat is recognised as the same message."""
    memo: dict[tuple[str, str], BaseModel] = {} if sent is None else sent
    messages: list[tuple[str, BaseModel]] = []
    if status.needs_effective_date:
        change = EffectiveDateChange(
            # The calendar's date now, as a client reads it (the status's today is older).
            effective_date=status.calendar_today(datetime.now(UTC))
            + timedelta(days=new_effective_in_days),
            reason="de goedkeuring kwam na de geplande ingangsdatum",
            changed_by="Coördinator",
        )
        messages.append(("set_effective_date", change))
    for step in status.steps:
        if step.status is not StepStatus.OPEN or step.id in hold:
            continue
        if can_be_done(step, status):
            completion = memo.setdefault(
                (step.id, ""),
                TaskCompletion(
                    step_id=step.id, evidence=f"doc://{step.id}", completed_by="Coördinator"
                ),
            )
            messages.append(("complete_task", completion))
        for party in step.parties:
            if party.outcome is None and party.authority_id not in silent:
                # No session date: the trajectory takes its own today. A date read from the
                # status can lie a calendar day before the step opened at this speed (a day
                # passes in 8.6 ms), and such a date needs a reason.
                approval = memo.setdefault(
                    (step.id, party.authority_id),
                    decision_in(status, step.id, party.authority_id).model_copy(
                        update={"session_date": None}
                    ),
                )
                messages.append(("decide", approval))
    return messages[:10]  # a workflow takes at most 10 updates in flight


async def drive(
    handle: WorkflowHandle[Any, Any],
    *,
    until: Callable[[TrajectoryStatus], bool],
    within: float,
    what: str,
    silent: frozenset[str] = frozenset(),
    hold: frozenset[str] = frozenset(),
    new_effective_in_days: int = 60,
) -> TrajectoryStatus:
    """Play everyone through updates until `until` holds, sending the messages of one pass
    concurrently so the compressed calendar does not run away from the people it waits for.

    A refused new effective date (the calendar moved past it while the update travelled) is
    asked again with a fresh date; an update the server could not deliver (no live worker
    yet) is sent again on the next pass. A status query can show a step opened by events the
    workflow has not yet taken in a workflow task (a timer that fired while no worker was
    there), so a decision or task may be refused as "not open" once and is sent again while
    the status still asks for it; the same message refused `REFUSALS_TOLERATED` times, or
    any other refusal, is a failure."""
    deadline = time.monotonic() + within
    send = via_updates(handle)
    sent: dict[tuple[str, str], BaseModel] = {}
    refusals: Counter[int] = Counter()

    def actionable(status: TrajectoryStatus) -> bool:
        return until(status) or bool(_messages(status, silent, hold, new_effective_in_days))

    while True:
        status = await status_when(
            handle, actionable, within=max(deadline - time.monotonic(), 0.1), what=what
        )
        if until(status):
            return status
        messages = _messages(status, silent, hold, new_effective_in_days, sent)
        results = await asyncio.gather(
            *(send(name, message) for name, message in messages), return_exceptions=True
        )
        for (name, message), result in zip(messages, results, strict=True):
            if isinstance(result, RPCError):
                continue
            if isinstance(result, WorkflowUpdateFailedError) and name == "set_effective_date":
                continue
            if isinstance(result, WorkflowUpdateFailedError) and not_open(result):
                refusals[id(message)] += 1
                if refusals[id(message)] < REFUSALS_TOLERATED:
                    continue
            if isinstance(result, BaseException):
                raise result


REFUSALS_TOLERATED = 5


def not_open(error: WorkflowUpdateFailedError) -> bool:
    """Was the update refused because its step is not open (yet)?"""
    return refusal_reason(error) is RefusalReason.NOT_OPEN


async def effective_date_in(handle: WorkflowHandle[Any, Any], *, seconds: float) -> date:
    """Move the effective date to `seconds` of wall time from now, so a fault injected now
    lands while the trajectory waits for it. Start the trajectory with an effective date far
    ahead (`FAR_EFFECTIVE_DAYS`): then the wait cannot end, and the transfer cannot start,
    before this update arrives, however slow the machine."""
    status = await status_of(handle)
    target = status.calendar_today(datetime.now(UTC)) + timedelta(days=days(seconds))
    change = EffectiveDateChange(
        effective_date=target, reason="de ingangsdatum schuift op", changed_by="Coördinator"
    )
    await via_updates(handle)("set_effective_date", change)
    return target


# Far enough that driving a projectvereniging up to its effective-date wait never reaches it.
FAR_EFFECTIVE_DAYS = days(120)


# --- worker processes ----------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """One `python worker.py` subprocess, ours by pid."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def identity(self) -> str:
        """worker.py sets no identity of its own, so the SDK default applies: pid@host."""
        return f"{self.pid}@{socket.gethostname()}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, by pid: the process gets no chance to finish anything."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Workers:
    """Starts workers on one task queue; the fixture stops whatever is still alive."""

    client: Client
    temporal_address: str
    database_url: str
    task_queue: str
    log_dir: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INKANTELING_")}
        env.pop("TEMPORAL_NAMESPACE", None)
        env.update(
            TEMPORAL_ADDRESS=self.temporal_address,
            DATABASE_URL=self.database_url,
            INKANTELING_TASK_QUEUE=self.task_queue,
            INKANTELING_LOG_FORMAT="json",
            # The workers encrypt with the tests' ring, as the test's own client does.
            INKANTELING_CODEC_KEY_FILE=str(TESTS_KEYRING_FILE),
        )
        return env

    def launch(self) -> WorkerProcess:
        log = self.log_dir / f"worker-{len(self.started)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "worker.py"],
                cwd=ROOT,
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        worker = WorkerProcess(process, log)
        self.started.append(worker)
        return worker

    async def start(self, *, within: float = 60.0) -> WorkerProcess:
        """Launch a worker; return once Temporal sees it poll for workflow and activity tasks."""
        worker = self.launch()

        async def polling() -> bool:
            if not worker.alive():
                raise AssertionError(f"worker {worker.pid} exited:\n{worker.log_tail()}")
            for kind in (
                TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            ):
                if worker.identity not in await self.poller_identities(kind):
                    return False
            return True

        await eventually(
            polling, within=within, what=f"worker {worker.pid} polls {self.task_queue}"
        )
        return worker

    async def poller_identities(self, kind: TaskQueueType.ValueType) -> set[str]:
        try:
            response = await self.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.client.namespace,
                    task_queue=TaskQueue(name=self.task_queue),
                    task_queue_type=kind,
                )
            )
        except RPCError:
            return set()
        return {poller.identity for poller in response.pollers}

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


@dataclass
class Trajectories:
    """Starts trajectories for cooperations of our own (unique ids, so a run left behind by
    a failed test never blocks the next); terminates any still running at the end."""

    client: Client
    database_url: str
    task_queue: str
    handles: list[WorkflowHandle[InkantelingTrajectory, TrajectoryStatus]] = field(
        default_factory=list
    )

    def cooperation(self, label: str) -> tuple[str, str]:
        return (f"dur-{label}-{uuid.uuid4().hex[:6]}", f"Durability {label}")

    async def register(self, cooperation: tuple[str, str], kind: CooperationKind) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            await upsert_cooperations(conn, [fiche(cooperation[0], cooperation[1], kind)])
        finally:
            await conn.close()

    async def start(
        self, request: TrajectoryRequest, *, rounds_close: bool = False
    ) -> WorkflowHandle[InkantelingTrajectory, TrajectoryStatus]:
        """Start the trajectory; its rounds never close by their deadline unless
        `rounds_close` (see rounds_without_deadline)."""
        await self.register((request.cooperation_id, request.cooperation_name), request.kind)
        template = applicable(load_template(request.kind), request)
        if not rounds_close:
            template = rounds_without_deadline(template)
        handle = await start_trajectory(self.client, self.task_queue, request, template)
        self.handles.append(handle)
        return handle

    async def dump_histories(self, directory: Path) -> None:
        """Write every trajectory's history as JSON (what `temporal workflow show --output
        json` and the replayer read), so a failed run can be replayed and inspected."""
        for handle in self.handles:
            try:
                recorded = await handle.fetch_history()
            except RPCError:
                continue
            target = directory / f"{handle.id}.json"
            await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(target.write_text, recorded.to_json())

    async def terminate_leftovers(self) -> None:
        for handle in self.handles:
            try:
                description = await handle.describe()
                if description.status is WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("durability test ended")
            except RPCError:
                pass


# --- PostgreSQL: locks that make an activity block where the test wants it -----------------------


@dataclass
class TableLock:
    """`LOCK TABLE ... IN EXCLUSIVE MODE` in the test's own open transaction: a worker's
    write to the table waits, inside the worker's own transaction, until `release`. Reads
    go on, so the test can look at the tables meanwhile."""

    database_url: str
    tables: tuple[str, ...]
    conn: asyncpg.Connection | None = None
    transaction: Any = None

    async def acquire(self) -> TableLock:
        self.conn = await asyncpg.connect(self.database_url)
        self.transaction = self.conn.transaction()
        await self.transaction.start()
        # Our own constant table names; nothing here comes from outside the test.
        await self.conn.execute(f"LOCK TABLE {', '.join(self.tables)} IN EXCLUSIVE MODE")
        return self

    async def waiters(self, table: str) -> list[int]:
        """Backends (of a worker) waiting for our lock on `table`: they are inside their
        transaction, at the statement that writes to the table."""
        assert self.conn is not None
        rows = await self.conn.fetch(
            """
            SELECT DISTINCT pid FROM pg_locks
            WHERE NOT granted AND locktype = 'relation' AND relation = $1::regclass
              AND pid <> pg_backend_pid()
            """,
            table,
        )
        return [int(row["pid"]) for row in rows]

    async def wait_for_waiters(self, table: str, *, count: int, within: float) -> list[int]:
        async def blocked() -> list[int] | None:
            pids = await self.waiters(table)
            return pids if len(pids) >= count else None

        try:
            return await eventually(blocked, within=within, what=f"{count} writer(s) of {table}")
        except AssertionError:
            assert self.conn is not None
            activity = await self.conn.fetch(
                "SELECT pid, state, wait_event_type, pg_blocking_pids(pid) AS blocked_by, "
                "left(query, 60) AS query FROM pg_stat_activity WHERE datname = current_database()"
            )
            raise AssertionError(
                f"not reached within {within:.0f}s: {count} writer(s) of {table} waiting on the "
                f"lock; backends: {[dict(r) for r in activity]}"
            ) from None

    async def release(self) -> None:
        if self.conn is None:
            return
        try:
            await self.transaction.rollback()
        finally:
            await self.conn.close()
            self.conn = None


async def backends_ended(database_url: str, pids: Iterable[int], *, within: float) -> None:
    """Until the server backends of a killed worker are gone, their transactions rolled back."""
    wanted = sorted(set(pids))

    async def gone() -> bool:
        conn = await asyncpg.connect(database_url)
        try:
            alive = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY ($1::int[])", wanted
            )
        finally:
            await conn.close()
        return int(alive) == 0

    await eventually(gone, within=within, what=f"backends {wanted} of the killed worker ended")


# --- Temporal: attempts, timers and who did the work ---------------------------------------------


def trajectory_id(handle: WorkflowHandle[Any, Any]) -> str:
    """The key of the trajectory's rows in PostgreSQL (workflow id / first run id)."""
    assert handle.first_execution_run_id is not None
    return f"{handle.id}/{handle.first_execution_run_id}"


async def pending_activities(handle: WorkflowHandle[Any, Any]) -> dict[str, tuple[int, str]]:
    """Activity type -> (highest attempt, its last failure message) of the pending activities.
    Failure messages are encrypted by the codec like every payload: decoded here."""
    description = await handle.describe()
    converter = converter_for_tests()
    pending: dict[str, tuple[int, str]] = {}
    for activity in description.raw_description.pending_activities:
        name = activity.activity_type.name
        failure = ""
        if activity.HasField("last_failure"):
            failure = str(await converter.decode_failure(activity.last_failure))
        if activity.attempt >= pending.get(name, (0, ""))[0]:
            pending[name] = (activity.attempt, failure)
    return pending


async def history(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    return [event async for event in handle.fetch_history_events()]


def event_time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime().replace(tzinfo=None)


def pending_timers(events: list[HistoryEvent]) -> set[str]:
    """Timer ids started and neither fired nor cancelled."""
    started: set[str] = set()
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            started.add(event.timer_started_event_attributes.timer_id)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            started.discard(event.timer_fired_event_attributes.timer_id)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            started.discard(event.timer_canceled_event_attributes.timer_id)
    return started


def fired_timers(events: list[HistoryEvent]) -> dict[str, datetime]:
    """Timer id -> when the server fired it (UTC, naive)."""
    return {
        event.timer_fired_event_attributes.timer_id: event_time(event)
        for event in events
        if event.event_type == EventType.EVENT_TYPE_TIMER_FIRED
    }


@dataclass(frozen=True)
class WorkDone:
    """Who executed what for one workflow, and what went wrong, from its history."""

    activities: Counter[str]  # identity -> activity attempts started
    workflow_tasks: Counter[str]  # identity -> workflow tasks started
    activities_after: Counter[str]  # the same, for activities started after `since`
    workflow_task_failures: int
    activity_timeouts: int
    activity_failures: int


def work_done(events: list[HistoryEvent], since: datetime | None = None) -> WorkDone:
    activities: Counter[str] = Counter()
    tasks: Counter[str] = Counter()
    after: Counter[str] = Counter()
    failures = timeouts = activity_failures = 0
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            identity = event.activity_task_started_event_attributes.identity
            activities[identity] += 1
            if since is not None and event_time(event) > since:
                after[identity] += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            tasks[event.workflow_task_started_event_attributes.identity] += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failures += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            timeouts += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            activity_failures += 1
    return WorkDone(activities, tasks, after, failures, timeouts, activity_failures)


@dataclass(frozen=True)
class Attempt:
    """One activity execution that reached the history: its type, attempt and executor."""

    activity_type: str
    attempt: int
    identity: str
    started: datetime


def completed_attempts(events: list[HistoryEvent]) -> list[Attempt]:
    """Activities as the history records them: a retried activity shows only the attempt
    that finished, with its attempt number."""
    scheduled: dict[int, str] = {}
    attempts: list[Attempt] = []
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            attempts.append(
                Attempt(
                    scheduled[started.scheduled_event_id],
                    started.attempt,
                    started.identity,
                    event_time(event),
                )
            )
    return attempts


def utcnow() -> datetime:
    """Now in UTC without tzinfo, comparable with `event_time`."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- the checks after every fault ----------------------------------------------------------------


@dataclass(frozen=True)
class Survey:
    """What the checks found, for assertions specific to one test."""

    trajectory_id: str
    events: list[asyncpg.Record]
    decisions: list[asyncpg.Record]
    actions: set[tuple[str, str]]
    outbox_keys: list[str]
    documents: dict[str, str]
    transfers: list[tuple[str, int]]


def _expected_actions(request: TrajectoryRequest, final: TrajectoryStatus) -> set[tuple[str, str]]:
    template = applicable(load_template(request.kind), request)
    expected: set[tuple[str, str]] = set()
    by_id = {s.id: s for s in final.steps}
    for spec in template.steps:
        view = by_id[spec.id]
        if spec.action is not None and view.status in (StepStatus.DONE, StepStatus.COMPENSATED):
            expected.add((spec.id, spec.action.name.value))
        if spec.compensation is not None and view.status is StepStatus.COMPENSATED:
            expected.add((spec.id, spec.compensation.name.value))
    if final.phase is Phase.ABORTED:
        expected |= {
            ("abort", ActionName.NOTIFY_PARTIES.value),
            ("abort", ActionName.RESTORE_REGISTER.value),
        }
    return expected


def _expected_documents(request: TrajectoryRequest, final: TrajectoryStatus) -> dict[str, str]:
    template = applicable(load_template(request.kind), request)
    by_id = {s.id: s for s in final.steps}
    documents: dict[str, str] = {}
    for spec in template.steps:
        view = by_id[spec.id]
        if spec.action is None or view.status not in (StepStatus.DONE, StepStatus.COMPENSATED):
            continue
        if spec.action.name is ActionName.DRAFT_DOCUMENT and spec.action.document is not None:
            compensated = view.status is StepStatus.COMPENSATED
            documents[spec.action.document] = "withdrawn" if compensated else "draft"
        elif spec.action.name is ActionName.END_OLD_STRUCTURE:
            documents["einde oude structuur"] = "final"
    return documents


def _expected_transfers(request: TrajectoryRequest, final: TrajectoryStatus) -> int:
    done = {s.id for s in final.steps if s.status is StepStatus.DONE}
    staff = len(request.staff) if "transfer-staff" in done else 0
    assets = len(request.assets) if "transfer-assets" in done else 0
    return staff + assets


NOTIFYING_RECORDS = (
    "reminder-sent",
    "escalation-sent",
    "round-closed",
    "decision-rejected",
    "effective-date-needed",
)


async def replays_on_a_fresh_worker(handle: WorkflowHandle[Any, Any]) -> None:
    """The whole history, faults and all, replays on the current code without a
    nondeterminism error: any worker that picks the run up later decides as the original
    workers did (a worker crash must not leave a history behind that cannot be replayed)."""
    recorded = await handle.fetch_history()
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter_for_tests())
    outcome = await replayer.replay_workflow(recorded, raise_on_replay_failure=False)
    assert outcome.replay_failure is None, f"{handle.id} does not replay: {outcome.replay_failure}"


async def check_nothing_lost(
    conn: asyncpg.Connection,
    handle: WorkflowHandle[Any, Any],
    request: TrajectoryRequest,
    final: TrajectoryStatus,
    *,
    phase: Phase,
) -> Survey:
    """Everything the issue asks after a fault, against the workflow's own final status:
    the audit trail is complete, contiguous (1..N, N = the timeline's length) and in order;
    no table holds a duplicate or a missing row; the register says where the cooperation is."""
    assert final.phase is phase, f"phase {final.phase.value}, expected {phase.value}"
    assert final.finished_on is not None
    await replays_on_a_fresh_worker(handle)
    tid = trajectory_id(handle)
    row = await conn.fetchrow("SELECT * FROM trajectories WHERE id = $1", tid)
    assert row is not None, f"no trajectories row for {tid}"
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM trajectories WHERE cooperation_id = $1", request.cooperation_id
        )
        == 1
    )

    # The audit trail: 1..N without gap, identical to the workflow's timeline, in time order.
    events = await conn.fetch(
        "SELECT seq, kind, summary, on_date, at, step_id FROM events WHERE trajectory_id = $1 "
        "ORDER BY seq",
        tid,
    )
    seqs = [e["seq"] for e in events]
    expected_seqs = list(range(1, len(final.timeline) + 1))
    assert seqs == expected_seqs, (
        f"events seq: missing {sorted(set(expected_seqs) - set(seqs))}, "
        f"unexpected {sorted(set(seqs) - set(expected_seqs))}"
    )
    for event, entry in zip(events, final.timeline, strict=True):
        assert (event["kind"], event["summary"], event["on_date"]) == (
            entry.kind,
            entry.summary,
            entry.on,
        )
    moments = [e["at"] for e in events]
    assert moments == sorted(moments), "the audit trail is not in time order"
    kinds = Counter(e["kind"] for e in events)
    assert kinds["trajectory-started"] == 1
    assert (
        kinds["trajectory-integrated" if phase is Phase.INTEGRATED else "trajectory-aborted"] == 1
    )
    assert (row["last_seq"], row["finished"], row["phase"]) == (len(events), True, phase.value)

    # Decisions: one row per party per step per round, each the workflow's own.
    decisions = await conn.fetch(
        "SELECT step_id, authority_id, round_number, outcome, reference FROM decisions "
        "WHERE trajectory_id = $1",
        tid,
    )
    assert len(decisions) == kinds["decision-recorded"]
    rows = {(d["step_id"], d["authority_id"], d["round_number"]): d for d in decisions}
    assert len(rows) == len(decisions)
    for step in final.steps:
        for party in step.parties:
            if party.decision is None:
                continue
            stored = rows.get((step.id, party.authority_id, step.round_number))
            assert stored is not None, f"decision of {party.authority_id} on {step.id} is missing"
            assert (stored["outcome"], stored["reference"]) == (
                party.decision.outcome.value,
                party.decision.reference,
            )

    # Tasks: one row per completion.
    tasks = await conn.fetch("SELECT step_id FROM tasks WHERE trajectory_id = $1", tid)
    completed = sorted(e["step_id"] for e in events if e["kind"] == "task-completed")
    assert sorted(t["step_id"] for t in tasks) == completed

    # Automatic steps and compensations: exactly the ledger rows the workflow's steps imply.
    action_rows = await conn.fetch(
        "SELECT step_id, action FROM actions WHERE trajectory_id = $1", tid
    )
    actions = {(a["step_id"], a["action"]) for a in action_rows}
    assert len(actions) == len(action_rows)
    assert actions == _expected_actions(request, final)

    # Outbox: one row per notifying audit record and per notify-parties action, no more.
    outbox_keys = [
        r["key"] for r in await conn.fetch("SELECT key FROM outbox WHERE trajectory_id = $1", tid)
    ]
    assert len(outbox_keys) == len(set(outbox_keys))
    notifying = sum(kinds[k] for k in NOTIFYING_RECORDS)
    notified = sum(1 for _, action in actions if action == ActionName.NOTIFY_PARTIES.value)
    assert len(outbox_keys) == notifying + notified, (
        f"{len(outbox_keys)} outbox rows for {notifying} notifying records "
        f"and {notified} notify actions"
    )

    # Documents and transfers.
    documents = {
        r["name"]: r["status"]
        for r in await conn.fetch(
            "SELECT name, status FROM documents WHERE trajectory_id = $1", tid
        )
    }
    assert documents == _expected_documents(request, final)
    transfers = [
        (r["item_kind"], r["item_no"])
        for r in await conn.fetch(
            "SELECT item_kind, item_no FROM transfers WHERE trajectory_id = $1", tid
        )
    ]
    assert len(transfers) == _expected_transfers(request, final)

    # The register.
    coop = await conn.fetchrow(
        "SELECT status, integrated_on FROM cooperations WHERE id = $1", request.cooperation_id
    )
    assert coop is not None
    if phase is Phase.INTEGRATED:
        # The register records the trajectory's effective date, not the day the step ran.
        marked = final.effective_date
        assert (coop["status"], coop["integrated_on"]) == ("integrated", marked), dict(coop)
    else:
        assert (coop["status"], coop["integrated_on"]) == ("active", None), dict(coop)
    return Survey(tid, list(events), list(decisions), actions, outbox_keys, documents, transfers)
