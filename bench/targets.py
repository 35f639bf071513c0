"""The targets of issue 9 on this machine, and whether a figure meets its target."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    MET = "met"
    MISSED = "missed"
    NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Target:
    key: str
    text: str
    limit: float
    at_least: bool  # the figure must be >= limit; else <= limit

    def verdict(self, figure: float | None) -> Verdict:
        if figure is None:
            return Verdict.NOT_MEASURED
        ok = figure >= self.limit if self.at_least else figure <= self.limit
        return Verdict.MET if ok else Verdict.MISSED


# Decimal units, the stricter reading: 500 MB is 500,000,000 bytes, 250 KB 250,000 bytes.
THROUGHPUT_RATIO = Target("throughput_ratio", "at least 0.8", 0.8, at_least=True)
UPDATE_P95 = Target("update_p95_s", "at most 150 ms", 0.150, at_least=False)
DECIDE_P95 = Target("decide_cli_p95_s", "at most 1 s", 1.0, at_least=False)
WORKER_RSS = Target("worker_rss_bytes", "within 500 MB", 500e6, at_least=False)
HISTORY_BYTES = Target("finished_history_bytes", "within 250 KB", 250e3, at_least=False)

ALL = (THROUGHPUT_RATIO, UPDATE_P95, DECIDE_P95, WORKER_RSS, HISTORY_BYTES)
