"""Every template, end to end, on the time-skipping server with real PostgreSQL."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from schemas.common import CooperationKind
from schemas.template import Phase
from tests.support.trajectories import (
    make_request,
    play_everyone,
    running_worker,
    start,
    via_signals,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("kind", list(CooperationKind))
async def test_template_runs_to_integration(
    kind: CooperationKind, time_skipping_env: WorkflowEnvironment, database_url: str
) -> None:
    env = time_skipping_env
    today = (await env.get_current_time()).date()
    request = make_request(kind, start=today)
    async with running_worker(env.client, database_url, sandboxed=True) as task_queue:
        handle = await start(env.client, task_queue, request)
        status = await play_everyone(handle, via_signals(handle), env=env)
        final = await handle.result()

    assert status.phase is Phase.INTEGRATED
    assert final.phase is Phase.INTEGRATED
    assert all(step.status.value == "done" for step in final.steps)
    conn = await asyncpg.connect(database_url)
    try:
        cooperation = await conn.fetchrow(
            "SELECT status, integrated_on FROM cooperations WHERE id = $1", request.cooperation_id
        )
        assert cooperation is not None
        assert cooperation["status"] == "integrated"
        assert cooperation["integrated_on"] == request.effective_date
        seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(final.timeline) + 1))
        row = await conn.fetchrow("SELECT phase, finished FROM trajectories")
        assert row is not None and row["phase"] == "integrated" and row["finished"]
        # After integration the register's members are those who took part.
        members = await conn.fetch(
            "SELECT authority_id FROM cooperation_members WHERE cooperation_id = $1",
            request.cooperation_id,
        )
        assert {r["authority_id"] for r in members} == {
            p.authority_id for p in request.participants
        }
    finally:
        await conn.close()
    assert isinstance(today, date)
