"""The bench's figures as text (each beside its target) and as JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from bench.results import Memory, Results
from bench.targets import (
    ALL,
    DECIDE_P95,
    HISTORY_BYTES,
    UPDATE_P95,
    WORKER_RSS,
    Target,
)

MB = 1e6


def _judged(target: Target, figures: dict[str, float | None], note: str = "") -> str:
    return f"[target {target.text}: {target.verdict(figures[target.key]).value}{note}]"


def _memory_lines(memory: Memory, figures: dict[str, float | None]) -> list[str]:
    opened = memory.open
    short = opened.reached < opened.wanted
    note = f", on the extrapolation to {opened.wanted}" if short else ""
    lines = [
        f"  opened {opened.reached} of {opened.wanted} wanted ({opened.started} started) in "
        f"{opened.seconds:.0f} s; their updates {opened.updates.line()}",
        f"  worker RSS with {memory.open_before} open: {memory.rss_before / MB:.0f} MB; with "
        f"{opened.reached} open and idle: {memory.rss_open / MB:.0f} MB "
        + _judged(WORKER_RSS, figures, note),
    ]
    slope, extrapolated = memory.per_trajectory, memory.extrapolated
    if slope is not None and extrapolated is not None:
        growth = f"{slope / 1024:.0f} KiB" if slope > 0 else f"no growth ({slope / 1024:.0f} KiB)"
        lines.append(
            f"  RSS per trajectory opened meanwhile: {growth}"
            + (
                f"; extrapolated to {opened.wanted}: {extrapolated / MB:.0f} MB"
                if opened.reached < opened.wanted
                else ""
            )
        )
    recovery = memory.recovery
    if recovery is not None:
        answered = (
            f"all {recovery.trajectories} answered a status read after "
            f"{recovery.all_answered_after:.1f} s"
            if recovery.all_answered_after is not None
            else f"only {recovery.answered} of {recovery.trajectories} answered in time"
        )
        lines.append(
            "  recovery after SIGKILL: the fresh worker polled after "
            f"{recovery.polling_after:.1f} s; {answered} (from its launch); RSS fresh "
            f"{recovery.fresh_rss / MB:.0f} MB, after {recovery.rss_after / MB:.0f} MB"
        )
    return lines


def text(results: Results) -> str:
    figures = results.target_figures()
    lines = [f"machine: {results.machine.line()}"]
    if results.worker_settings:
        lines.append(f"worker settings (both sides): {results.worker_settings}")
    tp = results.throughput
    if tp is not None:
        lines += [
            f"throughput: {tp.trajectory.workflows // max(len(tp.pass_ratios), 1)} at once, "
            f"{len(tp.pass_ratios)} passes of each side taking turns, projectvereniging with 16 "
            "councils and WVI, to the end of the council round",
            f"  calibration trajectory: {tp.calibration.summary()}; batches {list(tp.batches)}",
            f"  one bare workflow: {tp.bare_history.summary()}",
            f"  trajectory: {tp.trajectory.updates} updates in {tp.trajectory.seconds:.1f} s = "
            f"{tp.trajectory.rate:.2f} updates/s; update {tp.trajectory.latency.line()}; "
            f"{tp.status_reads} status reads; worker CPU "
            f"{tp.trajectory.cpu_per_update * 1000:.0f} ms per update",
            f"  bare:       {tp.bare.updates} updates in {tp.bare.seconds:.1f} s = "
            f"{tp.bare.rate:.2f} updates/s; update {tp.bare.latency.line()}; worker CPU "
            f"{tp.bare.cpu_per_update * 1000:.0f} ms per update",
            f"throughput ratio trajectory/bare: {tp.ratio:.2f}",
            "  ratio of each pass alone: " + ", ".join(f"{r:.2f}" for r in tp.pass_ratios),
        ]
        lines += [f"  warning, not a healthy trajectory: {line}" for line in tp.troubles]
    if results.update_latency is not None and results.latency_rounds is not None:
        rounds = results.latency_rounds
        lines += [
            f"decision latency with {rounds.reached} live trajectories waiting on councils "
            f"({results.options.clients} senders at once):",
            f"  trajectory: {results.update_latency.line()} {_judged(UPDATE_P95, figures)}",
        ]
        if results.bare_latency is not None:
            lines.append(f"  bare:       {results.bare_latency.line()}")
    if results.cli is not None:
        failed = f"; {len(results.cli.failures)} failed: {results.cli.failures[:3]}"
        lines.append(
            f"starter.py decide end to end: {results.cli.latency.line()} "
            f"{_judged(DECIDE_P95, figures)}" + (failed if results.cli.failures else "")
        )
    if results.memory is not None:
        lines.append("worker memory with trajectories waiting on councils:")
        lines += _memory_lines(results.memory, figures)
    if results.finished is not None:
        lines.append(
            f"finished projectvereniging history: {results.finished.json_bytes:,} bytes JSON, "
            f"{results.finished.events} events ({results.finished.summary()}) "
            f"{_judged(HISTORY_BYTES, figures)}",
        )
        lines.append(f"  largest event types: {results.finished.largest()}")
    lines.append("targets:")
    for target in ALL:
        figure = figures[target.key]
        shown = "-" if figure is None else f"{figure:.3f}"
        note = " (extrapolated)" if target is WORKER_RSS and results.rss_extrapolated else ""
        lines.append(
            f"  {target.key} = {shown}: {target.text}: {target.verdict(figure).value}{note}"
        )
    if results.profile:
        lines.append(results.profile)
    lines += [f"error: {error}" for error in results.errors]
    return "\n".join(lines)


def as_json(results: Results) -> str:
    figures = results.target_figures()
    data: dict[str, Any] = dataclasses.asdict(results)
    data["targets"] = {
        t.key: {"figure": figures[t.key], "target": t.text, "verdict": t.verdict(figures[t.key])}
        for t in ALL
    }
    data["targets"][WORKER_RSS.key]["extrapolated"] = results.rss_extrapolated
    if results.throughput is not None:
        data["throughput"]["ratio"] = results.throughput.ratio
        data["throughput"]["trajectory"]["rate"] = results.throughput.trajectory.rate
        data["throughput"]["bare"]["rate"] = results.throughput.bare.rate
        for side in ("trajectory", "bare"):
            figures_of = getattr(results.throughput, side)
            data["throughput"][side]["cpu_per_update"] = figures_of.cpu_per_update
    if results.finished is not None:
        data["finished"]["compact_bytes"] = results.finished.compact_bytes
    if results.memory is not None:
        data["memory"]["per_trajectory"] = results.memory.per_trajectory
        data["memory"]["extrapolated"] = results.memory.extrapolated
    return json.dumps(data, indent=2, default=str)
