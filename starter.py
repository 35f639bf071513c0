"""The coordinators' command line: `python starter.py GROUP COMMAND [options]`.

Each group of commands lives in its own module under cli/ (cli/register_commands.py, ...)
exposing `add_parser(subparsers)`; it adds its sub-commands and gives each a
`handler(args, settings) -> int` through `set_defaults(handler=...)`. To add a group, write the
module and list its top-level commands in `COMMAND_MODULES`: a call that names a command
imports that command's module alone (tests/test_cli_groups.py checks the table against the
modules' parsers). Configuration errors and an unreachable database are turned
into one stderr line and an exit code here, the same way for every group; cli/guard.py
handles Ctrl-C, a closed stdout and any unexpected error, so no command ends in a traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from cli.common import DEFAULT_WAIT, MAX_WAIT
from cli.exit_codes import ExitCode
from cli.guard import LastResort
from db.connect import DatabaseUnavailable
from log import configure_logging
from settings import SettingsError, load_settings


class CommandGroup(Protocol):
    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add one group of sub-commands, each with a `handler` default."""


# The module that adds each top-level command, in the order `--help` lists them. A call names
# one command, and importing the other groups' modules as well (the RDF stack of the LBLOD
# commands, the report's, the scenarios') cost every call about a fifth of a second.
COMMAND_MODULES: dict[str, str] = {
    "start": "cli.start_commands",
    "decide": "cli.message_commands",
    "task": "cli.message_commands",
    "amend": "cli.message_commands",
    "join": "cli.message_commands",
    "effective-date": "cli.message_commands",
    "abort": "cli.message_commands",
    "status": "cli.view_commands",
    "list": "cli.view_commands",
    "history": "cli.view_commands",
    "register": "cli.register_commands",
    "report": "cli.report_commands",
    "lblod": "cli.lblod_commands",
    "scenario": "cli.scenario_commands",
}
GROUP_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMAND_MODULES.values()))
# Top-level options that take a value: the word after them is not the command.
_VALUED_OPTIONS = frozenset({"--wait"})


def named_command(argv: Sequence[str]) -> str | None:
    """The top-level command `argv` names, or None when it names none, asks for the top-level
    help, or is not certain (an abbreviated option, say): then every group is loaded, so
    argparse sees the whole command line as it always did."""
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help"):
            return None
        if word in _VALUED_OPTIONS:
            next(words, None)
        elif word.startswith("--wait=") or word == "--debug":
            continue
        elif word.startswith("-"):
            return None
        else:
            return word if word in COMMAND_MODULES else None
    return None


def groups_for(argv: Sequence[str]) -> tuple[CommandGroup, ...]:
    """The command groups the parser needs for `argv`: the named command's alone, else all."""
    command = named_command(argv)
    modules = (COMMAND_MODULES[command],) if command is not None else GROUP_MODULES
    return tuple(cast(CommandGroup, importlib.import_module(name)) for name in modules)


_EPILOG = """\
examples:
  starter.py start projectvereniging-bie --participants roeselare,izegem,tielt \\
      --av-date 2027-06-15 --effective-date 2028-01-01
  starter.py decide projectvereniging-bie izegem approve --reference https://izegem.be/besluit/12
  starter.py task done projectvereniging-bie legal-scan --evidence dms://4711
  starter.py status projectvereniging-bie
  starter.py list --overdue
  starter.py history projectvereniging-bie
  starter.py register list
  starter.py register import fiches.csv
  starter.py register show wijk-werken --help
  starter.py scenario run sport-midwest   # one of the five real cases, from its real dates
  starter.py --wait 5 status projectvereniging-bie   # give up on a worker's answer after 5 s

exit codes: 0 ok, 1 unexpected error, 2 usage, 3 invalid input, 4 not found, 5 refused,
6 Temporal, PostgreSQL or worker unavailable, 7 conflict, 8 trajectory stuck (its workflow
task fails in the worker), 130 interrupted, 141 stdout closed by its reader
"""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds (got {text[:20]!r})"
        ) from None
    if not 0 < value <= MAX_WAIT:
        raise argparse.ArgumentTypeError(f"must lie between 0 and {MAX_WAIT:g} seconds")
    return value


def build_parser(groups: Sequence[CommandGroup] | None = None) -> argparse.ArgumentParser:
    """The parser with the given command groups (all of them by default)."""
    parser = argparse.ArgumentParser(
        prog="starter.py",
        description="Command line of the inkanteling trajectories of DVV Midwest.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--wait",
        type=_seconds,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help="how long a command waits for a worker to answer before it gives up "
        f"(default {DEFAULT_WAIT:g})",
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an unexpected error"
    )
    subparsers = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in groups if groups is not None else groups_for(()):
        group.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    guard = LastResort()
    return guard.run(lambda: _main(argv, guard))


def _main(argv: Sequence[str] | None, guard: LastResort) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(groups_for(words)).parse_args(words)
    guard.debug = args.debug
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return ExitCode.INVALID_INPUT
    guard.debug = guard.debug or settings.log_level == "debug"
    # Library log lines (asyncpg, Temporal) go to stderr; stdout stays the command's output.
    configure_logging(settings, stream=sys.stderr)
    try:
        return int(args.handler(args, settings))
    except DatabaseUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return ExitCode.UNAVAILABLE
    finally:
        # Any group may have held a Temporal client; collecting it while Python still runs
        # avoids an abort at interpreter exit (temporalio/sdk-python#300).
        gc.collect()


if __name__ == "__main__":
    sys.exit(main())
