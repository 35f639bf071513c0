"""The product worker's settings, read from the worker `worker.build_worker` makes, so that the
bare worker runs with the same cache and concurrency whatever the product chooses later.

The product's Worker is only constructed to read its configuration, never run. Should
`build_worker` need something the bench cannot give (its signature changed), the settings
fall back to the workflow cache size alone, and the caller says so.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio.client import Client

# Everything that decides how many tasks a worker takes, how it keeps runs and how it runs
# their code (the sandbox or not); not what it runs.
SHARED_KEYS = (
    "max_cached_workflows",
    "workflow_runner",
    "max_concurrent_workflow_tasks",
    "max_concurrent_activities",
    "max_concurrent_local_activities",
    "tuner",
    "max_concurrent_workflow_task_polls",
    "max_concurrent_activity_task_polls",
    "nonsticky_to_sticky_poll_ratio",
    "sticky_queue_schedule_to_start_timeout",
    "workflow_task_poller_behavior",
    "activity_task_poller_behavior",
    "graceful_shutdown_timeout",
    "disable_eager_activity_execution",
    "max_activities_per_second",
    "max_task_queue_activities_per_second",
)


async def product_worker_settings(client: Client, database_url: str) -> tuple[dict[str, Any], str]:
    """The shared settings and where they came from (for the bench's output)."""
    import worker as product
    from settings import load_settings

    try:
        # A task queue of its own: the SDK refuses a second worker on the queue of one that
        # was never shut down, and the bare worker comes next on the environment's queue.
        settings = load_settings().model_copy(update={"task_queue": "bench-settings-probe"})
        pool: asyncpg.Pool[asyncpg.Record] = await asyncpg.create_pool(
            database_url, min_size=0, max_size=1
        )
        try:
            config = product.build_worker(client, settings, pool).config()
        finally:
            await pool.close()
    except Exception as exc:  # any change of build_worker: fall back, and say so
        cache = getattr(product, "WORKFLOW_CACHE_SIZE", 0)
        return {"max_cached_workflows": cache}, f"worker.WORKFLOW_CACHE_SIZE only ({exc!r})"
    shared = {key: config[key] for key in SHARED_KEYS if key in config}  # type: ignore[literal-required]
    return shared, "worker.build_worker"


def describe(settings: dict[str, Any]) -> str:
    """The settings a reader compares: cache and slots."""
    shown = ("max_cached_workflows", "max_concurrent_workflow_tasks", "max_concurrent_activities")
    runner = type(settings.get("workflow_runner")).__name__
    return ", ".join(f"{key}={settings.get(key)!r}" for key in shown) + f", runner={runner}"
