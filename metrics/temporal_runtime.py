"""The Temporal runtime of the worker: its metrics on a loopback port, its logs through ours.

The SDK's core (Rust) can serve Prometheus itself, but only on a port of its own. It is bound
to 127.0.0.1 on a free port and read from there by `endpoint.CoreMetrics`, so the outside sees
one endpoint. Names follow Prometheus conventions: counters end in `_total`, durations are
seconds with a `_seconds` suffix.
"""

from __future__ import annotations

import logging

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

# The core's own log lines (WARN and above) go to this stdlib logger, and from there through
# log.py like every other line, instead of straight to stderr in the core's own format.
CORE_LOGGER = "temporalio.core"


def core_logging() -> LoggingConfig:
    return LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(
            logger=logging.getLogger(CORE_LOGGER),
            # The target and the fields become the logger's name and the event's fields
            # (log.py), not text in the message.
            append_target_to_name=True,
            prepend_target_on_message=False,
            append_log_fields_to_message=False,
        ),
    )


def temporal_runtime(core_metrics_port: int | None) -> Runtime:
    """A runtime whose core serves Prometheus on 127.0.0.1:`core_metrics_port` (no metrics
    when None). Raises RuntimeError when the core cannot bind that port."""
    metrics = (
        None
        if core_metrics_port is None
        else PrometheusConfig(
            bind_address=f"127.0.0.1:{core_metrics_port}",
            counters_total_suffix=True,
            unit_suffix=True,
            durations_as_seconds=True,
        )
    )
    return Runtime(telemetry=TelemetryConfig(logging=core_logging(), metrics=metrics))
