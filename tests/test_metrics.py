"""The worker's Prometheus endpoint, scraped from a running `python worker.py`: the Temporal
runtime's metrics and the domain's gauges on the one port INKANTELING_METRICS_PORT
(metrics/, docs/operations.md)."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
import uuid
from datetime import date
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from temporalio.testing import WorkflowEnvironment

from schemas.template import Phase
from stack.ports import free_port
from tests.support.codec import TESTS_KEYRING_FILE
from tests.support.faults import Trajectories, eventually
from tests.support.tls import WorkersWithSettings
from tests.support.trajectories import make_request, status_of


def scrape(url: str) -> list[Sample]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode("utf-8")
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def values(samples: list[Sample], name: str, **labels: str) -> list[float]:
    return [
        sample.value
        for sample in samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


async def test_a_running_worker_serves_runtime_and_domain_metrics(
    dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    task_queue = f"metrics-{uuid.uuid4().hex[:8]}"
    workers = WorkersWithSettings(
        client=dev_env.client,
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=database_url,
        task_queue=task_queue,
        log_dir=tmp_path,
        settings={
            "INKANTELING_CODEC_KEY_FILE": str(TESTS_KEYRING_FILE),
            "INKANTELING_METRICS_PORT": str(port),
            # Short, so the recount that sees the new trajectory comes soon.
            "INKANTELING_METRICS_REFRESH_SECONDS": "0.5",
        },
    )
    trajectories = Trajectories(dev_env.client, database_url, task_queue)
    try:
        worker = await workers.start()
        started = time.time()
        request = make_request(start=date.today(), cooperation=trajectories.cooperation("metrics"))
        handle = await trajectories.start(request)
        phase = (await status_of(handle)).phase  # the worker has run its first workflow task

        async def recounted() -> list[Sample] | None:
            try:
                samples = await asyncio.to_thread(scrape, url)
            except (urllib.error.URLError, OSError):
                return None
            refreshed = values(samples, "inkanteling_domain_metrics_refreshed_timestamp_seconds")
            in_phase = values(samples, "inkanteling_trajectories", phase=phase.value)
            if refreshed and refreshed[0] > started and in_phase and in_phase[0] >= 1:
                return samples
            return None

        samples = await eventually(
            recounted, within=30, what=f"{url} counts the trajectory in phase {phase.value}"
        )
    finally:
        await trajectories.terminate_leftovers()
        workers.stop_all()

    # The Temporal runtime's own metrics, from the SDK's core, on the same port.
    assert values(samples, "inkanteling_temporal_metrics_up") == [1.0]
    polled = values(
        samples, "temporal_workflow_task_queue_poll_succeed_total", task_queue=task_queue
    )
    assert polled and polled[0] >= 1, "the worker took the trajectory's workflow task"
    assert values(samples, "temporal_request_total"), "client requests are counted"

    # The domain's gauges: every phase has a series; plausible counts.
    by_phase = {
        sample.labels["phase"]: sample.value
        for sample in samples
        if sample.name == "inkanteling_trajectories"
    }
    assert set(by_phase) == {p.value for p in Phase}
    assert all(count >= 0 and count == int(count) for count in by_phase.values())
    overdue = values(samples, "inkanteling_trajectories_overdue")
    assert overdue and 0 <= overdue[0] <= sum(by_phase.values())
    assert values(samples, "inkanteling_domain_metrics_refresh_failures_total") == [0.0]
    # Stopped cleanly: the endpoint and the recount end with the worker.
    assert worker.process.returncode == 0, worker.log_tail()
