"""The paths a trajectory can take besides the happy one, on the time-skipping server with
real PostgreSQL: rejection and amendment, abort with compensation, silence at the deadline,
reminders, a member joining mid-round, approval after the planned effective date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from schemas.common import CooperationKind, Outcome
from schemas.template import Phase
from schemas.trajectory import (
    AbortRequest,
    Amendment,
    EffectiveDateChange,
    JoinRequest,
    StepStatus,
    TrajectoryStatus,
)
from tests.support.trajectories import (
    make_request,
    participant,
    play_everyone,
    running_worker,
    start,
    via_signals,
    wait_for,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def step_of(status: TrajectoryStatus, step_id: str):  # type: ignore[no-untyped-def]
    return next(s for s in status.steps if s.id == step_id)


def round_open(step_id: str):  # type: ignore[no-untyped-def]
    return lambda s: step_of(s, step_id).status is StepStatus.OPEN


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def test_rejection_then_amendment_reaches_integration(
    time_skipping_env: WorkflowEnvironment, database_url: str, db: asyncpg.Connection
) -> None:
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    # Izegem decides last: under unanimity its rejection settles the round at once, and a
    # council deciding after that would be refused (the proposal is being renegotiated).
    request = make_request(
        CooperationKind.PROJECTVERENIGING,
        start=today,
        participants=("roeselare", "tielt", "izegem"),
    )
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        send = via_signals(handle)
        rejected = await play_everyone(
            handle,
            send,
            env=env,
            outcome_for=lambda step, who: (
                Outcome.REJECT if (step, who) == ("council-round", "izegem") else Outcome.APPROVE
            ),
            until=lambda s: s.phase is Phase.RENEGOTIATION,
        )
        assert step_of(rejected, "council-round").status is StepStatus.REJECTED
        assert request.planned_av_date is not None
        new_av = request.planned_av_date + timedelta(days=60)
        await send(
            "amend",
            Amendment(
                reason="Aangepaste verdeelsleutel",
                amended_by="Coördinator",
                reopen_for=("izegem",),
                planned_av_date=new_av,
                effective_date=request.effective_date + timedelta(days=60),
            ),
        )
        reopened = await wait_for(handle, lambda s: s.phase is not Phase.RENEGOTIATION, env=env)
        council = step_of(reopened, "council-round")
        assert council.round_number == 1
        assert {p.authority_id: p.outcome for p in council.parties} == {
            "roeselare": Outcome.APPROVE,
            "tielt": Outcome.APPROVE,
            "izegem": None,
        }
        assert reopened.planned_av_date == new_av
        await play_everyone(handle, send, env=env)
        final = await handle.result()  # completes after the journal's last flush
    assert final.phase is Phase.INTEGRATED
    rows = await db.fetch(
        "SELECT round_number, outcome FROM decisions WHERE step_id = 'council-round' AND "
        "authority_id = 'izegem' ORDER BY 1"
    )
    assert [(r["round_number"], r["outcome"]) for r in rows] == [(0, "reject"), (1, "approve")]
    kinds = [r["kind"] for r in await db.fetch("SELECT kind FROM events ORDER BY seq")]
    assert (
        kinds.index("decision-rejected")
        < kinds.index("amendment")
        < kinds.index("trajectory-integrated")
    )


async def test_a_changed_proposal_runs_the_board_text_the_period_and_the_rounds_again(
    time_skipping_env: WorkflowEnvironment, database_url: str, db: asyncpg.Connection
) -> None:
    """The council round is rejected; the coordinator changes the proposal. The board fixes a
    new text, the statutory period runs again from it, the participants' and the members'
    rounds start again empty (the earlier approvals were for the old text) and the trajectory
    integrates on the new dates; the steps that ran before are not run again."""
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    request = make_request(
        CooperationKind.PROJECTVERENIGING,
        start=today,
        participants=("roeselare", "tielt", "izegem"),
    )
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        send = via_signals(handle)
        rejected = await play_everyone(
            handle,
            send,
            env=env,
            outcome_for=lambda step, who: (
                Outcome.REJECT if (step, who) == ("council-round", "izegem") else Outcome.APPROVE
            ),
            until=lambda s: s.phase is Phase.RENEGOTIATION,
        )
        first_text = step_of(rejected, "board-statute-text")
        assert first_text.status is StepStatus.DONE
        now = (await env.get_current_time()).date()
        new_av = now + timedelta(days=150)
        await send(
            "amend",
            Amendment(
                reason="Nieuwe verdeelsleutel",
                amended_by="Coördinator",
                changes_proposal=True,
                planned_av_date=new_av,
                effective_date=new_av + timedelta(days=60),
            ),
        )
        restarted = await wait_for(
            handle, lambda s: step_of(s, "board-statute-text").round_number == 1, env=env
        )
        assert restarted.phase is not Phase.RENEGOTIATION
        for step_id in ("council-round", "participants-exit", "statute-period"):
            again = step_of(restarted, step_id)
            assert again.round_number == 1 and again.status is StepStatus.WAITING, step_id
        assert step_of(restarted, "legal-scan").round_number == 0  # done once, not again
        await play_everyone(handle, send, env=env)
        final = await handle.result()
    assert final.phase is Phase.INTEGRATED
    text = step_of(final, "board-statute-text")
    period = step_of(final, "statute-period")
    assert text.completed_on is not None and period.completed_on is not None
    assert period.completed_on >= text.completed_on + timedelta(days=90)  # counted anew
    assert final.planned_av_date == new_av
    rows = await db.fetch(
        "SELECT round_number, outcome FROM decisions WHERE step_id = 'council-round' AND "
        "authority_id = 'roeselare' ORDER BY 1"
    )
    assert [(r["round_number"], r["outcome"]) for r in rows] == [(0, "approve"), (1, "approve")]
    amended = await db.fetchval(
        "SELECT data FROM events WHERE kind = 'amendment' ORDER BY seq LIMIT 1"
    )
    assert "board-statute-text" in str(amended)


async def test_abort_runs_compensation(
    time_skipping_env: WorkflowEnvironment, database_url: str, db: asyncpg.Connection
) -> None:
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    request = make_request(CooperationKind.PROJECTVERENIGING, start=today)
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        send = via_signals(handle)
        await play_everyone(handle, send, env=env, until=round_open("council-round"))
        drafts = await db.fetch("SELECT name, status FROM documents ORDER BY name")
        assert [(r["name"], r["status"]) for r in drafts] == [
            ("overdrachtsvoorstel", "draft"),
            ("statutenwijziging", "draft"),
        ]
        assert (
            await db.fetchval(
                "SELECT status FROM cooperations WHERE id = $1", request.cooperation_id
            )
            == "in-trajectory"
        )
        await send(
            "abort",
            AbortRequest(reason="Gemeenten kiezen een andere weg", aborted_by="Coördinator"),
        )
        final = await handle.result()
    assert final.phase is Phase.ABORTED
    assert final.abort_reason == "Gemeenten kiezen een andere weg"
    assert step_of(final, "council-round").status is StepStatus.CANCELLED
    assert step_of(final, "draft-statute-change").status is StepStatus.COMPENSATED
    withdrawn = await db.fetch("SELECT status FROM documents")
    assert {r["status"] for r in withdrawn} == {"withdrawn"}
    assert (
        await db.fetchval("SELECT status FROM cooperations WHERE id = $1", request.cooperation_id)
        == "active"
    )
    notice = await db.fetchrow(
        "SELECT recipients, subject FROM outbox WHERE key LIKE '%:abort:notify-parties'"
    )
    assert notice is not None
    assert sorted(notice["recipients"]) == ["izegem", "roeselare", "tielt"]
    assert "Gemeenten kiezen een andere weg" in notice["subject"]
    assert await db.fetchval("SELECT finished FROM trajectories") is True


async def test_silence_at_deadline_counts_as_abstention_and_rule_decides(
    time_skipping_env: WorkflowEnvironment, database_url: str, db: asyncpg.Connection
) -> None:
    """Qualified majority: 3 approve, 1 stays silent. At the deadline the silent council
    abstains; 3 of 3 votes cast approve, so the round passes. A reminder went to the silent
    council once, before the deadline, and one escalation at the close."""
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    request = make_request(
        CooperationKind.SHARED_SERVICE,
        start=today,
        participants=("roeselare", "izegem", "tielt", "staden"),
    )
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        send = via_signals(handle)
        status = await play_everyone(
            handle,
            send,
            env=env,
            silent=frozenset({"staden"}),
            silent_in=frozenset({"council-round"}),
            until=lambda s: step_of(s, "council-round").status is StepStatus.DONE,
        )
        council = step_of(status, "council-round")
        staden = next(p for p in council.parties if p.authority_id == "staden")
        assert staden.counted_as_abstention and staden.outcome is Outcome.ABSTAIN
        assert council.verdict is not None and "3 of 3" in council.verdict
        # The round closed at its deadline, not before.
        assert council.completed_on is not None and council.due is not None
        assert council.completed_on > council.due
        await play_everyone(handle, send, env=env, silent_in=frozenset({"council-round"}))
        final = await handle.result()
    assert final.phase is Phase.INTEGRATED
    reminders = await db.fetch(
        "SELECT key, recipients FROM outbox WHERE key LIKE '%council-round:reminder:%'"
    )
    assert [r["recipients"] for r in reminders] == [["staden"]]
    escalations = await db.fetch(
        "SELECT recipients FROM outbox WHERE key LIKE '%council-round:escalation:%'"
    )
    assert [sorted(r["recipients"]) for r in escalations] == [["coordinator", "staden"]]
    # Exactly once: one audit record per notification as well.
    assert (
        await db.fetchval(
            "SELECT count(*) FROM events WHERE kind = 'reminder-sent' AND step_id = 'council-round'"
        )
        == 1
    )


async def test_silence_under_unanimity_rejects(
    time_skipping_env: WorkflowEnvironment, database_url: str
) -> None:
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    request = make_request(CooperationKind.PROJECTVERENIGING, start=today)
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        status = await play_everyone(
            handle,
            via_signals(handle),
            env=env,
            silent=frozenset({"tielt"}),
            silent_in=frozenset({"participants-exit"}),
            until=lambda s: s.phase is Phase.RENEGOTIATION,
        )
        await via_signals(handle)("abort", AbortRequest(reason="stop", aborted_by="test"))
        await handle.result()
    # The participants' own round asks unanimity: one silent council fails it.
    own = step_of(status, "participants-exit")
    assert own.status is StepStatus.REJECTED
    assert next(p for p in own.parties if p.authority_id == "tielt").counted_as_abstention
    assert step_of(status, "council-round").status is StepStatus.DONE


async def test_member_joins_mid_round_and_gets_its_own_decision(
    time_skipping_env: WorkflowEnvironment, database_url: str, db: asyncpg.Connection
) -> None:
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    request = make_request(CooperationKind.PROJECTVERENIGING, start=today)
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        send = via_signals(handle)
        await play_everyone(handle, send, env=env, until=round_open("council-round"))
        await send("join", JoinRequest(participant=participant("ledegem"), joined_by="Coördinator"))
        joined = await wait_for(handle, lambda s: "ledegem" in s.pending_authorities, env=env)
        assert "ledegem" in [p.authority_id for p in joined.participants]
        await play_everyone(handle, send, env=env)
        final = await handle.result()
    council = step_of(final, "council-round")
    assert {p.authority_id for p in council.parties} == {"roeselare", "izegem", "tielt", "ledegem"}
    members = await db.fetch(
        "SELECT authority_id FROM cooperation_members WHERE cooperation_id = $1",
        request.cooperation_id,
    )
    assert {r["authority_id"] for r in members} == {"roeselare", "izegem", "tielt", "ledegem"}
    assert (
        await db.fetchval(
            "SELECT outcome FROM decisions WHERE authority_id = 'ledegem' AND step_id = "
            "'council-round'"
        )
        == "approve"
    )


async def test_approval_after_planned_effective_date_asks_for_a_new_one(
    time_skipping_env: WorkflowEnvironment, database_url: str, db: asyncpg.Connection
) -> None:
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    # Staden stays silent, so the council round only closes at its deadline (the day before
    # the planned AV); the AV, publication and the 30-day complaint window then run past the
    # planned effective date, five days after the planned AV.
    request = make_request(
        CooperationKind.REGIONAL_ROLE,
        start=today,
        participants=("roeselare", "izegem", "tielt", "staden"),
        av_after_days=180,
        effective_after_days=185,
    )
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        send = via_signals(handle)
        waiting = await play_everyone(
            handle,
            send,
            env=env,
            silent=frozenset({"staden"}),
            until=lambda s: s.phase is Phase.AWAITING_EFFECTIVE_DATE,
        )
        assert waiting.needs_effective_date
        assert waiting.today > request.effective_date
        new_date = waiting.today + timedelta(days=20)
        # Backdating is refused (recorded as a rejected message), a future date accepted.
        await send(
            "set_effective_date",
            EffectiveDateChange(
                effective_date=request.effective_date, reason="oud", changed_by="C"
            ),
        )
        await send(
            "set_effective_date",
            EffectiveDateChange(effective_date=new_date, reason="nieuw", changed_by="C"),
        )
        await play_everyone(handle, send, env=env)
        final = await handle.result()
    assert final.rejected_messages == 1
    assert final.effective_date == new_date
    assert (
        await db.fetchval(
            "SELECT integrated_on FROM cooperations WHERE id = $1", request.cooperation_id
        )
        == new_date
    )
    outbox = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE subject LIKE 'Nieuwe ingangsdatum nodig%'"
    )
    assert outbox == 1


async def test_a_trajectory_on_a_dissolved_cooperation_fails_at_once_with_the_reason(
    time_skipping_env: WorkflowEnvironment, database_url: str
) -> None:
    """The command line refuses to start one; a client that starts it anyway gets a failed
    run naming why, not an action retried for ever (the register records the Regionaal
    Sportoverleg as dissolved in 2020)."""
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    request = make_request(
        CooperationKind.INFORMAL_OVERLEG,
        start=today,
        cooperation=("regionaal-sportoverleg", "Regionaal Sportoverleg"),
    )
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "StepFailed"
    assert "open-dossier cannot be done" in cause.message and "dissolved in 2020" in cause.message


async def test_a_partner_outvoted_under_a_majority_rule_does_not_become_a_member(
    time_skipping_env: WorkflowEnvironment, database_url: str, db: asyncpg.Connection
) -> None:
    """The informal overleg's partners decide by simple majority: Tielt votes no, the
    cooperation is integrated with the others, and the register's members are those who took
    part."""
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    request = make_request(CooperationKind.INFORMAL_OVERLEG, start=today)
    async with running_worker(env.client, database_url) as queue:
        handle = await start(env.client, queue, request)
        await play_everyone(
            handle,
            via_signals(handle),
            env=env,
            outcome_for=lambda step, who: Outcome.REJECT if who == "tielt" else Outcome.APPROVE,
        )
        final = await handle.result()
    assert final.phase is Phase.INTEGRATED
    members = await db.fetch(
        "SELECT authority_id FROM cooperation_members WHERE cooperation_id = $1",
        request.cooperation_id,
    )
    assert {r["authority_id"] for r in members} == {"roeselare", "izegem"}
