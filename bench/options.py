"""The bench's options, with the full sizes of issue 9 as defaults and small ones for --quick."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

USAGE = """\
One run on one stack of its own (embedded PostgreSQL, the Temporal dev server, a worker
process per side): throughput against a bare Temporal workflow, update and `starter.py decide`
latency with many live trajectories, worker memory with many open trajectories and their
recovery after a worker crash, the size of a finished history; each beside its target.
"""


@dataclass(frozen=True)
class Options:
    trajectories: int  # throughput: trajectories (and bare workflows) driven at once
    passes: int  # throughput: how often each side is measured, taking turns
    live: int  # latency: live trajectories (and bare workflows)
    samples: int  # latency: council decisions sent (as many bare updates)
    clients: int  # latency: senders at once, each sending its next update once answered
    decide_calls: int  # `starter.py decide` subprocesses, one after the other
    open: int  # memory: trajectories waiting on their councils
    open_within: float  # memory: seconds to bring them there
    recover_within: float  # seconds for a fresh worker to answer them all
    days_per_second: float  # calendar speed of the finished trajectory
    profile: bool
    profile_top: int
    quick: bool
    json: bool
    keep: bool


# Two senders for the latency: a worker process runs about one workflow task at a time (one
# interpreter), so with many senders the latency is mostly queueing (its median near senders
# times the worker's CPU per update, bare Temporal's too) and says little about one update.
FULL = {
    "trajectories": 10,
    "passes": 2,
    "live": 100,
    "samples": 400,
    "clients": 2,
    "decide_calls": 30,
    "open": 1000,
    "open_within": 300.0,
    "recover_within": 300.0,
}
QUICK = {
    "trajectories": 3,
    "passes": 2,
    "live": 6,
    "samples": 30,
    "clients": 2,
    "decide_calls": 5,
    "open": 16,
    "open_within": 120.0,
    "recover_within": 120.0,
}


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=USAGE)
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument(
        "--trajectories",
        type=int,
        help="throughput, and drivers opening rounds: at once (10; quick 3)",
    )
    parser.add_argument(
        "--passes", type=int, help="throughput: passes of each side, taking turns (2)"
    )
    parser.add_argument("--live", type=int, help="latency: live trajectories (100; quick 6)")
    parser.add_argument("--samples", type=int, help="latency: decisions sent (400; quick 30)")
    parser.add_argument("--clients", type=int, help="latency: senders at once (2)")
    parser.add_argument("--decide-calls", type=int, help="starter.py decide calls (30; quick 5)")
    parser.add_argument("--open", type=int, help="memory: open trajectories (1000; quick 16)")
    parser.add_argument(
        "--open-within",
        type=float,
        help="seconds for each opening: the live ones, then the rest (300; quick 120)",
    )
    parser.add_argument(
        "--recover-within", type=float, help="seconds for the recovery (300; quick 120)"
    )
    parser.add_argument(
        "--days-per-second", type=float, default=10.0, help="finished trajectory's calendar (10)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="the trajectory throughput once more under cProfile; prints its top functions",
    )
    parser.add_argument("--profile-top", type=int, default=25, help="functions shown (25)")
    parser.add_argument("--json", action="store_true", help="all figures as JSON on stdout")
    parser.add_argument("--keep", action="store_true", help="keep the data folder (logs)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    chosen = {key: getattr(args, key) for key in FULL}
    values = {key: sizes[key] if value is None else value for key, value in chosen.items()}
    if min(values.values()) <= 0:
        parser.error("every size and time must be positive")
    return Options(
        trajectories=int(values["trajectories"]),
        passes=int(values["passes"]),
        live=int(values["live"]),
        samples=int(values["samples"]),
        clients=int(values["clients"]),
        decide_calls=int(values["decide_calls"]),
        open=int(values["open"]),
        open_within=float(values["open_within"]),
        recover_within=float(values["recover_within"]),
        days_per_second=args.days_per_second,
        profile=args.profile,
        profile_top=args.profile_top,
        quick=args.quick,
        json=args.json,
        keep=args.keep,
    )
