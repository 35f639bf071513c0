"""An update the server aborted is sent again, as the same update, within its bound; and
the wall-clock moment a scenario's compressed calendar reaches a day.

The server answers UNAVAILABLE when it drops a workflow's update registry (a workflow task that
timed out on a busy worker, a restarted worker) and asks the sender to retry. `until_taken` is
the one place the command line and the scenario actor do that; `send` stands in for the
update call, the boundary the helper itself offers. When the aborts outlast the bound, the
command line tells them from a lost connection by asking Temporal something else
(`temporal_answers`), here against the real dev server and a port nobody listens on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from operations.messages import kept_aborted, temporal_answers, until_taken
from operations.queries import NoWorker
from schemas.common import CooperationKind
from schemas.template import Phase
from schemas.trajectory import Ack, TrajectoryStatus
from stack.binaries import temporal_cli

ACK = Ack(message="recorded")


def aborted() -> RPCError:
    return RPCError("workflow update was aborted", RPCStatusCode.UNAVAILABLE, b"")


class Server:
    """Answers each attempt with the next of `answers` (an Ack or an error to raise) and
    keeps the update id every attempt carried."""

    def __init__(self, *answers: Ack | RPCError) -> None:
        self._answers = list(answers)
        self.ids: list[str] = []

    async def send(self, update_id: str) -> Ack:
        self.ids.append(update_id)
        answer = self._answers.pop(0)
        if isinstance(answer, RPCError):
            raise answer
        return answer


async def test_an_aborted_update_is_sent_again_with_the_same_id() -> None:
    server = Server(aborted(), aborted(), ACK)
    assert await until_taken(server.send, timedelta(seconds=10)) == ACK
    assert len(server.ids) == 3
    assert len(set(server.ids)) == 1  # one update, three attempts


async def test_other_errors_are_not_retried() -> None:
    refused = RPCError("no such workflow", RPCStatusCode.NOT_FOUND, b"")
    server = Server(refused, ACK)
    with pytest.raises(RPCError) as raised:
        await until_taken(server.send, timedelta(seconds=10))
    assert raised.value is refused
    assert len(server.ids) == 1


async def test_it_gives_up_at_its_bound() -> None:
    # A bound shorter than one pause between attempts: the first abort is the answer.
    server = Server(aborted(), ACK)
    with pytest.raises(RPCError) as raised:
        await until_taken(server.send, timedelta(seconds=0.1))
    assert raised.value.status is RPCStatusCode.UNAVAILABLE
    assert len(server.ids) == 1


@pytest.mark.asyncio(loop_scope="session")
async def test_temporal_answers_when_it_answers_anything(dev_env: WorkflowEnvironment) -> None:
    # No such workflow is an answer too: the server is there.
    assert await temporal_answers(dev_env.client, "trajectory-nobody-started")


async def test_temporal_does_not_answer_once_its_server_is_gone() -> None:
    # A server of its own, connected to and then stopped: the client a command holds when
    # the connection is lost.
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()), dev_server_log_level="error"
    )
    client = env.client
    assert await temporal_answers(client, "trajectory-anything")
    await env.shutdown()
    assert not await temporal_answers(client, "trajectory-anything")


def test_an_update_aborted_to_the_end_is_a_worker_trouble_with_advice() -> None:
    trouble = kept_aborted("trajectory-bie", timedelta(seconds=30))
    # The command line gives a NoWorker its own exit code (unavailable), not the advice for
    # a lost connection; the text says the message may still land and how to check.
    assert isinstance(trouble, NoWorker)
    assert "aborted the message each time it was sent, for 30 s" in str(trouble)
    assert "starter.py status trajectory-bie" in str(trouble)


def test_the_wall_time_of_a_day_is_when_the_calendar_reaches_it() -> None:
    """What the scenario actor sleeps until: the inverse of `calendar_today`."""
    started_at = datetime(2026, 12, 1, 22, 0, 7, tzinfo=UTC)
    status = TrajectoryStatus(
        workflow_id="inkanteling-bie",
        cooperation_id="bie",
        cooperation_name="Projectvereniging BIE",
        kind=CooperationKind.PROJECTVERENIGING,
        template_version=1,
        phase=next(iter(Phase)),
        today=date(2020, 1, 6),
        started_on=date(2020, 1, 6),
        planned_av_date=None,
        effective_date=date(2020, 12, 1),
        needs_effective_date=False,
        participants=(),
        steps=(),
        pending_authorities=(),
        overdue=False,
        next_deadline=None,
        timeline=(),
        rejected_messages=0,
        started_at=started_at,
        calendar_speed=86_400 / 0.1,  # a day in a tenth of a second
        calendar_origin=datetime(2020, 1, 6, 9, 30, tzinfo=UTC),
    )
    day = date(2020, 3, 1)
    wall = status.wall_time_of(day)
    assert wall is not None
    assert status.calendar_today(wall + timedelta(milliseconds=1)) == day
    assert status.calendar_today(wall - timedelta(milliseconds=1)) == day - timedelta(days=1)
    finished = status.model_copy(update={"finished_on": date(2020, 12, 1)})
    assert finished.wall_time_of(day) is None
