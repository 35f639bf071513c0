"""worker.py promises that a worker started while PostgreSQL is briefly away still comes up."""

from __future__ import annotations

import asyncio

import pytest

from stack.postgres import EmbeddedPostgres
from tests.support.faults import Workers

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_worker_started_while_postgres_is_down_comes_up(
    durable_postgres: EmbeddedPostgres, workers: Workers
) -> None:
    """Fault: PostgreSQL is down when a worker (re)starts. Checked: the worker polls its task
    queue anyway (its activities retry until the database is back)."""
    await asyncio.to_thread(durable_postgres.stop)
    try:
        await workers.start(within=30)
    finally:
        await asyncio.to_thread(durable_postgres.start)
