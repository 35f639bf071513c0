"""Random concurrent mixes of messages from several clients to several trajectories leave
every one healthy: each update applied or refused with its reason, no workflow task failed,
the invariants holding, every history replaying, the audit trail complete. A small run for
CI; `python -m bench.stress` runs a large one (see docs/performance.md)."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.stress import (
    StressPlan,
    check_all,
    run_stress,
    start_trajectories,
    terminate,
)
from tests.support.trajectories import running_worker
from worker import WORKFLOW_CACHE_SIZE

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLAN = StressPlan(trajectories=5, clients=4, messages=120, seconds=90.0)


async def test_random_concurrent_messages_break_nothing(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    today = (await dev_env.get_current_time()).date()
    async with running_worker(dev_env.client, database_url, cache=WORKFLOW_CACHE_SIZE) as queue:
        handles = await start_trajectories(
            dev_env.client, database_url, queue, PLAN, today, uuid.uuid4().hex[:6]
        )
        try:
            report = await run_stress(handles, PLAN)
            print(report.summary())
            # The mix reached every kind of message, and both answers to most of them.
            assert set(report.sent) >= {"decide", "complete_task", "amend", "join"}
            assert report.applied["decide"] > 0 and report.refused["decide"] > 0
            assert report.applied["complete_task"] > 0
            await check_all(handles, database_url)
        finally:
            await terminate(handles)
