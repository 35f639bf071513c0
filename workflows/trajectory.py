"""The inkanteling trajectory workflow.

One run per trajectory, lasting months. The step graph comes from the template snapshotted in
the input; `TrajectoryState` (workflows/state.py) decides what the trajectory means, this class
does the durable part: a coroutine per open step, timers on the trajectory's calendar, the
message handlers (updates with validators for callers who need an answer, signals with plain
JSON for the Web UI and the `temporal` CLI), the audit journal and the search attributes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.actions import ActionActivities
    from activities.journal import JournalActivities
    from phrasing import notices
    from phrasing.verdicts import PartyOutcome
    from rules.deadlines import escalation_date, legal_close_date
    from schemas import events as ev
    from schemas.common import StepKind
    from schemas.journal import (
        ActionInput,
        ActionResult,
        JournalBatch,
        Notification,
        Snapshot,
        TrajectoryRef,
    )
    from schemas.rules import Verdict
    from schemas.template import Action, ActionName, Phase, RejectionEffect, WaitResume
    from schemas.trajectory import (
        REFUSAL_TYPE,
        AbortRequest,
        Ack,
        Amendment,
        DecisionInput,
        EffectiveDateChange,
        JoinRequest,
        RecordedDecision,
        StepStatus,
        TaskCompletion,
        TrajectoryInput,
        TrajectoryStatus,
    )
    from temporal_connection import REFUSED_SIGNAL_KEY
    from workflows import search_attributes as sa
    from workflows.calendar import TrajectoryCalendar, start_of
    from workflows.journal import AuditJournal
    from workflows.state import MessageRejected, StepState, TrajectoryState
    from workflows.timers import Alarm, WakeTimer

JOURNAL_BATCH_SIZE = 50
COORDINATOR = "coordinator"

# PostgreSQL may be away for a while: keep retrying with backoff, never fail the trajectory.
_DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["InvalidAction"],
)
# Our activities are single short transactions; a worker that dies mid-activity is noticed
# after this long and the activity is retried elsewhere.
_ACTIVITY_TIMEOUT = timedelta(seconds=10)


# The memo key that says, after a journal flush, how far the journal is persisted.
JOURNAL_MEMO = "journal_persisted_seq"


def _answered(apply: Callable[[Any], Any], message: Any) -> Any:
    """Run a validator or update handler; a refusal becomes a non-retryable application
    error. Inside an accepted update's handler any other exception would fail the workflow
    task (and retry it forever); an ApplicationError fails only that update."""
    try:
        return apply(message)
    except MessageRejected as exc:
        raise ApplicationError(
            str(exc), exc.reason.value, type=REFUSAL_TYPE, non_retryable=True
        ) from None


# The actions that act on the cooperations merged into the trajectory as well.
_ACTIONS_ON_MERGED = frozenset(
    {ActionName.OPEN_DOSSIER, ActionName.END_OLD_STRUCTURE, ActionName.RESTORE_REGISTER}
)


class _Aborted(Exception):
    """Raised inside step coroutines when an abort cancels them."""


@workflow.defn(name="InkantelingTrajectory")
class InkantelingTrajectory:
    @workflow.init
    def __init__(self, inp: TrajectoryInput) -> None:
        info = workflow.info()
        # The start event's time is in the history; the first task's start time need not be.
        # See "The calendar" in docs/architecture.md.
        self._calendar = TrajectoryCalendar.starting(
            info.workflow_start_time,
            inp.request.calendar.speed,
            starts_on=inp.request.calendar.starts_on,
        )
        self._state = TrajectoryState(inp, self._today())
        self._unpublished = False  # a change the search attributes do not show yet
        self._alarm = Alarm()  # the moments the steps wait for
        self._phase: Phase | None = None  # the phase the journal last recorded
        self._ref = TrajectoryRef(
            workflow_id=info.workflow_id,
            run_id=info.first_execution_run_id,
            cooperation_id=inp.request.cooperation_id,
            cooperation_name=inp.request.cooperation_name,
            kind=inp.request.kind,
        )
        self._journal = AuditJournal(JOURNAL_BATCH_SIZE)
        self._version = 0  # bumped on every change; coroutines wait on it
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._published: dict[str, Any] = {}
        self._notified: set[str] = set()  # reminder/escalation tags already sent (exactly once)
        self._failed: tuple[str, ActivityError] | None = None  # an action failed for good
        # The phase of the last full status handed to the projection (None: none yet).
        self._status_sent_for: tuple[Phase, bool] | None = None
        self._placeholder_batch: JournalBatch | None = None  # what replayed flushes carry

    # --- the trajectory's calendar (rules in workflows/calendar.py) ------------------------

    def _today(self) -> date:
        return self._calendar.today()

    def _check_stamp(self, sent_at: datetime | None) -> None:
        problem = TrajectoryCalendar.stamp_problem(sent_at, workflow.now())
        if problem is not None:
            raise MessageRejected(problem)

    async def _wait(self, condition: Callable[[], bool], until: datetime | None) -> bool:
        """Wait for `condition` or until the calendar reaches `until`. True if the condition
        held. An abort ends every wait: step coroutines stop cooperatively by raising
        `_Aborted`, so no timer or activity is left half-cancelled."""

        def stop() -> bool:
            return condition() or self._state.abort is not None

        if until is None:
            await workflow.wait_condition(stop)
        elif not self._calendar.has_reached(until):
            # The alarm's timer moves the calendar (`_ring_alarm`); so may any other fact.
            token = self._alarm.want(until)
            try:
                await workflow.wait_condition(lambda: stop() or self._calendar.has_reached(until))
            finally:
                self._alarm.drop(token)
        if self._state.abort is not None:
            raise _Aborted
        return condition()

    def _changed_since(self, version: int) -> Callable[[], bool]:
        return lambda: self._version != version

    async def _ring_alarm(self) -> None:
        """Keep one timer running until the earliest moment a step waits for. When it fires,
        the calendar reaches that moment and the steps waiting for it wake."""
        timer = WakeTimer()
        while True:
            moment = self._alarm.earliest(after=self._calendar.clock)
            aimed = timer.aimed_at()
            if (
                aimed is not None
                and aimed > self._calendar.clock
                and (moment is None or aimed <= moment)
            ):
                moment = aimed  # fires no later than anything wanted: kept
            duration = None if moment is None else self._calendar.timer_for(moment, workflow.now())
            if moment is None or duration is None:
                timer.cancel()
            else:
                timer.aim(moment, duration)
            await workflow.wait_condition(self._alarm_moved(timer, moment))
            if moment is not None and timer.fired():
                self._calendar.timer_fired(moment)

    def _alarm_moved(self, timer: WakeTimer, moment: datetime | None) -> Callable[[], bool]:
        """When the timer must be aimed again: it fired, or a moment before the one it runs
        for is wanted now (a later one keeps it: it fires early, once)."""
        return lambda: timer.fired() or self._wanted_before(moment)

    def _wanted_before(self, moment: datetime | None) -> bool:
        if moment is not None and self._calendar.has_reached(moment):
            return True  # other facts moved the calendar past it: aim at what is still ahead
        wanted = self._alarm.earliest(after=self._calendar.clock)
        return wanted is not None and (moment is None or wanted < moment)

    @staticmethod
    def _either(first: Callable[[], bool], second: Callable[[], bool]) -> Callable[[], bool]:
        return lambda: first() or second()

    # --- run --------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: TrajectoryInput) -> TrajectoryStatus:
        request = inp.request
        self._record(
            ev.TrajectoryStarted(
                template_version=inp.template.version,
                planned_av_date=request.planned_av_date,
                effective_date=request.effective_date,
                participants=tuple(p.authority_id for p in request.participants),
            ),
            f"trajectory started for {request.cooperation_id} ({request.kind.value}) "
            f"with {len(request.participants)} participants",
            actor=request.coordinator,
        )
        helpers = [
            asyncio.create_task(self._flush_journal()),
            asyncio.create_task(self._publish_changes()),
            asyncio.create_task(self._ring_alarm()),
        ]
        # Every row an action writes refers to the trajectory row the first flush creates.
        await workflow.wait_condition(lambda: self._journal.persisted >= 1)
        with contextlib.suppress(_Aborted):  # an abort ends the drive; compensation follows
            await self._drive()
        if self._state.abort is not None:
            await self._compensate(self._state.abort)
        else:
            self._state.finish(self._today())
            self._record(
                ev.TrajectoryIntegrated(),
                f"{request.cooperation_id} is integrated into DVV Midwest",
            )
        self._changed()
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and self._journal.all_persisted()
                and not self._unpublished
            )
        )
        for helper in helpers:
            helper.cancel()
        return self._status()

    async def _drive(self) -> None:
        """Open every ready step, until all are done or an abort arrives."""
        while not self._state.all_done():
            if self._state.abort is not None:
                await self._cancel_steps()
                raise _Aborted
            if self._failed is not None:
                step_id, failure = self._failed
                cause = (
                    failure.cause.message
                    if isinstance(failure.cause, ApplicationError)
                    else str(failure)
                )
                # An action that failed for good (the register refuses it) cannot be retried
                # into success: the run ends failed with the reason, never stalls.
                raise ApplicationError(
                    f"step {step_id} cannot be done: {cause}",
                    type="StepFailed",
                    non_retryable=True,
                )
            for step in self._state.ready_steps():
                self._open(step)
            version = self._version
            await workflow.wait_condition(
                self._either(self._changed_since(version), lambda: self._state.abort is not None)
            )
        await asyncio.gather(*self._tasks.values())

    def _open(self, step: StepState) -> None:
        self._state.open_step(step, self._today())
        self._record(ev.StepOpened(), f"step {step.spec.id} opened", step_id=step.spec.id)
        self._tasks[step.spec.id] = asyncio.create_task(self._run_step(step))
        self._changed()

    async def _run_step(self, step: StepState) -> None:
        # A changed proposal puts the step back to waiting (TrajectoryState.restart); this
        # coroutine then ends, and a new one runs the step once it opens again.
        generation = step.restarts

        def alive() -> bool:
            return step.restarts == generation

        kind = step.spec.kind
        if kind is StepKind.AUTOMATIC:
            try:
                await self._run_automatic(step)
            except ActivityError as failure:  # non-retryable: every other error is retried
                self._failed = (step.spec.id, failure)
                self._changed()
                return
        elif kind is StepKind.TASK:
            await self._run_task(step, alive)
        elif kind in (StepKind.DECISION, StepKind.DECISION_ROUND):
            await self._run_decision(step, alive)
        else:
            await self._run_wait(step, alive)
        self._changed()

    async def _cancel_steps(self) -> None:
        # Waiting steps see the abort and raise _Aborted; a running activity finishes first
        # (its effect is then compensated like any other completed step).
        running = [task for task in self._tasks.values() if not task.done()]
        await asyncio.gather(*running, return_exceptions=True)
        for step in self._state.steps.values():
            if step.status is StepStatus.OPEN:
                self._state.cancel_step(step)
                self._record(
                    ev.StepCancelled(),
                    f"step {step.spec.id} cancelled by the abort",
                    step_id=step.spec.id,
                )

    # --- step kinds -------------------------------------------------------------------------

    async def _perform(self, step_id: str, action: Action) -> ActionResult:
        request = self._state.request
        result: ActionResult = await workflow.execute_activity_method(
            ActionActivities.perform_action,
            ActionInput(
                trajectory=self._ref,
                step_id=step_id,
                action=action,
                on=self._today(),
                # Each action gets what it uses: the history stays small, and the staff's
                # names go only to the step that moves them.
                participants=(
                    tuple(self._state.participants)
                    if action.name is ActionName.NOTIFY_PARTIES
                    else self._state.took_part()
                    if action.name is ActionName.MARK_INTEGRATED
                    else ()
                ),
                staff=request.staff if action.name is ActionName.TRANSFER_STAFF else (),
                assets=request.assets if action.name is ActionName.TRANSFER_ASSETS else (),
                effective_date=self._state.effective_date,
                merged=(request.merged if action.name in _ACTIONS_ON_MERGED else ()),
                continues_as=(
                    request.continues_as if action.name is ActionName.MARK_INTEGRATED else None
                ),
                ended_on=(
                    self._state.facts_day(self._state.steps[step_id], self._today())
                    if action.name is ActionName.END_OLD_STRUCTURE
                    else None
                ),
            ),
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_DB_RETRY,
        )
        self._calendar.observe_wall(result.performed_at)
        return result

    async def _run_automatic(self, step: StepState) -> None:
        assert step.spec.action is not None
        self._state.start_action(step)
        self._changed()
        result = await self._perform(step.spec.id, step.spec.action)
        self._state.complete_step(step, self._today(), evidence=result.summary)
        self._record(
            ev.StepDone(), f"step {step.spec.id} done: {result.summary}", step_id=step.spec.id
        )

    async def _run_task(self, step: StepState, alive: Callable[[], bool]) -> None:
        await self._await_with_deadline(step, lambda: step.status is StepStatus.DONE, alive)

    async def _run_decision(self, step: StepState, alive: Callable[[], bool]) -> None:
        while True:
            verdict = await self._await_verdict(step, alive)
            if not alive():
                return
            status, reasons = verdict
            if status is Verdict.APPROVED:
                self._state.pass_decision(step, reasons, self._today())
                self._record(
                    ev.DecisionPassed(reasons=tuple(reasons)),
                    f"{step.spec.id} approved: {step.verdict}",
                    step_id=step.spec.id,
                )
                return
            if step.spec.on_rejection is RejectionEffect.CONTINUE:
                self._state.note_rejection(step, reasons, self._today())
                self._record(
                    ev.DecisionRejected(reasons=tuple(reasons), continues=True),
                    f"{step.spec.id} not granted ({step.verdict}); the trajectory goes on",
                    step_id=step.spec.id,
                )
                return
            self._state.reject_decision(step, reasons)
            self._record(
                ev.DecisionRejected(reasons=tuple(reasons)),
                f"{step.spec.id} not approved ({step.verdict}); renegotiation: amend or abort",
                step_id=step.spec.id,
                notification=self._notification(
                    f"{step.spec.id}:rejected:{step.round_number}",
                    (COORDINATOR,),
                    *notices.renegotiation(
                        step.spec.title, self._ref.cooperation_name, self._party_outcomes(step)
                    ),
                ),
            )
            self._changed()
            await self._wait(lambda: self._state.renegotiating is None, None)
            if not alive():
                return

    async def _await_verdict(
        self, step: StepState, alive: Callable[[], bool]
    ) -> tuple[str, list[str]]:
        """Wait until the decision's outcome is certain, or its deadline closes a round."""
        is_round = step.spec.kind is StepKind.DECISION_ROUND

        def settled() -> bool:
            return self._state.verdict(step, closed=False)[0] is not Verdict.OPEN

        await self._await_with_deadline(
            step, settled, alive, on_deadline=self._close_round if is_round else None
        )
        verdict = self._state.verdict(step, closed=False)
        if verdict[0] == "open":  # the deadline closed the round: silence is abstention now
            verdict = self._state.verdict(step, closed=True)
        return verdict

    def _close_round(self, step: StepState) -> bool:
        silent = self._state.close_round(step)
        if silent:
            self._record(
                ev.RoundClosed(silent=tuple(silent)),
                f"deadline of {step.spec.id} passed; silence counted as abstention for "
                f"{', '.join(silent)}",
                step_id=step.spec.id,
                notification=self._notification(
                    f"{step.spec.id}:escalation:{step.round_number}",
                    (COORDINATOR, *silent),
                    *notices.round_closed(
                        step.spec.title,
                        self._ref.cooperation_name,
                        self._state.due_date(step) or self._today(),
                        [self._state.name_of(a) for a in silent],
                    ),
                ),
            )
        return True

    async def _await_with_deadline(
        self,
        step: StepState,
        done: Callable[[], bool],
        alive: Callable[[], bool],
        on_deadline: Callable[[StepState], bool] | None = None,
    ) -> None:
        """Wait for `done`, sending one reminder before the due date and one escalation after
        it. `on_deadline` may settle the step at the deadline (a round closes); otherwise the
        step stays open and overdue."""
        catalogue = self._state.request.deadlines
        while not done() and alive():
            due = self._state.due_date(step)
            wake: datetime | None = None
            if due is not None:
                reminder_at = start_of(
                    due - timedelta(days=catalogue.reminder_days_before_deadline)
                )
                # A round closes on its legal close; other steps escalate after the grace.
                deadline_at = start_of(
                    legal_close_date(due)
                    if on_deadline is not None
                    else escalation_date(due, catalogue)
                )
                round_tag = step.round_number
                reminder_key = f"{step.spec.id}:reminder:{round_tag}"
                escalation_key = f"{step.spec.id}:escalation:{round_tag}"
                now = self._calendar.moment()
                if now >= deadline_at and not self._was_notified(escalation_key):
                    if on_deadline is not None and on_deadline(step):
                        self._mark_notified(escalation_key)
                        self._changed()
                        return
                    self._escalate(step, escalation_key, due)
                    continue
                if (
                    now >= reminder_at
                    and not self._was_notified(reminder_key)
                    and now < deadline_at
                ):
                    self._remind(step, reminder_key, due)
                    continue
                if not self._was_notified(reminder_key) and now < reminder_at:
                    wake = reminder_at
                elif not self._was_notified(escalation_key):
                    wake = deadline_at
                else:
                    wake = None
                # The overdue flag flips at the end of the due day: wake then to publish it.
                overdue_at = start_of(due + timedelta(days=1))
                if now < overdue_at and (wake is None or overdue_at < wake):
                    wake = overdue_at
            # A task that may be done from a later day (a meeting after its convocation):
            # wake on that day, so the status shows it can be done.
            earliest = self._state.earliest_day(step)
            if earliest is not None:
                available_at = start_of(earliest)
                now = self._calendar.moment()
                if now < available_at and (wake is None or available_at < wake):
                    wake = available_at
            await self._wait(self._moved_for(step, done, alive), wake)
            self._changed(bump=False)

    def _moved_for(
        self, step: StepState, done: Callable[[], bool], alive: Callable[[], bool]
    ) -> Callable[[], bool]:
        """When a step waiting for its deadline must look again: when something its wait
        depends on changed (done, a new round or restart, its due date, its first day). Any
        other change leaves it asleep: with every council deciding, each decision used to wake
        every open step of every lane. Asked again only after the state changed, so a round's
        verdict is not evaluated at every check of the condition."""

        def key() -> tuple[object, ...]:
            state = self._state
            return (
                done(),
                alive(),
                step.round_number,
                state.due_date(step),
                state.earliest_day(step),
            )

        seen = key()
        version = self._version

        def moved() -> bool:
            nonlocal version
            if self._version == version:
                return False
            version = self._version
            return key() != seen

        return moved

    # --- notifications (through the journal into the outbox) -------------------------------

    def _was_notified(self, tag: str) -> bool:
        return tag in self._notified

    def _mark_notified(self, tag: str) -> None:
        self._notified.add(tag)

    def _notification(
        self, tag: str, recipients: tuple[str, ...], subject: str, body: str
    ) -> Notification:
        return Notification(
            key=f"{self._ref.trajectory_id}:{tag}",
            recipients=recipients,
            subject=subject,
            body=body,
        )

    def _party_outcomes(self, step: StepState) -> list[PartyOutcome]:
        if step.spec.kind is not StepKind.DECISION_ROUND:
            return []  # a single body: its name says it all
        return [
            PartyOutcome(
                self._state.name_of(p.authority_id), p.outcome, silent=p.counted_as_abstention
            )
            for p in step.parties.values()
        ]

    def _recipients(self, step: StepState) -> tuple[str, ...]:
        if step.is_decision:
            return tuple(self._state.pending_parties(step))
        return (step.spec.role or COORDINATOR,)

    def _remind(self, step: StepState, key: str, due: date) -> None:
        self._mark_notified(key)
        recipients = self._recipients(step)
        self._record(
            ev.ReminderSent(due=due, recipients=tuple(recipients)),
            f"reminder for {step.spec.id} (due {due}) to {', '.join(recipients)}",
            step_id=step.spec.id,
            notification=self._notification(
                key,
                recipients,
                *notices.reminder(step.spec.title, self._ref.cooperation_name, due),
            ),
        )

    def _escalate(self, step: StepState, key: str, due: date) -> None:
        self._mark_notified(key)
        recipients = (COORDINATOR, *self._recipients(step))
        self._record(
            ev.EscalationSent(recipients=tuple(dict.fromkeys(recipients))),
            f"{step.spec.id} is overdue; escalated to {', '.join(dict.fromkeys(recipients))}",
            step_id=step.spec.id,
            notification=self._notification(
                key,
                tuple(dict.fromkeys(recipients)),
                *notices.escalation(step.spec.title, self._ref.cooperation_name, due),
            ),
        )
        self._changed()

    # --- waits and the effective date -------------------------------------------------------

    async def _run_wait(self, step: StepState, alive: Callable[[], bool]) -> None:
        spec = step.spec
        assert spec.wait_until is not None
        if spec.wait_until.anchor == "effective-date":
            await self._settle_effective_date()
        while True:
            target = self._state.date_for(spec.wait_until)
            assert target is not None
            resume_day = (
                target if spec.resume is WaitResume.START_OF_DAY else target + timedelta(days=1)
            )
            version = self._version
            changed = await self._wait(self._changed_since(version), start_of(resume_day))
            if not alive():
                return
            if not changed:
                break
            if spec.wait_until.anchor == "effective-date":
                await self._settle_effective_date()
        self._state.complete_step(step, self._today())
        self._record(
            ev.StepDone(waited_until=target),
            f"{spec.id}: waited until {target}",
            step_id=spec.id,
        )

    async def _settle_effective_date(self) -> None:
        """Never backdate: if the planned effective date has passed, ask for a new one."""
        if self._state.effective_date >= self._today():
            return
        self._state.ask_effective_date()
        self._record(
            ev.EffectiveDateNeeded(planned=self._state.effective_date),
            f"approval came after the planned effective date {self._state.effective_date}; "
            "a new effective date is needed",
            notification=self._notification(
                f"effective-date-needed:{self._state.effective_date.isoformat()}",
                (COORDINATOR,),
                *notices.effective_date_needed(
                    self._ref.cooperation_name, self._state.effective_date
                ),
            ),
        )
        self._changed()
        await self._wait(lambda: not self._state.needs_effective_date, None)

    # --- abort ------------------------------------------------------------------------------

    async def _compensate(self, request: AbortRequest) -> None:
        """Undo what was done, newest first, then tell the parties and restore the register."""
        for step_id in reversed(self._state.completion_order):
            step = self._state.steps[step_id]
            if step.spec.compensation is None:
                continue
            result = await self._perform(step_id, step.spec.compensation)
            self._state.compensate_step(step)
            self._record(
                ev.StepCompensated(), f"{step_id} compensated: {result.summary}", step_id=step_id
            )
        await self._perform(
            "abort",
            Action(name=ActionName.NOTIFY_PARTIES, message=f"Traject gestopt: {request.reason}"),
        )
        await self._perform("abort", Action(name=ActionName.RESTORE_REGISTER))
        self._state.finish_aborted(self._today())
        self._record(
            ev.TrajectoryAborted(reason=request.reason),
            f"trajectory aborted: {request.reason}",
            actor=request.aborted_by,
        )

    # --- journal ----------------------------------------------------------------------------

    def _record(
        self,
        payload: ev.EventPayload,
        summary: str,
        *,
        actor: str | None = None,
        step_id: str | None = None,
        authority_id: str | None = None,
        notification: Notification | None = None,
    ) -> None:
        self._journal.record(
            payload,
            summary,
            on=self._today(),
            at=self._calendar.recorded_at(),
            actor=actor,
            step_id=step_id,
            authority_id=authority_id,
            notification=notification,
        )
        # The SDK's logger drops records while the history replays, unless told to log during
        # replay: the same test made here first skips the logger's work on every record of
        # every replay (a worker without a cache replays the history on every task).
        if workflow.logger.log_during_replay or not workflow.unsafe.is_replaying_history_events():
            workflow.logger.info(summary, extra={"kind": payload.KIND.value, "step_id": step_id})

    async def _flush_journal(self) -> None:
        """Persist the journal in order, in batches; each batch is idempotent by sequence."""
        while True:
            await workflow.wait_condition(self._journal.has_unpersisted)
            batch = self._journal.next_batch()
            # A worker without a cache replays every flush of the history on every workflow
            # task, and the SDK converts and encrypts each replayed command's input again only
            # to throw it away: Temporal does not compare an activity's input on replay, and
            # the activity ran with the input the history holds. A replayed flush therefore
            # carries neither the records nor a snapshot (building one is most of the replay's
            # cost in the state machine): all replayed flushes share one placeholder input.
            # The journal's own bookkeeping, and the note of when the full status went out,
            # are the same either way.
            if workflow.unsafe.is_replaying_history_events():
                self._note_status_moment()
                payload = self._replayed_batch()
            else:
                payload = JournalBatch(
                    trajectory=self._ref, records=batch, snapshot=self._snapshot()
                )
            try:
                await workflow.execute_activity_method(
                    JournalActivities.persist_journal,
                    payload,
                    start_to_close_timeout=_ACTIVITY_TIMEOUT,
                    retry_policy=_DB_RETRY,
                )
            except ActivityError:  # pragma: no cover - retries are unlimited
                workflow.logger.exception("persisting the journal failed; retrying")
                continue
            self._journal.mark_persisted(batch)
            # A flush with records waiting behind it leaves its command by scheduling the next
            # flush in the same workflow task: no memo needed then.
            if not self._journal.has_unpersisted():
                # Every workflow task that takes in a flush's result leaves a command, so no
                # two tasks in a row around the journal activity are without commands, whatever
                # else left one (a refusal before acceptance: a clock running ahead, a payload
                # that does not decode, an unknown update). Shown with sdk_reports/
                # nocache_update_replay.py --memo-after-flush. The Web UI shows it as the memo.
                workflow.upsert_memo({JOURNAL_MEMO: self._journal.persisted})

    def _note_status_moment(self) -> bool:
        """Whether the full status is due with this flush: the phase or the end changed since
        the last one that carried it. Noted for replayed flushes as well, so the live flushes
        send it exactly when a cached worker would."""
        moment = (self._state.phase(), self._state.finished_on is not None)
        if moment == self._status_sent_for:
            return False
        self._status_sent_for = moment
        return True

    def _replayed_batch(self) -> JournalBatch:
        """The input of every replayed flush: never sent (the activity ran long ago with the
        input the history holds), so one is built per run, when the first flush replays."""
        if self._placeholder_batch is None:
            self._placeholder_batch = JournalBatch(
                trajectory=self._ref, records=(), snapshot=self._snapshot(with_status=False)
            )
        return self._placeholder_batch

    def _snapshot(self, *, with_status: bool = True) -> Snapshot:
        """The trajectory row after a batch: a compact summary every time, the full status
        (some 15 KB, the bulk of a history when it went with every batch) only when the phase
        or the end changed since the last one. Live readers ask the workflow; the stored status
        serves reports when no worker answers (report/live.py) and finished trajectories."""
        today = self._today()
        status_json: dict[str, Any] | None = None
        if with_status and self._note_status_moment():
            status = self._status(with_timeline=False)
            status_json = status.model_dump(mode="json", exclude={"timeline"})
        return Snapshot(
            phase=self._state.phase(),
            today=today,
            planned_av_date=self._state.planned_av_date,
            effective_date=self._state.effective_date,
            needs_effective_date=self._state.needs_effective_date,
            overdue=self._state.any_overdue(today),
            pending_authorities=tuple(self._state.pending_authorities()),
            next_deadline=self._state.next_deadline(today),
            finished=self._state.finished_on is not None,
            status_json=status_json,
        )

    # --- publishing: search attributes and the Web UI summary ------------------------------

    def _changed(self, *, bump: bool = True) -> None:
        """The state changed (`bump`), or only the calendar moved: wake the waiting coroutines
        and get the change published."""
        if bump:
            self._version += 1
            self._record_phase_change()  # the phase follows the state alone, not the calendar
        self._unpublished = True

    def _record_phase_change(self) -> None:
        phase = self._state.phase()
        if self._phase is not None and phase is not self._phase:
            self._record(
                ev.PhaseChanged(previous=self._phase, phase=phase),
                f"phase {self._phase.value} -> {phase.value}",
            )
        self._phase = phase

    async def _publish_changes(self) -> None:
        """Publish once the workflow task's other work is done: a condition is checked only
        when no coroutine can run, so a batch of decisions in one task costs one upsert."""
        while True:
            await workflow.wait_condition(lambda: self._unpublished)
            self._unpublished = False
            self._publish()

    def _publish(self) -> None:
        """Search attributes for the Web UI's lists and the summary in its details, when
        they changed."""
        today = self._today()
        phase = self._state.phase()
        pending = self._state.pending_authorities()
        overdue = self._state.any_overdue(today)
        effective = start_of(self._state.effective_date)
        current = {"phase": phase, "pending": pending, "overdue": overdue, "effective": effective}
        previous = {key: self._published.get(key) for key in current}
        if current == previous:
            return
        self._published.update(current)
        every: dict[str, SearchAttributeUpdate[Any]] = {
            "phase": sa.PHASE.value_set(phase.value),
            "pending": sa.PENDING_AUTHORITIES.value_set(pending),
            "overdue": sa.OVERDUE.value_set(overdue),
            "effective": sa.EFFECTIVE_DATE.value_set(effective),
        }
        # Only what changed (a decision usually changes the pending authorities alone): the
        # SDK encodes every value of an upsert on every replay.
        updates = [update for key, update in every.items() if current[key] != previous[key]]
        if previous["phase"] is None:
            updates += [
                sa.COOPERATION_KIND.value_set(self._ref.kind.value),
                sa.COOPERATION_ID.value_set(self._ref.cooperation_id),
            ]
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(self._details(today))

    def _details(self, today: date) -> str:
        """Markdown shown in the Web UI: where the trajectory stands, at a glance."""
        state = self._state
        open_steps = [s for s in state.steps.values() if s.status is StepStatus.OPEN]
        lines = [
            f"**{self._ref.cooperation_name}** ({self._ref.kind.value}) — phase "
            f"**{state.phase().value}**",
            f"Calendar date {today}; general assembly {state.planned_av_date}; effective "
            f"{state.effective_date}",
        ]
        if open_steps:
            lines.append("Open: " + ", ".join(s.spec.id for s in open_steps))
        pending = state.pending_authorities()
        if pending:
            lines.append("Awaiting decisions from: " + ", ".join(pending))
        if state.any_overdue(today):
            lines.append(
                "⚠ overdue: "
                + ", ".join(s.spec.id for s in open_steps if state.is_overdue(s, today))
            )
        return "\n\n".join(lines)

    # --- query ------------------------------------------------------------------------------

    @workflow.query
    def status(self) -> TrajectoryStatus:
        return self._status()

    def _status(self, *, with_timeline: bool = True) -> TrajectoryStatus:
        state = self._state
        # The calendar's date: what messages are checked against. It stands still between
        # facts; `TrajectoryStatus.calendar_today(now)` gives a client the date at its clock.
        today = self._today()
        request = state.request
        return TrajectoryStatus(
            workflow_id=self._ref.workflow_id,
            cooperation_id=request.cooperation_id,
            cooperation_name=request.cooperation_name,
            kind=request.kind,
            template_version=state.input.template.version,
            phase=state.phase(),
            today=today,
            started_on=state.started_on,
            planned_av_date=state.planned_av_date,
            effective_date=state.effective_date,
            needs_effective_date=state.needs_effective_date,
            participants=tuple(state.participants),
            members=state.members,
            steps=state.step_views(today),
            pending_authorities=tuple(state.pending_authorities()),
            overdue=state.any_overdue(today),
            next_deadline=state.next_deadline(today),
            # The journal's snapshot leaves the timeline out: building it for every flush would
            # cost a replay (every workflow task, without a cache) time square in its length.
            timeline=self._journal.events if with_timeline else (),
            rejected_messages=state.rejected_messages,
            finished_on=state.finished_on,
            abort_reason=state.abort.reason if state.abort else None,
            host=request.host,
            merged=request.merged,
            continues_as=request.continues_as,
            started_at=self._calendar.started_at,
            calendar_speed=self._calendar.speed,
            calendar_origin=self._calendar.origin,
        )

    # --- messages: one implementation, reachable as update (with validator) and signal ------

    def _apply_decision(self, d: DecisionInput) -> Ack:
        self._calendar.observe_wall(d.sent_at)
        d = self._state.complete_decision(d, self._today())
        step = self._state.check_decision(d, self._today())
        if step is None:
            return Ack(message=f"decision of {d.authority_id} was already recorded", no_op=True)
        stored = self._state.apply_decision(step, d)
        self._record(
            ev.DecisionRecorded(decision=stored, round=step.round_number),
            f"{d.authority_id} decided {d.outcome.value} on {step.spec.id} (session "
            f"{d.session_date}, ref {d.reference})",
            actor=d.recorded_by,
            step_id=step.spec.id,
            authority_id=d.authority_id,
        )
        revision = self._state.revise_round(step, self._today())
        if revision is not None:
            self._record_revision(step, stored, *revision)
        self._changed()
        return Ack(message=f"decision of {d.authority_id} on {step.spec.id} recorded")

    def _record_revision(
        self,
        step: StepState,
        late: RecordedDecision,
        before: str,
        after: str,
        reasons: list[str],
    ) -> None:
        self._record(
            ev.RoundRevised(
                authority_id=late.authority_id,
                session_date=late.session_date,
                before=before,
                after=after,
                reasons=tuple(reasons),
            ),
            f"{step.spec.id} revised after the late recording of {late.authority_id} "
            f"(session {late.session_date}): {before} -> {after}",
            step_id=step.spec.id,
            authority_id=late.authority_id,
            notification=self._notification(
                f"{step.spec.id}:revised:{late.authority_id}:{step.round_number}",
                (COORDINATOR,),
                *notices.round_revised(
                    step.spec.title,
                    self._ref.cooperation_name,
                    self._state.name_of(late.authority_id),
                    late.session_date,
                    before,
                    after,
                ),
            ),
        )

    def _apply_task(self, c: TaskCompletion) -> Ack:
        self._calendar.observe_wall(c.sent_at)
        step = self._state.check_task(c, self._today())
        if step is None:
            return Ack(message=f"task {c.step_id} was already completed", no_op=True)
        self._state.apply_task(step, c, self._today())
        self._record(
            ev.TaskCompleted(completion=c),
            f"task {c.step_id} completed (evidence: {c.evidence})",
            actor=c.completed_by,
            step_id=c.step_id,
        )
        self._changed()
        return Ack(message=f"task {c.step_id} completed")

    def _apply_amendment(self, a: Amendment) -> Ack:
        self._calendar.observe_wall(a.sent_at)
        step = self._state.check_amendment(a, self._today())
        if a.changes_proposal:
            restarted = tuple(s.spec.id for s in self._state.restart_set(step))
            self._state.apply_amendment(step, a)
            self._record(
                ev.AmendmentRecorded(amendment=a, reopened=(), restarted=restarted),
                f"proposal changed ({a.reason}); starting again: {', '.join(restarted)}",
                actor=a.amended_by,
                step_id=step.spec.id,
            )
            self._changed()
            return Ack(message=f"proposal changed; starting again: {', '.join(restarted)}")
        reopened = self._state.apply_amendment(step, a)
        self._record(
            ev.AmendmentRecorded(amendment=a, reopened=tuple(reopened)),
            f"proposal amended ({a.reason}); new round {step.round_number} of {step.spec.id} "
            f"for {', '.join(reopened)}",
            actor=a.amended_by,
            step_id=step.spec.id,
        )
        self._changed()
        return Ack(message=f"amended; {step.spec.id} reopened for {', '.join(reopened)}")

    def _apply_join(self, j: JoinRequest) -> Ack:
        self._calendar.observe_wall(j.sent_at)
        self._state.check_join(j)
        rounds = self._state.apply_join(j)
        self._record(
            ev.MemberJoined(participant=j.participant, rounds=tuple(rounds)),
            f"{j.participant.authority_id} joined (olievlek)"
            + (f"; decides in {', '.join(rounds)}" if rounds else ""),
            actor=j.joined_by,
            authority_id=j.participant.authority_id,
        )
        self._changed()
        return Ack(message=f"{j.participant.authority_id} joined")

    def _apply_effective_date(self, c: EffectiveDateChange) -> Ack:
        self._calendar.observe_wall(c.sent_at)
        self._state.check_effective_date(c, self._today())
        previous = self._state.apply_effective_date(c)
        self._record(
            ev.EffectiveDateSet(previous=previous, new=c.effective_date),
            f"effective date {previous} -> {c.effective_date} ({c.reason})",
            actor=c.changed_by,
        )
        self._changed()
        return Ack(message=f"effective date set to {c.effective_date}")

    def _apply_abort(self, r: AbortRequest) -> Ack:
        self._calendar.observe_wall(r.sent_at)
        self._state.check_abort()
        self._state.apply_abort(r)
        self._record(
            ev.AbortRequested(reason=r.reason), f"abort requested: {r.reason}", actor=r.aborted_by
        )
        self._changed()
        return Ack(message="abort accepted; compensating steps run now")

    # Updates. A validator refuses only a stamp from a clock running ahead (it alone may read
    # the clock). Everything else is decided by the handler, on the recorded state: a refusal
    # is an accepted update that fails with the reason and changes nothing. A refusal in a
    # validator would leave a workflow task without commands, and two such tasks in a row
    # are batched differently by a worker replaying the live run than by a replay of its
    # history (sdk_reports/README.md, claim 1); an accepted update always leaves commands.

    @workflow.update(name="decide")
    def decide(self, d: DecisionInput) -> Ack:
        ack: Ack = _answered(self._apply_decision, d)
        return ack

    @decide.validator
    def _validate_decide(self, d: DecisionInput) -> None:
        _answered(self._check_stamp, d.sent_at)

    @workflow.update(name="complete_task")
    def complete_task(self, c: TaskCompletion) -> Ack:
        ack: Ack = _answered(self._apply_task, c)
        return ack

    @complete_task.validator
    def _validate_complete_task(self, c: TaskCompletion) -> None:
        _answered(self._check_stamp, c.sent_at)

    @workflow.update(name="amend")
    def amend(self, a: Amendment) -> Ack:
        ack: Ack = _answered(self._apply_amendment, a)
        return ack

    @amend.validator
    def _validate_amend(self, a: Amendment) -> None:
        _answered(self._check_stamp, a.sent_at)

    @workflow.update(name="join")
    def join(self, j: JoinRequest) -> Ack:
        ack: Ack = _answered(self._apply_join, j)
        return ack

    @join.validator
    def _validate_join(self, j: JoinRequest) -> None:
        _answered(self._check_stamp, j.sent_at)

    @workflow.update(name="set_effective_date")
    def set_effective_date(self, c: EffectiveDateChange) -> Ack:
        ack: Ack = _answered(self._apply_effective_date, c)
        return ack

    @set_effective_date.validator
    def _validate_set_effective_date(self, c: EffectiveDateChange) -> None:
        _answered(self._check_stamp, c.sent_at)

    @workflow.update(name="abort")
    def abort(self, r: AbortRequest) -> Ack:
        ack: Ack = _answered(self._apply_abort, r)
        return ack

    @abort.validator
    def _validate_abort(self, r: AbortRequest) -> None:
        _answered(self._check_stamp, r.sent_at)

    # Signals: plain JSON, validated here; a bad one is recorded as rejected, never fatal.

    def _signal(
        self, model: type[BaseModel], apply: Callable[[Any], Ack], payloads: tuple[Any, ...]
    ) -> None:
        # Handlers take *payloads: a signal sent with no input (or two) must be recorded as
        # rejected, not raise a TypeError that would fail every workflow task from then on.
        name = model.__name__
        if len(payloads) != 1:
            self._reject_signal(name, f"expected one JSON object as input, got {len(payloads)}")
            return
        refused = payloads[0]
        if isinstance(refused, dict) and set(refused) == {REFUSED_SIGNAL_KEY}:
            # The codec could not decode the input (sent in clear, altered): say why.
            self._reject_signal(name, f"payload refused: {refused[REFUSED_SIGNAL_KEY]}")
            return
        try:
            message = model.model_validate(payloads[0])
            ack = apply(message)
        except ValidationError as exc:
            self._reject_signal(name, "; ".join(_short_errors(exc)))
        except MessageRejected as exc:
            self._reject_signal(name, str(exc))
        else:
            # A repeat changes nothing, but is recorded: a signal that left no record would
            # leave a workflow task without commands, and two of those in a row around an
            # activity are replayed differently by a worker without a cache than by a replay
            # of the history (sdk_reports/README.md, claim 1).
            if ack.no_op:
                self._record(
                    ev.MessageRepeated(message=name),
                    f"{name} signal repeated: {ack.message}"[:1000],
                )

    def _reject_signal(self, name: str, reason: str) -> None:
        self._state.count_refused()
        self._record(
            ev.MessageRefused(message=name, reason=reason[:1000]),
            f"{name} signal rejected: {reason}"[:1000],
        )
        self._changed()

    @workflow.signal(name="decide_signal")
    def decide_signal(self, *payloads: Any) -> None:
        self._signal(DecisionInput, self._apply_decision, payloads)

    @workflow.signal(name="complete_task_signal")
    def complete_task_signal(self, *payloads: Any) -> None:
        self._signal(TaskCompletion, self._apply_task, payloads)

    @workflow.signal(name="amend_signal")
    def amend_signal(self, *payloads: Any) -> None:
        self._signal(Amendment, self._apply_amendment, payloads)

    @workflow.signal(name="join_signal")
    def join_signal(self, *payloads: Any) -> None:
        self._signal(JoinRequest, self._apply_join, payloads)

    @workflow.signal(name="set_effective_date_signal")
    def set_effective_date_signal(self, *payloads: Any) -> None:
        self._signal(EffectiveDateChange, self._apply_effective_date, payloads)

    @workflow.signal(name="abort_signal")
    def abort_signal(self, *payloads: Any) -> None:
        self._signal(AbortRequest, self._apply_abort, payloads)


def _short_errors(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"[:200]
        for error in exc.errors()[:5]
    ]
