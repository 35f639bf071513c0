"""The patching discipline of docs/changing-workflows.md, shown on the real workflow.

The change: before anything else a trajectory now announces itself through a new activity. It
is made three ways, each registered under the workflow's real name as a new deploy would be:

* `ChangedWithoutPatch` makes it naively. Replaying a history recorded on the current code (a
  trajectory that was already running when the change was deployed) fails with a
  NondeterminismError: the code now schedules an activity the history does not have. This is
  exactly what tests/test_replay.py catches in CI.
* `ChangedWithPatch` guards it with `workflow.patched(PATCH_ID)`: old histories replay
  unchanged (no marker, so the old path), new runs take the new path and record a marker.
* `PatchDeprecated` is the next deploy, once no run started before the patch is left:
  `workflow.deprecate_patch(PATCH_ID)` and the new path unconditionally. Runs recorded with the
  patch replay; runs from before the patch would not, which is why this step waits.
* `PatchRemoved` is the last deploy: no patch call at all. It must wait in turn until every run
  that recorded the (non-deprecated) marker of `patched()` has closed: those histories fail,
  while runs started under `PatchDeprecated` (a deprecated marker) replay.

The variants live here, never in workflows/: they are what a change would look like, not code
that runs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import asyncpg
    import pytest
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import WorkflowHistory
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Replayer, Worker

    from activities.registry import activities_for
    from operations.start import start_trajectory
    from schemas.common import CooperationKind, StepKind
    from schemas.trajectory import StepStatus, TrajectoryInput, TrajectoryStatus
    from tests.record_histories import HISTORY_DIR, load_history, time_skipping_environment
    from tests.support.codec import converter_for_tests
    from tests.support.trajectories import make_request, wait_for
    from workflows.trajectory import InkantelingTrajectory

pytestmark = pytest.mark.asyncio(loop_scope="session")

PATCH_ID = "announce-trajectory"
ANNOUNCE = "announce_trajectory"
# Recorded on the current code: stands for a trajectory running when the change is deployed.
OLD_HISTORY = HISTORY_DIR / "template-projectvereniging.json"


async def _announce(inp: TrajectoryInput) -> None:
    await workflow.execute_activity(
        ANNOUNCE, inp.request.cooperation_id, start_to_close_timeout=timedelta(seconds=10)
    )


@workflow.defn(name="InkantelingTrajectory")
class ChangedWithoutPatch(InkantelingTrajectory):
    @workflow.run
    async def run(self, inp: TrajectoryInput) -> TrajectoryStatus:
        await _announce(inp)
        return await super().run(inp)


@workflow.defn(name="InkantelingTrajectory")
class ChangedWithPatch(InkantelingTrajectory):
    @workflow.run
    async def run(self, inp: TrajectoryInput) -> TrajectoryStatus:
        if workflow.patched(PATCH_ID):
            await _announce(inp)
        return await super().run(inp)


@workflow.defn(name="InkantelingTrajectory")
class PatchDeprecated(InkantelingTrajectory):
    @workflow.run
    async def run(self, inp: TrajectoryInput) -> TrajectoryStatus:
        workflow.deprecate_patch(PATCH_ID)
        await _announce(inp)
        return await super().run(inp)


@workflow.defn(name="InkantelingTrajectory")
class PatchRemoved(InkantelingTrajectory):
    @workflow.run
    async def run(self, inp: TrajectoryInput) -> TrajectoryStatus:
        await _announce(inp)
        return await super().run(inp)


@activity.defn(name=ANNOUNCE)
async def announce_trajectory(cooperation_id: str) -> str:
    return f"{cooperation_id} announced"


async def replay(workflow_class: type, history: WorkflowHistory) -> None:
    replayer = Replayer(workflows=[workflow_class], data_converter=converter_for_tests())
    await replayer.replay_workflow(history)


@pytest.fixture(scope="module")
async def old_history() -> WorkflowHistory:
    return await load_history(OLD_HISTORY.read_text(encoding="utf-8"))


async def record_a_start(
    env: WorkflowEnvironment, admin_url: str, template: str, workflow_class: type
) -> WorkflowHistory:
    """The start of a trajectory run by `workflow_class` (a run started after its deploy),
    up to its first open task; then the run is terminated."""
    base = admin_url.rpartition("/")[0]
    name = f"inkanteling_patching_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    pool = await asyncpg.create_pool(f"{base}/{name}", min_size=0, max_size=5)
    queue = f"patching-{uuid.uuid4().hex[:8]}"
    try:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[workflow_class],
            activities=[*activities_for(pool), announce_trajectory],
        ):
            today = (await env.get_current_time()).date()
            request = make_request(CooperationKind.INFORMAL_OVERLEG, start=today)
            handle = await start_trajectory(env.client, queue, request)
            await wait_for(
                handle,
                lambda s: any(
                    step.kind is StepKind.TASK and step.status is StepStatus.OPEN
                    for step in s.steps
                ),
            )
            history = await handle.fetch_history()
            await handle.terminate("the test has what it needs")
        return history
    finally:
        await pool.close()
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_environment() as environment:
        yield environment


@pytest.fixture(scope="module")
async def patched_history(
    env: WorkflowEnvironment, postgres_admin_url: str, migrated_template: str
) -> WorkflowHistory:
    """A run started after the deploy of `ChangedWithPatch`."""
    return await record_a_start(env, postgres_admin_url, migrated_template, ChangedWithPatch)


@pytest.fixture(scope="module")
async def deprecated_history(
    env: WorkflowEnvironment, postgres_admin_url: str, migrated_template: str
) -> WorkflowHistory:
    """A run started after the deploy of `PatchDeprecated`."""
    return await record_a_start(env, postgres_admin_url, migrated_template, PatchDeprecated)


async def test_the_current_code_replays_the_old_history(old_history: WorkflowHistory) -> None:
    await replay(InkantelingTrajectory, old_history)


async def test_an_unpatched_change_fails_to_replay_the_old_history(
    old_history: WorkflowHistory,
) -> None:
    with pytest.raises(workflow.NondeterminismError, match=ANNOUNCE):
        await replay(ChangedWithoutPatch, old_history)


async def test_the_patched_change_replays_the_old_history(old_history: WorkflowHistory) -> None:
    await replay(ChangedWithPatch, old_history)


async def test_a_new_run_takes_the_patched_path(patched_history: WorkflowHistory) -> None:
    markers = [
        e.marker_recorded_event_attributes
        for e in patched_history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert {m.marker_name for m in markers} == {"core_patch"}
    patch_ids = {json.loads(m.details["patch-data"].payloads[0].data)["id"] for m in markers}
    assert patch_ids == {PATCH_ID}  # the workflow itself has none (docs/changing-workflows.md)
    activities = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in patched_history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert activities[0] == ANNOUNCE
    await replay(ChangedWithPatch, patched_history)


async def test_deprecating_the_patch_keeps_patched_runs_replaying(
    patched_history: WorkflowHistory,
) -> None:
    await replay(PatchDeprecated, patched_history)


async def test_deprecating_too_early_breaks_runs_from_before_the_patch(
    old_history: WorkflowHistory,
) -> None:
    with pytest.raises(workflow.NondeterminismError):
        await replay(PatchDeprecated, old_history)


async def test_rolling_back_the_patch_breaks_runs_started_with_it(
    patched_history: WorkflowHistory,
) -> None:
    with pytest.raises(workflow.NondeterminismError):
        await replay(InkantelingTrajectory, patched_history)


async def test_removing_the_patch_too_early_breaks_runs_started_with_it(
    patched_history: WorkflowHistory,
) -> None:
    with pytest.raises(workflow.NondeterminismError, match="patch marker"):
        await replay(PatchRemoved, patched_history)


async def test_removing_the_patch_keeps_runs_from_the_deprecation_replaying(
    deprecated_history: WorkflowHistory,
) -> None:
    await replay(PatchDeprecated, deprecated_history)
    await replay(PatchRemoved, deprecated_history)
