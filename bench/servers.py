"""The bench's own stack: an embedded PostgreSQL and the Temporal dev server on free ports,
with the migrations applied and the search attributes registered, all under one data folder.

Both servers are our child processes and are stopped by process id when the context ends,
also on Ctrl-C or an error (the async `finally` runs when asyncio cancels the main task).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from db.migrate import apply_migrations
from settings import load_settings
from stack import codec_child
from stack.ports import free_ports
from stack.postgres import EmbeddedPostgres
from stack.temporal_dev import TemporalDevServer
from temporal_connection import data_converter, register_search_attributes


@dataclass(frozen=True)
class BenchStack:
    root: Path
    postgres: EmbeddedPostgres
    temporal: TemporalDevServer
    # A client with the product's data converter, as the command line and tests connect.
    client: Client

    @property
    def database_url(self) -> str:
        return self.postgres.url

    @property
    def temporal_address(self) -> str:
        return self.temporal.address


@asynccontextmanager
async def bench_stack(root: Path) -> AsyncIterator[BenchStack]:
    pg_port, temporal_port, ui_port = free_ports(3)
    postgres = EmbeddedPostgres(root / "postgres", pg_port)
    temporal = TemporalDevServer(state_dir=root / "temporal", port=temporal_port, ui_port=ui_port)
    temporal.launch()
    try:
        # Blocking start in a thread, so the dev server comes up meanwhile.
        await asyncio.to_thread(postgres.start)
        await temporal.wait_ready(within=60.0)
        await apply_migrations(postgres.url)
        # The product refuses to run without a codec key ring: one of the stack's own, made as
        # the local stack makes it, where its processes' settings (INKANTELING_DATA_DIR=root)
        # look for it.
        codec = codec_child.prepare(load_settings({"INKANTELING_DATA_DIR": str(root)}))
        client = await Client.connect(temporal.address, data_converter=data_converter(codec.ring))
        await register_search_attributes(client)
        yield BenchStack(root, postgres, temporal, client)
    finally:
        temporal.stop()
        await asyncio.to_thread(postgres.stop)
