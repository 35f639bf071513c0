"""Replay every recorded history against the current workflow code.

tests/histories/*.json are histories of real runs (recorded by `python -m tests.record_histories`:
every template to integration, rejection then amendment, abort with compensation, silence at a
deadline, a member joining, a late effective date, rejected messages). A trajectory started on
older code must keep running on new code, so a change that makes the workflow issue different
commands for the same history fails here, in CI, before it reaches a worker
(tests/test_patching.py shows that this test does catch such a change, and how
`workflow.patched` avoids it). See docs/changing-workflows.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

from tests.record_histories import HISTORY_DIR, SCENARIOS, load_history, scenario_of
from tests.support.codec import converter_for_tests
from workflows.registry import WORKFLOWS

HISTORIES = sorted(HISTORY_DIR.glob("*.json"))


def test_every_scenario_has_a_recorded_history() -> None:
    recorded = {scenario_of(path) for path in HISTORIES}
    missing = sorted(set(SCENARIOS) - recorded)
    assert not missing, (
        f"no history recorded for {', '.join(missing)}; "
        f"run `python -m tests.record_histories --only {' '.join(missing)}`"
    )
    unknown = sorted(recorded - set(SCENARIOS))
    assert not unknown, f"histories of scenarios that no longer exist: {unknown}"


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
@pytest.mark.asyncio(loop_scope="session")
async def test_recorded_history_replays(path: Path) -> None:
    history = await load_history(await asyncio.to_thread(path.read_text, encoding="utf-8"))
    # A whole run, so every branch the scenario took is replayed to its end.
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter_for_tests())
    result = await replayer.replay_workflow(history)  # raises on any replay failure
    assert result.replay_failure is None
