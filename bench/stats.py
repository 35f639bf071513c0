"""Percentiles of latencies, the same way for every figure of the bench."""

from __future__ import annotations

import math
from dataclasses import dataclass


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of all at or
    below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    # Rounded first, so that 0.95 of 20 samples is rank 19, not 20 through float error.
    rank = max(1, math.ceil(round(len(ordered) * share, 9)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    count: int
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        return cls(
            len(seconds),
            percentile(seconds, 0.50),
            percentile(seconds, 0.95),
            percentile(seconds, 0.99),
        )

    def line(self) -> str:
        return (
            f"p50 {self.p50 * 1000:.0f} ms, p95 {self.p95 * 1000:.0f} ms, "
            f"p99 {self.p99 * 1000:.0f} ms ({self.count} samples)"
        )
