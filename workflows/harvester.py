"""The LBLOD harvester: once a day (a Temporal Schedule, lblod/harvest.py), read the
publications of the authorities still pending in open rounds and record what matches.

Deterministic orchestration only: the activities (activities/lblod.py) plan, fetch, match,
record and notify. Sources are read one after the other, so no platform sees two requests at
once; a source that fails is reported and tried again the next day, the others go on.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from lblod.harvest import (
        HarvestInput,
        HarvestPlan,
        HarvestReport,
        ReadSource,
        SourceResult,
    )

_PLAN_TIMEOUT = timedelta(minutes=2)
# Fetching (bounded by its own timeout), reading and one update per matching trajectory.
_SOURCE_TIMEOUT = timedelta(minutes=10)
# PostgreSQL or Temporal away for a moment: try again; a page that fails is reported by the
# activity itself, not retried.
_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=5))


@workflow.defn(name="LblodHarvester")
class LblodHarvester:
    @workflow.run
    async def run(self, inp: HarvestInput) -> HarvestReport:
        plan: HarvestPlan = await workflow.execute_activity(
            "lblod_harvest_plan",
            inp,
            result_type=HarvestPlan,
            start_to_close_timeout=_PLAN_TIMEOUT,
            retry_policy=_RETRY,
        )
        results: list[SourceResult] = []
        for source in plan.sources:
            try:
                result: SourceResult = await workflow.execute_activity(
                    "lblod_harvest_source",
                    ReadSource(source=source, fetch_timeout_seconds=inp.fetch_timeout_seconds),
                    result_type=SourceResult,
                    start_to_close_timeout=_SOURCE_TIMEOUT,
                    retry_policy=_RETRY,
                )
            except ActivityError as exc:
                cause = exc.cause
                result = SourceResult(
                    url=source.url,
                    outcome="failed",
                    messages=(str(cause) if cause is not None else str(exc),),
                )
            results.append(result)
        return HarvestReport(results=tuple(results))
