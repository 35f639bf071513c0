"""Plays the people of a scenario: the coordinator completes tasks, the boards and councils
decide, the general assembly votes, through the same updates the command line sends.

Deterministic: who decides when follows from the authority's id, not from chance, so a
scenario runs the same way every time. Every party answers well before its deadline: the
account's cases are ones where everyone took part.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable
from datetime import UTC, date, datetime

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from operations.messages import stamped
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


class ScenarioRefused(RuntimeError):
    """The trajectory refused what the scenario sent: the scenario or the rules are wrong."""


def council_day(authority_id: str) -> int:
    """Which day after a round opens a council decides: fixed per council, spread over the
    meetings of a month."""
    return 3 + zlib.crc32(authority_id.encode()) % COUNCIL_SPREAD


def _answer_day(step: StepView, authority_id: str) -> int:
    wanted = BODY_DAYS if step.kind is StepKind.DECISION else council_day(authority_id)
    if step.due is not None and step.opened_on is not None:
        # Always within the deadline: the account's parties all decided in time.
        wanted = min(wanted, max((step.due - step.opened_on).days - 1, 0))
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
            today = status.calendar_today(datetime.now(UTC))
            for step in status.steps:
                if step.status is StepStatus.OPEN and step.opened_on is not None:
                    await self._act_on(status, step, today)
            await asyncio.sleep(self._poll)

    async def _act_on(self, status: TrajectoryStatus, step: StepView, today: date) -> None:
        assert step.opened_on is not None
        age = (today - step.opened_on).days
        if step.kind is StepKind.TASK:
            day = self._scenario.done_on.get(step.id, step.opened_on)
            ready = max(day, step.earliest or day)
            if age >= TASK_DAYS and today >= ready:
                completion = TaskCompletion(
                    step_id=step.id,
                    evidence=f"https://docs.midwest.example/{status.cooperation_id}/{step.id}",
                    completed_by=ACTOR,
                    done_on=min(today, max(ready, step.opened_on)),
                )
                key = (step.id, "", step.round_number)
                if key not in self._sent:
                    await self._answered(
                        key,
                        self._handle.execute_update(
                            InkantelingTrajectory.complete_task, stamped(completion)
                        ),
                    )
            return
        for party in step.parties:
            if party.outcome is not None or age < _answer_day(step, party.authority_id):
                continue
            outcome = self._scenario.outcomes.get((step.id, party.authority_id), Outcome.APPROVE)
            decision = self._decision(status, step, party.authority_id, outcome, today)
            key = (step.id, party.authority_id, step.round_number)
            if key not in self._sent:
                await self._answered(
                    key,
                    self._handle.execute_update(InkantelingTrajectory.decide, stamped(decision)),
                )

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

    async def _answered(self, key: tuple[str, str, int], sending: Awaitable[Ack]) -> None:
        """Wait for the answer to a message, sent once per key (the status read before it
        may be a moment old); a refusal stops the scenario with the trajectory's words."""
        try:
            ack = await sending
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            text = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise ScenarioRefused(f"{key[0]}: {text}") from None
        assert isinstance(ack, Ack)
        self._sent.add(key)
