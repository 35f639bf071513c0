"""Fixtures of our own, so faults never reach the rest of the suite: a Temporal dev server
with its state in a file (stoppable and restartable on that file), an embedded PostgreSQL we
may stop or kill, and workers as real `python worker.py` subprocesses."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client

from db.migrate import apply_migrations
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from stack.temporal_dev import TemporalDevServer
from tests.support.codec import converter_for_tests
from tests.support.faults import Trajectories, Workers


def _with_database(url: str, database: str) -> str:
    return f"{url.rpartition('/')[0]}/{database}"


@dataclass(frozen=True)
class Servers:
    postgres: EmbeddedPostgres
    temporal: TemporalDevServer
    template_db: str  # a migrated database each test's database is copied from


@pytest.fixture(scope="package")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Servers]:
    """Our own PostgreSQL and Temporal dev server (state in a file), on free ports, started
    side by side. Tests here stop, kill and restart them; no other test uses them.

    PostgreSQL's data lives outside pytest's base temp: as root the server runs as another
    user, and a pytest session started meanwhile resets /tmp/pytest-of-<user> to mode 0700,
    which would lock a restarted server out of its own data."""
    pg_root = Path(tempfile.mkdtemp(prefix="inkanteling-durable-pg-"))
    postgres = EmbeddedPostgres(pg_root / "data", free_port())
    temporal = TemporalDevServer(
        state_dir=tmp_path_factory.mktemp("durable-temporal"),
        port=free_port(),
        ui_port=free_port(),
    )
    temporal.launch()
    try:
        await asyncio.to_thread(postgres.start)
        template_db = f"durable_tmpl_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(postgres.admin_url())
        try:
            await admin.execute(f'CREATE DATABASE "{template_db}"')
        finally:
            await admin.close()
        await apply_migrations(_with_database(postgres.admin_url(), template_db))
        await temporal.wait_ready(within=60)
        yield Servers(postgres, temporal, template_db)
    finally:
        temporal.stop()
        postgres.stop()
        shutil.rmtree(pg_root, ignore_errors=True)


@pytest.fixture
def durable_postgres(servers: Servers) -> EmbeddedPostgres:
    return servers.postgres


@pytest.fixture
def temporal_server(servers: Servers) -> TemporalDevServer:
    return servers.temporal


@pytest.fixture
async def database_url(servers: Servers) -> AsyncIterator[str]:
    """A fresh, migrated database on our PostgreSQL (started again if a test left it down)."""
    postgres = servers.postgres
    if postgres.process is None or postgres.process.poll() is not None:
        await asyncio.to_thread(postgres.start)  # a test that failed mid-outage left it down
    name = f"durable_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres.admin_url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{servers.template_db}"')
    finally:
        await admin.close()
    yield _with_database(postgres.admin_url(), name)
    if postgres.process is None or postgres.process.poll() is not None:
        await asyncio.to_thread(postgres.start)
    admin = await asyncpg.connect(postgres.admin_url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def client(temporal_server: TemporalDevServer) -> Client:
    if temporal_server.process is None or temporal_server.process.poll() is not None:
        await temporal_server.start(within=60)  # a test that failed mid-restart left it down
    return await Client.connect(
        temporal_server.address,
        namespace=temporal_server.namespace,
        data_converter=converter_for_tests(),
    )


@pytest.fixture
def workers(
    client: Client, temporal_server: TemporalDevServer, database_url: str, tmp_path: Path
) -> Iterator[Workers]:
    """Worker subprocesses on a fresh task queue; any still alive at the end are stopped."""
    pool = Workers(
        client=client,
        temporal_address=temporal_server.address,
        database_url=database_url,
        task_queue=f"durable-{uuid.uuid4().hex[:8]}",
        log_dir=tmp_path,
    )
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
async def trajectories(
    client: Client, database_url: str, workers: Workers, request: pytest.FixtureRequest
) -> AsyncIterator[Trajectories]:
    started = Trajectories(client, database_url, workers.task_queue)
    try:
        yield started
    finally:
        # Set INKANTELING_KEEP_HISTORIES=DIR to keep every history of the run for replay.
        keep = os.environ.get("INKANTELING_KEEP_HISTORIES")
        if keep:
            await started.dump_histories(Path(keep) / request.node.name)
        await started.terminate_leftovers()
