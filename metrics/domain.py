"""The domain's gauges: trajectories by phase and overdue trajectories, from Temporal's
visibility (the search attributes the workflow keeps current, workflows/search_attributes.py).

Counted by a background task of the worker at a bounded interval, never from workflow code:
a scrape reads the last counts and costs the Temporal server nothing. Every worker exports
the same counts, so dashboards and alerts take `max` over the workers, not `sum`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge
from temporalio.client import Client
from temporalio.service import RPCError

from log import get_logger
from operations.queries import ListFilter, visibility_query
from schemas.template import Phase

# One count may take this long before the refresh gives up (and counts a failure).
COUNT_TIMEOUT = timedelta(seconds=10)

_log = get_logger("metrics.domain")


class DomainMetrics:
    """The gauges, registered in `registry`; `refresh` recounts them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.trajectories = Gauge(
            "inkanteling_trajectories",
            "Running trajectories by phase (search attribute TrajectoryPhase).",
            ["phase"],
            registry=registry,
        )
        self.overdue = Gauge(
            "inkanteling_trajectories_overdue",
            "Running trajectories with at least one step past its due date: a council "
            "decision or a task not in on time (search attribute Overdue).",
            registry=registry,
        )
        self.refreshed = Gauge(
            "inkanteling_domain_metrics_refreshed_timestamp_seconds",
            "Unix time of the last complete recount of the inkanteling_trajectories* gauges.",
            registry=registry,
        )
        self.failures = Counter(
            "inkanteling_domain_metrics_refresh_failures",
            "Recounts that failed (Temporal's visibility did not answer); the gauges keep "
            "their previous values.",
            registry=registry,
        )

    async def _count(self, client: Client, filters: ListFilter) -> int:
        result = await client.count_workflows(visibility_query(filters), rpc_timeout=COUNT_TIMEOUT)
        return result.count

    async def refresh(self, client: Client) -> None:
        """Count everything first and publish after, so a scrape never sees half a recount."""
        by_phase = {phase: await self._count(client, ListFilter(phase=phase)) for phase in Phase}
        overdue = await self._count(client, ListFilter(overdue=True))
        for phase, count in by_phase.items():
            self.trajectories.labels(phase=phase.value).set(count)
        self.overdue.set(overdue)
        self.refreshed.set(time.time())

    async def keep_refreshed(self, client: Client, interval: float) -> None:
        """Recount every `interval` seconds until cancelled; a failure is counted and logged
        and the next attempt comes at the next interval."""
        while True:
            try:
                await self.refresh(client)
            except RPCError as exc:
                self.failures.inc()
                _log.warning("domain metrics not recounted", reason=str(exc))
            except Exception:
                # Whatever else went wrong, the metrics must not end the worker: counted, logged
                # with its traceback, tried again at the next interval.
                self.failures.inc()
                _log.exception("domain metrics not recounted")
            await asyncio.sleep(interval)  # the refresh interval itself, not a wait for state
