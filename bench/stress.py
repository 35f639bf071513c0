"""The large concurrent-message stress run, by hand: `python -m bench.stress [--trajectories N
--clients N --messages N --seconds S --seed N]`.

Starts its own stack on free ports (an embedded PostgreSQL and the Temporal dev server, both
stopped by process id at the end), a worker with the product's settings, then sends random
concurrent mixes of messages to N trajectories (tests/support/stress.py, the same driver as
the CI test in tests/test_message_stress.py) and checks every invariant and replays every
history. Prints the counts and the update latency; a failed invariant ends with a non-zero
exit and the trajectory it concerns. Figures belong in docs/performance.md, never in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path

from temporalio.client import Client

from db.migrate import apply_migrations
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from stack.temporal_dev import TemporalDevServer
from temporal_connection import register_search_attributes
from tests.support.codec import converter_for_tests
from tests.support.stress import StressPlan, check_all, run_stress, start_trajectories, terminate
from tests.support.trajectories import running_worker
from worker import WORKFLOW_CACHE_SIZE


def _parse(argv: list[str]) -> StressPlan:
    parser = argparse.ArgumentParser(prog="python -m bench.stress", description=__doc__)
    defaults = StressPlan(trajectories=40, clients=16, messages=4000, seconds=600.0)
    parser.add_argument("--trajectories", type=int, default=defaults.trajectories)
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--messages", type=int, default=defaults.messages)
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    return StressPlan(
        trajectories=args.trajectories,
        clients=args.clients,
        messages=args.messages,
        seconds=args.seconds,
        seed=args.seed,
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _run(plan: StressPlan, root: Path) -> int:
    postgres = EmbeddedPostgres(root / "postgres", free_port())
    temporal = TemporalDevServer(state_dir=root / "temporal", port=free_port(), ui_port=free_port())
    temporal.launch()
    try:
        await asyncio.to_thread(postgres.start)
        await temporal.wait_ready()
        database = postgres.admin_url()
        await apply_migrations(database)
        client = await Client.connect(temporal.address, data_converter=converter_for_tests())
        await register_search_attributes(client)
        today = date.today()
        async with running_worker(client, database, cache=WORKFLOW_CACHE_SIZE) as queue:
            handles = await start_trajectories(
                client, database, queue, plan, today, uuid.uuid4().hex[:6]
            )
            try:
                report = await run_stress(handles, plan)
                print(report.summary())
                if report.latencies:
                    lat = report.latencies
                    print(
                        f"update latency p50 {statistics.median(lat) * 1000:.0f} ms, "
                        f"p95 {_percentile(lat, 0.95) * 1000:.0f} ms, "
                        f"p99 {_percentile(lat, 0.99) * 1000:.0f} ms"
                    )
                statuses = await check_all(handles, database)
                ended = sum(1 for s in statuses.values() if s.finished_on is not None)
                print(
                    f"all {len(statuses)} trajectories healthy and replaying "
                    f"({ended} ended by an abort)"
                )
            finally:
                await terminate(handles)
    except AssertionError as failure:
        print(f"invariant broken: {failure}", file=sys.stderr)
        return 1
    finally:
        temporal.stop()
        await asyncio.to_thread(postgres.stop)
    return 0


def main(argv: list[str] | None = None) -> int:
    plan = _parse(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="inkanteling-bench-") as root:
        return asyncio.run(_run(plan, Path(root)))


if __name__ == "__main__":
    sys.exit(main())
