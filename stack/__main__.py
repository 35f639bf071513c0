"""python -m stack {up [--demo] [--no-worker] | status | down}"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from settings import SettingsError, load_settings

EXIT_CONFIG = 2  # invalid configuration, like argparse's usage errors
EXIT_FAILED = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stack", description="The local stack.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up",
        help="start PostgreSQL, the Temporal dev server, migrations and the worker; "
        "Ctrl-C stops them all",
    )
    up.add_argument("--demo", action="store_true", help="also run the demonstration (demo.py)")
    up.add_argument("--no-worker", action="store_true", help="do not start worker.py")
    commands.add_parser("status", help="show the stack that uses the data folder")
    commands.add_parser("down", help="stop the stack that uses the data folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    # Imported after the settings check so that a bad environment fails fast and plainly.
    from stack import control, preflight, takeover

    data_dir = settings.data_dir.resolve()
    if args.command == "status":
        return control.status(data_dir)
    if args.command == "down":
        return control.down(data_dir)

    plan = preflight.make_plan(settings, worker=not args.no_worker, demo=args.demo)
    try:
        stopped = takeover.stop_leftovers(plan.data_dir)
        if stopped:
            names = ", ".join(f"{p.name} pid {p.pid}" for p in stopped)
            print(f"stack: stopped what an earlier, killed stack left running: {names}", flush=True)
        asyncio.run(preflight.check(plan))
    except preflight.PreflightError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return EXIT_FAILED

    from log import configure_logging
    from stack import up

    configure_logging(settings)
    return asyncio.run(up.run(plan))


if __name__ == "__main__":
    sys.exit(main())
