"""Where the workflow may read Temporal's clock.

Decisions on workflow.now() did not replay after a worker died holding a workflow task (see
"The calendar moves with recorded facts" in docs/architecture.md), so the trajectory decides
on its calendar, which moves only with facts in its history. This test keeps it that way: a
new `workflow.now()` anywhere but the places listed
here fails, and the list says why each may read the clock. The calendar's rules
(workflows/calendar.py) are pure: the wall clock is handed in only to set a timer's duration.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKFLOW_SOURCES = sorted((Path(__file__).parents[1] / "workflows").glob("*.py"))

# function -> why it may read the clock
MAY_READ_THE_CLOCK = {
    "_check_stamp": "a validator: validators never run on replay",
    "_ring_alarm": "how long the alarm's timer runs; whether it runs follows from the "
    "calendar (a moment the calendar has not reached)",
}
CLOCK_READS = {"now"}


def clock_reads(source: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of every call of workflow.now() or self._wall_sim_now()."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in CLOCK_READS
                and isinstance(child.func.value, ast.Name)
                and child.func.value.id in {"workflow", "self"}
            ):
                found.append((function, child.lineno))
            visit(child, inner)

    visit(tree, "<module>")
    return found


@pytest.mark.parametrize("source", WORKFLOW_SOURCES, ids=[p.name for p in WORKFLOW_SOURCES])
def test_the_clock_is_read_only_where_a_replay_cannot_depend_on_it(source: Path) -> None:
    elsewhere = [
        f"{source.name}:{line} in {function}()"
        for function, line in clock_reads(source)
        if function not in MAY_READ_THE_CLOCK
    ]
    assert not elsewhere, (
        "workflow.now() read where a decision could depend on it: "
        + ", ".join(elsewhere)
        + "; decide on self._today() / the calendar's moment instead"
    )


def test_the_check_sees_a_clock_read() -> None:
    """The check finds what it looks for (so its silence above means something)."""
    source = Path(__file__).parents[1] / "workflows" / "trajectory.py"
    functions = {function for function, _ in clock_reads(source)}
    assert {"_check_stamp", "_ring_alarm"} <= functions
