"""The worker's one Prometheus endpoint (prometheus-client): the Temporal runtime's metrics,
read from the core's loopback port on every scrape, next to the domain's gauges."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio.client import Client
from temporalio.runtime import Runtime

from log import get_logger
from metrics.domain import DomainMetrics
from metrics.temporal_runtime import temporal_runtime
from settings import Settings
from stack.ports import free_port

# A scrape waits at most this long for the core's metrics (they are on this machine).
CORE_SCRAPE_TIMEOUT = 5.0

_log = get_logger("metrics")


class CoreMetrics(Collector):
    """The core's exposition, parsed and served again as it is; plus
    `inkanteling_temporal_metrics_up`, 0 when the core's endpoint did not answer."""

    def __init__(self, url: str) -> None:
        self._url = url

    def collect(self) -> Iterable[Metric]:
        try:
            with urllib.request.urlopen(self._url, timeout=CORE_SCRAPE_TIMEOUT) as response:
                text = response.read().decode("utf-8")
            families = list(text_string_to_metric_families(text))
        except (OSError, ValueError) as exc:
            _log.warning("Temporal runtime metrics not read", reason=str(exc))
            families = []
            up = 0.0
        else:
            up = 1.0
        yield from families
        yield GaugeMetricFamily(
            "inkanteling_temporal_metrics_up",
            "1 when this scrape read the Temporal runtime's metrics, 0 when it could not.",
            value=up,
        )


@dataclass
class WorkerMetrics:
    """What the worker runs for its metrics: the runtime to connect with, the endpoint and
    the domain gauges. With metrics off (port 0) or not served, only `runtime` is used."""

    runtime: Runtime
    port: int | None = None
    domain: DomainMetrics | None = None
    _server: WSGIServer | None = field(default=None, repr=False)
    _thread: Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str | None:
        return None if self.port is None else f"http://localhost:{self.port}/metrics"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @contextlib.asynccontextmanager
    async def recounting(self, client: Client, interval: float) -> AsyncIterator[None]:
        """The domain gauges recounted in the background while the block runs."""
        if self.domain is None:
            yield
            return
        task = asyncio.create_task(self.domain.keep_refreshed(client, interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def start_worker_metrics(settings: Settings) -> WorkerMetrics:
    """Start the endpoint on INKANTELING_METRICS_PORT (all interfaces). A port that cannot
    be bound is logged as an error and the worker runs on without metrics: monitoring must not
    stop trajectories (alert on the scrape target being down, docs/operations.md)."""
    if settings.metrics_port == 0:
        return WorkerMetrics(runtime=temporal_runtime(None))
    core_port = free_port()
    try:
        runtime = temporal_runtime(core_port)
    except ValueError as exc:
        _log.error("Temporal runtime metrics not served", reason=str(exc))
        return WorkerMetrics(runtime=temporal_runtime(None))
    registry = CollectorRegistry()
    for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(standard)
    registry.register(CoreMetrics(f"http://127.0.0.1:{core_port}/metrics"))
    domain = DomainMetrics(registry)
    try:
        server, thread = start_http_server(settings.metrics_port, registry=registry)
    except OSError as exc:
        _log.error(
            "metrics endpoint not served; set INKANTELING_METRICS_PORT to a free port",
            port=settings.metrics_port,
            reason=exc.strerror or str(exc),
        )
        return WorkerMetrics(runtime=runtime)
    metrics = WorkerMetrics(runtime, settings.metrics_port, domain, server, thread)
    _log.info("metrics served", url=metrics.url)
    return metrics
