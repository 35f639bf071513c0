"""The worker's Prometheus endpoint: the Temporal runtime's metrics and the domain's own.

One port (INKANTELING_METRICS_PORT) serves both. The SDK's core serves its metrics on a
loopback port of its own (`temporal_runtime.py`); the endpoint (`endpoint.py`, prometheus-client)
fetches them there on every scrape and serves them next to the domain gauges (`domain.py`),
which a background task recounts from Temporal's visibility at a bounded interval. Names and
alerts: docs/operations.md.
"""
