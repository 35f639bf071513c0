"""Every figure of one bench run, and the few each target is judged on."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.cli_decide import CliCalls
from bench.histories import HistoryFigures
from bench.machine import Machine
from bench.memory import Recovery
from bench.options import Options
from bench.stats import Latency
from bench.targets import DECIDE_P95, HISTORY_BYTES, THROUGHPUT_RATIO, UPDATE_P95, WORKER_RSS
from bench.throughput import Throughput


@dataclass(frozen=True)
class OpenFigures:
    """Trajectories brought to their open council round: how many, in how long, the latency
    of the updates that took them there."""

    wanted: int
    started: int
    reached: int
    seconds: float
    updates: Latency


@dataclass(frozen=True)
class Memory:
    open: OpenFigures
    open_before: int  # trajectories already open (the latency phase's) at `rss_before`
    rss_before: int  # the same worker process before the rest were opened
    rss_open: int  # the worker with every trajectory open, idle
    recovery: Recovery | None

    @property
    def per_trajectory(self) -> float | None:
        """Bytes of RSS per trajectory opened, in the same worker process."""
        added = self.open.reached - self.open_before
        return (self.rss_open - self.rss_before) / added if added > 0 else None

    @property
    def extrapolated(self) -> float | None:
        """The RSS at the wanted count, linear from the measured one, when fewer were opened."""
        slope = self.per_trajectory
        if slope is None:
            return None
        return self.rss_open + max(slope, 0.0) * (self.open.wanted - self.open.reached)


@dataclass
class Results:
    machine: Machine
    options: Options
    worker_settings: str = ""
    throughput: Throughput | None = None
    profile: str | None = None
    finished: HistoryFigures | None = None
    latency_rounds: OpenFigures | None = None
    update_latency: Latency | None = None
    bare_latency: Latency | None = None
    cli: CliCalls | None = None
    memory: Memory | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def rss_extrapolated(self) -> bool:
        """Fewer trajectories were opened than wanted: the memory target is judged on the
        extrapolation (and the output says so)."""
        memory = self.memory
        return memory is not None and memory.open.reached < memory.open.wanted

    def target_figures(self) -> dict[str, float | None]:
        """The figure each target is judged on; None when it was not measured."""
        memory = self.memory
        rss = None
        if memory is not None:
            rss = memory.extrapolated if self.rss_extrapolated else float(memory.rss_open)
        return {
            THROUGHPUT_RATIO.key: self.throughput.ratio if self.throughput else None,
            UPDATE_P95.key: self.update_latency.p95 if self.update_latency else None,
            DECIDE_P95.key: self.cli.latency.p95 if self.cli and self.cli.seconds else None,
            WORKER_RSS.key: rss,
            HISTORY_BYTES.key: self.finished.json_bytes if self.finished else None,
        }
