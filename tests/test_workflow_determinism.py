"""What the workflow code may import and call, checked on its source.

The product's worker runs workflows without the SDK's sandbox (worker.py: the sandbox cost
about as much as the rest of a replay, sdk_reports/sandbox_replay_cost.py), and so do most test
workers. Every replay keeps the sandbox (the recorded histories, every concurrency, stress and
durability test's history), and so does the worker of the templates' test, which takes the
live-only paths (queries); the sandbox refuses a non-deterministic call at run time on each of
those paths. This check covers the paths no test drives: every project module a
workflow module imports, directly or not, imports nothing outside the pure standard library,
Temporal and pydantic, and calls no clock, randomness or environment. workflow.now() has its
own check (tests/test_workflow_clock.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

# Modules outside the project that the workflow's code may import.
ALLOWED = {
    "__future__", "asyncio", "collections", "contextlib", "dataclasses", "datetime",
    "decimal", "enum", "fractions", "functools", "itertools", "math", "re", "typing",
    "temporalio", "pydantic",
}  # fmt: skip
# Project modules a workflow imports for references only (an activity class whose methods it
# calls by reference, a search-attribute key): loaded, but their I/O never runs in a workflow,
# so what they import is not followed.
REFERENCES = {"activities.actions", "activities.journal", "activities.lblod", "temporal_connection"}
# Calls that read the wall clock, randomness or the environment: anything on these modules,
# and the clock's constructors of datetime and date (their arithmetic is pure).
FORBIDDEN_OWNERS = {"time", "os", "random", "uuid", "secrets", "sys"}
CLOCK_TYPES = {"datetime", "date"}
CLOCK_METHODS = {"now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp"}
FORBIDDEN_NAMES = {"open", "input", "print", "breakpoint"}


def module_path(name: str) -> Path | None:
    path = ROOT / Path(*name.split("."))
    if path.with_suffix(".py").exists():
        return path.with_suffix(".py")
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    return None


def imported(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
            # `from package import module`: the module is a file of its own.
            found += [
                (f"{node.module}.{alias.name}", node.lineno)
                for alias in node.names
                if module_path(f"{node.module}.{alias.name}") is not None
            ]
    return found


def workflow_modules() -> list[Path]:
    """workflows/*.py and every project module they import, transitively."""
    todo = sorted((ROOT / "workflows").glob("*.py"))
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name, _ in imported(ast.parse(path.read_text(encoding="utf-8"))):
            target = module_path(name)
            if target is not None and name not in REFERENCES:
                todo.append(target)
    return sorted(seen)


def problems(source: Path, relative: str) -> list[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found = []
    for name, line in imported(tree):
        top = name.split(".")[0]
        if top not in ALLOWED and module_path(name) is None and module_path(top) is None:
            found.append(f"{relative}:{line} imports {name}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = func.value.id
            if owner in FORBIDDEN_OWNERS or (owner in CLOCK_TYPES and func.attr in CLOCK_METHODS):
                found.append(f"{relative}:{node.lineno} calls {owner}.{func.attr}()")
        if isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
            found.append(f"{relative}:{node.lineno} calls {func.id}()")
    return found


MODULES = workflow_modules()


@pytest.mark.parametrize("source", MODULES, ids=[p.relative_to(ROOT).as_posix() for p in MODULES])
def test_workflow_code_imports_and_calls_nothing_non_deterministic(source: Path) -> None:
    assert problems(source, source.relative_to(ROOT).as_posix()) == []


def test_the_check_reaches_the_rules_and_finds_what_it_looks_for(tmp_path: Path) -> None:
    reached = {p.relative_to(ROOT).as_posix() for p in MODULES}
    assert {"workflows/state.py", "rules/voting.py", "schemas/trajectory.py"} <= reached
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import socket\nfrom datetime import datetime, date\nimport random\n"
        "x = datetime.now()\ny = date.today()\nprint(random.random())\n",
        encoding="utf-8",
    )
    assert len(problems(probe, "probe.py")) == 6, problems(probe, "probe.py")
