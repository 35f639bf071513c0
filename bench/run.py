"""One bench run, phase after phase, on one stack: each phase's figures go into `Results`; a
phase that fails is recorded as an error and the phases that do not need it still run."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client

from bench.cli_decide import decide_by_command_line
from bench.finished import finished_history
from bench.latency import bare_latency, council_decisions, trajectory_latency
from bench.memory import recover, settled_rss
from bench.open_rounds import OpenRounds, open_rounds
from bench.options import Options
from bench.profile_report import top_functions
from bench.results import Memory, OpenFigures, Results
from bench.servers import BenchStack
from bench.stats import Latency
from bench.throughput import measure_throughput, trajectory_side
from bench.workers import WorkerPool, WorkerProcess

TRAJECTORY_QUEUE = "bench-trajectory"
BARE_QUEUE = "bench-bare"
PROFILED_QUEUE = "bench-profiled"
FINISH_WITHIN = 300.0

T = TypeVar("T")


def progress(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


async def phase(name: str, work: Awaitable[T], results: Results) -> T | None:
    progress(f"{name} ...")
    began = time.monotonic()
    try:
        outcome = await work
    except Exception as exc:  # recorded and shown; the remaining phases still run
        results.errors.append(f"{name}: {exc!r}")
        progress(f"{name} failed: {exc!r}")
        return None
    progress(f"{name} done in {time.monotonic() - began:.0f} s")
    return outcome


def _opened(rounds: OpenRounds, wanted: int) -> OpenFigures:
    return OpenFigures(
        wanted, rounds.started, rounds.reached, rounds.seconds, Latency.of(rounds.log.latencies)
    )


def _first_line(path: Path) -> str:
    try:
        return path.read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return ""


async def _profiled(stack: BenchStack, pool: WorkerPool, options: Options) -> str:
    """The trajectory side of the throughput once more, on a worker of its own under cProfile
    (the measured pass ran without it: the profiler slows the worker down several times)."""
    stats_file = stack.root / "worker.prof"
    worker = await pool.product(PROFILED_QUEUE, profile_to=stats_file)
    side, _, _ = await trajectory_side(
        stack.client, stack.database_url, PROFILED_QUEUE, options.trajectories
    )
    worker.stop()
    return (
        f"profiled pass: {side.updates} updates in {side.seconds:.1f} s = {side.rate:.2f} "
        "updates/s under the profiler\n" + top_functions(stats_file, options.profile_top)
    )


async def run_phases(
    stack: BenchStack, pool: WorkerPool, options: Options, results: Results
) -> None:
    worker: WorkerProcess = await pool.product(TRAJECTORY_QUEUE)
    bare_worker = await pool.bare(BARE_QUEUE)
    results.worker_settings = _first_line(bare_worker.log).removeprefix(
        "bare worker settings from "
    )
    bare_client = await Client.connect(stack.temporal_address)
    client, db = stack.client, stack.database_url

    results.throughput = await phase(
        "throughput",
        measure_throughput(
            client, bare_client, db, (worker, bare_worker), options.trajectories, options.passes
        ),
        results,
    )
    if options.profile:
        results.profile = await phase(
            "throughput again, under the profiler", _profiled(stack, pool, options), results
        )

    results.finished = await phase(
        "finished history",
        finished_history(
            client,
            db,
            TRAJECTORY_QUEUE,
            days_per_second=options.days_per_second,
            within=FINISH_WITHIN,
        ),
        results,
    )

    rounds = await phase(
        f"{options.live} trajectories to their council round",
        open_rounds(
            client,
            db,
            TRAJECTORY_QUEUE,
            options.live,
            drivers=options.trajectories,
            within=options.open_within,
        ),
        results,
    )
    if rounds is not None:
        results.latency_rounds = _opened(rounds, options.live)
        decisions = council_decisions(rounds)
        sampled = decisions[: options.samples]
        by_command_line = list(reversed(decisions[options.samples :]))[: options.decide_calls]
        results.update_latency = await phase(
            "update latency", trajectory_latency(rounds, sampled, options.clients), results
        )
        results.cli = await phase(
            "starter.py decide",
            decide_by_command_line(stack, TRAJECTORY_QUEUE, by_command_line),
            results,
        )
    if results.throughput is not None:
        results.bare_latency = await phase(
            "bare update latency",
            bare_latency(
                bare_client,
                BARE_QUEUE,
                results.throughput.calibration,
                options.live,
                options.samples,
                options.clients,
            ),
            results,
        )

    rounds = rounds or OpenRounds()
    open_before, rss_before = rounds.reached, worker.rss()
    opened = await phase(
        f"{options.open} trajectories waiting on councils",
        open_rounds(
            client,
            db,
            TRAJECTORY_QUEUE,
            max(options.open - rounds.reached, 0),
            drivers=options.trajectories,
            within=options.open_within,
            into=rounds,
        ),
        results,
    )
    if opened is None:
        return
    rss_open = await settled_rss(worker)
    outcome = await phase(
        "recovery after a worker crash",
        recover(client, pool, worker, opened.handles, within=options.recover_within),
        results,
    )
    results.memory = Memory(
        _opened(opened, options.open),
        open_before,
        rss_before,
        rss_open,
        outcome[1] if outcome else None,
    )
