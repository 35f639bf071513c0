"""Plays the people of a scenario: the coordinator completes tasks, the boards and councils
decide, the general assembly votes, through the same updates the command line sends.

Deterministic: who decides when follows from the authority's id, not from chance, so a
scenario runs the same way every time. Every party answers well before its deadline: the
account's cases are ones where everyone took part.

Light on the worker: the actor reads the status when something is planned (it sleeps until
the wall-clock moment of the next planned day) and otherwise at the poll interval, to see
the steps the trajectory opens on its own. Without a workflow cache every query replays the
whole history, so a status read for every tick of a compressed calendar would keep a small
machine's worker busy with queries alone.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.workflow import UpdateMethodMultiParam

from operations.messages import stamped, until_taken
from scenarios.catalogue import Scenario
from schemas.common import Outcome, StepKind
from schemas.template import ASSEMBLY_BODY
from schemas.trajectory import (
    Ack,
    DecisionInput,
    DelegateVote,
    StepStatus,
    StepView,
    TaskCompletion,
    TrajectoryStatus,
)
from workflows.trajectory import InkantelingTrajectory

TASK_DAYS = 4  # a task is done four calendar days after it opens
BODY_DAYS = 6  # a single body decides at its meeting six days after the step opens
COUNCIL_SPREAD = 30  # councils decide over about a month of meetings
ACTOR = "Scenario"
# The server holds at most ten updates in flight per workflow and refuses more (the client
# then backs off and sends again); a round of seventeen councils goes out in lots below that.
UPDATES_IN_FLIGHT = 8
# How long one message may take on a busy machine, aborted attempts sent again included.
MESSAGE_BOUND = timedelta(seconds=60)

M = TypeVar("M", DecisionInput, TaskCompletion)


class ScenarioRefused(RuntimeError):
    """The trajectory refused what the scenario sent: the scenario or the rules are wrong."""


def council_day(authority_id: str) -> int:
    """Which day after a round opens a council decides: fixed per council, spread over the
    meetings of a month."""
    return 3 + zlib.crc32(authority_id.encode()) % COUNCIL_SPREAD


def _answer_day(step: StepView, authority_id: str) -> int:
    wanted = BODY_DAYS if step.kind is StepKind.DECISION else council_day(authority_id)
    if step.due is not None and step.opened_on is not None:
        # Within the first half of the time left: the account's parties all decided in time,
        # and on a compressed calendar the other half absorbs a busy machine's delays.
        wanted = min(wanted, max((step.due - step.opened_on).days // 2, 0))
    return wanted


class Actor:
    def __init__(
        self,
        handle: WorkflowHandle[InkantelingTrajectory, TrajectoryStatus],
        scenario: Scenario,
        poll_seconds: float,
    ) -> None:
        self._handle = handle
        self._scenario = scenario
        self._poll = poll_seconds
        self._sent: set[tuple[str, str, int]] = set()  # (step, party or "", round)

    async def play(self) -> TrajectoryStatus:
        """Act until the trajectory finishes; its final status."""
        while True:
            status = await self._handle.query(InkantelingTrajectory.status)
            if status.finished_on is not None:
                return status
            now = datetime.now(UTC)
            today = status.calendar_today(now)
            open_steps = [
                step
                for step in status.steps
                if step.status is StepStatus.OPEN and step.opened_on is not None
            ]
            sends = [send for step in open_steps for send in self._due(status, step, today)]
            if sends:
                # At once, in lots: the trajectory takes in the updates that arrive together
                # in one workflow task, so a round of councils does not cost a turn each.
                lot = asyncio.Semaphore(UPDATES_IN_FLIGHT)
                await asyncio.gather(*(self._answered(key, send(), lot) for key, send in sends))
                continue  # the status has moved: read it again
            await asyncio.sleep(self._pause(status, open_steps, today, now))

    def _pause(
        self, status: TrajectoryStatus, open_steps: list[StepView], today: date, now: datetime
    ) -> float:
        """Seconds until the next planned day, at most the poll interval."""
        planned = [day for step in open_steps for day in self._planned_days(step) if day > today]
        if not planned:
            return self._poll
        wake = status.wall_time_of(min(planned))
        if wake is None:
            return self._poll
        return max(0.0, min(self._poll, (wake - now).total_seconds()))

    def _planned_days(self, step: StepView) -> list[date]:
        """The days this step's unsent messages are planned for."""
        if step.kind is StepKind.TASK:
            key = (step.id, "", step.round_number)
            return [] if key in self._sent else [self._task_day(step)]
        assert step.opened_on is not None
        return [
            step.opened_on + timedelta(days=_answer_day(step, party.authority_id))
            for party in step.parties
            if party.outcome is None
            and (step.id, party.authority_id, step.round_number) not in self._sent
        ]

    def _task_day(self, step: StepView) -> date:
        assert step.opened_on is not None
        return max(
            step.opened_on + timedelta(days=TASK_DAYS),
            self._scenario.done_on.get(step.id, step.opened_on),
            step.earliest or step.opened_on,
        )

    def _due(
        self, status: TrajectoryStatus, step: StepView, today: date
    ) -> list[tuple[tuple[str, str, int], Callable[[], Awaitable[Ack]]]]:
        """The messages this step is owed by today, each dated on the day it was planned
        for: a council decides at its meeting and its decision may be recorded a little later
        (within the recording grace), as in real life when the secretariat lags behind."""
        assert step.opened_on is not None
        due: list[tuple[tuple[str, str, int], Callable[[], Awaitable[Ack]]]] = []
        if step.kind is StepKind.TASK:
            planned = self._task_day(step)
            key = (step.id, "", step.round_number)
            if today >= planned and key not in self._sent:
                completion = TaskCompletion(
                    step_id=step.id,
                    evidence=f"https://docs.midwest.example/{status.cooperation_id}/{step.id}",
                    completed_by=ACTOR,
                    done_on=planned,
                )
                due.append((key, self._sender(InkantelingTrajectory.complete_task, completion)))
            return due
        for party in step.parties:
            planned = step.opened_on + timedelta(days=_answer_day(step, party.authority_id))
            key = (step.id, party.authority_id, step.round_number)
            if party.outcome is not None or today < planned or key in self._sent:
                continue
            outcome = self._scenario.outcomes.get((step.id, party.authority_id), Outcome.APPROVE)
            decision = self._decision(status, step, party.authority_id, outcome, planned)
            due.append((key, self._sender(InkantelingTrajectory.decide, decision)))
        return due

    def _sender(
        self, update: UpdateMethodMultiParam[[InkantelingTrajectory, M], Ack], message: M
    ) -> Callable[[], Awaitable[Ack]]:
        def send() -> Awaitable[Ack]:
            sent = stamped(message)  # one stamp for every attempt: the same message
            return until_taken(
                lambda update_id: self._handle.execute_update(update, sent, id=update_id),
                MESSAGE_BOUND,
            )

        return send

    def _decision(
        self,
        status: TrajectoryStatus,
        step: StepView,
        authority_id: str,
        outcome: Outcome,
        today: date,
    ) -> DecisionInput:
        assembly = authority_id == ASSEMBLY_BODY
        voters = status.members or status.participants
        return DecisionInput(
            authority_id=authority_id,
            outcome=outcome,
            session_date=today,
            reference=f"https://{authority_id}.example/besluit/{today.isoformat()}/{step.id}",
            step_id=step.id,
            # The general assembly's approval carries its delegates' votes.
            delegates=(
                tuple(DelegateVote(authority_id=v.authority_id, outcome=outcome) for v in voters)
                if assembly
                else ()
            ),
            recorded_by=ACTOR,
        )

    async def _answered(
        self, key: tuple[str, str, int], sending: Awaitable[Ack], lot: asyncio.Semaphore
    ) -> None:
        """Wait for the answer to a message, sent once per key (the status read before it
        may be a moment old); a refusal stops the scenario with the trajectory's words."""
        try:
            async with lot:
                ack = await sending
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            text = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise ScenarioRefused(f"{key[0]}: {text}") from None
        assert isinstance(ack, Ack)
        self._sent.add(key)
