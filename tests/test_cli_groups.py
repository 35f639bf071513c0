"""The command line loads only the command group a call names (starter.py, `COMMAND_MODULES`).

The table must say, for every top-level command, the module that adds it: a command missing
from it would still work (every group is loaded then), but a wrong module would leave the
command unknown. So the table is checked against what each module's `add_parser` adds.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import starter

ROOT = Path(__file__).resolve().parent.parent


def _commands_of(module_name: str) -> set[str]:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module_name).add_parser(subparsers)
    return set(subparsers.choices)


def test_every_command_is_mapped_to_the_module_that_adds_it() -> None:
    for module_name in starter.GROUP_MODULES:
        mapped = {c for c, m in starter.COMMAND_MODULES.items() if m == module_name}
        assert _commands_of(module_name) == mapped, module_name


def test_every_command_module_is_a_group() -> None:
    on_disk = {f"cli.{path.stem}" for path in (ROOT / "cli").glob("*_commands.py")}
    assert on_disk == set(starter.GROUP_MODULES)


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["decide", "bie", "izegem", "approve"], "decide"),
        (["--wait", "5", "status", "bie"], "status"),
        (["--wait=5", "list"], "list"),
        (["--debug", "task", "done"], "task"),
        (["register", "list", "--help"], "register"),
        # Every group is loaded when the call names no known command, asks for the top-level
        # help, or is not certain (an abbreviated option may take a value).
        ([], None),
        (["-h"], None),
        (["--help", "decide"], None),
        (["--wai", "5", "decide"], None),
        (["decid", "bie"], None),
    ],
)
def test_named_command(argv: list[str], command: str | None) -> None:
    assert starter.named_command(argv) == command


def test_a_call_imports_its_own_group_alone() -> None:
    # In a fresh interpreter: which command modules a `decide` call's parser loads, and
    # whether it pays for the RDF stack of the LBLOD commands or the workflow's code.
    probe = (
        "import sys, starter; starter.build_parser(starter.groups_for(['decide']));"
        "groups = (m for m in sys.modules if m.startswith('cli.') and m.endswith('_commands'));"
        "print(' '.join(sorted(groups)));"
        "print('rdflib' in sys.modules, 'workflows.trajectory' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded, heavy = completed.stdout.splitlines()
    assert loaded == "cli.message_commands"
    assert heavy == "False False"


def test_the_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        starter.build_parser(starter.groups_for(["--help"])).parse_args(["--help"])
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    missing = [c for c in starter.COMMAND_MODULES if f"\n    {c}" not in shown]
    assert not missing, shown
