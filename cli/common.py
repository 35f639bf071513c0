"""What the trajectory commands share: parsing ids and dates, reaching Temporal and
PostgreSQL, printing JSON, and one mapping from failures to messages and exit codes.

A handler does its work in an `async def` and hands it to `run`; every failure class then
gets the same treatment in every command: one message on stderr (nothing on stdout) and its
own exit code (cli/exit_codes.py).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any

import asyncpg
from pydantic import TypeAdapter, ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from cli.exit_codes import ExitCode
from codec.keyring import KeyRingError
from db.connect import DatabaseUnavailable, DbConnection, connect, database_url, unavailable
from operations.messages import Refused
from operations.queries import (
    CALL_TIMEOUT,
    NoWorker,
    TrajectoryClosed,
    TrajectoryNotFound,
    TrajectoryStuck,
)
from operations.requests import (
    InvalidRequest,
    TrajectoryExists,
    UnknownAuthorities,
    UnknownCooperation,
)
from register.suggest import did_you_mean
from schemas.common import RegisterId
from schemas.trajectory import WORKFLOW_ID_PREFIX, TrajectoryStatus, workflow_id_for
from settings import Settings
from temporal_connection import TemporalUnavailable
from temporal_connection import connect as temporal_connect

# Client.connect retries an address that does not answer (a firewall dropping packets)
# for a long time; a coordinator should hear about it sooner.
TEMPORAL_CONNECT_TIMEOUT = 10.0

# How long a command waits for a worker's answer (a query, an update) before it says that
# none answers: long enough for a busy worker, short enough for a coordinator at a prompt.
# `starter.py --wait SECONDS` changes it.
DEFAULT_WAIT = CALL_TIMEOUT.total_seconds()
MAX_WAIT = 3600.0

_REGISTER_ID = TypeAdapter(RegisterId)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidInput(ValueError):
    """A value on the command line is wrong; the message names the option."""


def answer_wait(args: argparse.Namespace) -> timedelta:
    """The bound on waiting for a worker, from `starter.py --wait`."""
    return timedelta(seconds=getattr(args, "wait", None) or DEFAULT_WAIT)


def user_name() -> str:
    """Who is recording: the login name, else the role."""
    return os.environ.get("USER") or "coordinator"


def err(message: str) -> None:
    print(message, file=sys.stderr)


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def add_json_flag(parser: argparse.ArgumentParser, what: str = "a JSON object") -> None:
    parser.add_argument(
        "--json", action="store_true", help=f"print {what} instead of text (for scripts)"
    )


def add_id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "id",
        metavar="ID",
        help=f"the cooperation's register id, or the workflow id ({WORKFLOW_ID_PREFIX}<id>)",
    )


# --- parsing values -----------------------------------------------------------------------------


def shown(text: str, limit: int = 80) -> str:
    """A value typed by the user, quoted and cut, for a one-line message."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def register_id(text: str, what: str) -> str:
    try:
        return _REGISTER_ID.validate_python(text)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        # The message quotes the value itself (cut to a readable length).
        raise InvalidInput(f"{what}: {message}") from None


def workflow_id_from(text: str) -> str:
    """Accept `projectvereniging-bie` and `inkanteling-projectvereniging-bie` alike."""
    cooperation = text.removeprefix(WORKFLOW_ID_PREFIX)
    return workflow_id_for(register_id(cooperation, "trajectory id"))


def parse_date(text: str, option: str) -> date:
    """YYYY-MM-DD only, so 03/04/2027 is never read as 3 April or 4 March."""
    if not _ISO_DATE.match(text.strip()):
        raise InvalidInput(f"{option}: must be a date as YYYY-MM-DD (got {shown(text)})")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{option}: {shown(text)} is not a calendar date") from None


def optional_date(text: str | None, option: str) -> date | None:
    return None if text is None else parse_date(text, option)


def id_list(text: str | None, option: str) -> tuple[str, ...] | None:
    """`a,b,c` (spaces allowed) as register ids."""
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise InvalidInput(f"{option}: give at least one id, separated by commas")
    return tuple(register_id(item, option) for item in items)


def problems_text(exc: InvalidRequest, options: Mapping[str, str]) -> str:
    """The problems of a request, each naming the option the user typed where there is one."""

    def name(field: str) -> str:
        if field in options:
            return options[field]
        head, _, rest = field.partition(".")
        option = options.get(head)
        return f"{option}.{rest}" if option and rest else option or field

    return "\n".join(f"{name(field)}: {message}" for field, message in exc.problems)


# --- servers ------------------------------------------------------------------------------------


async def temporal_client(settings: Settings) -> Client:
    try:
        return await asyncio.wait_for(temporal_connect(settings), TEMPORAL_CONNECT_TIMEOUT)
    except TimeoutError:
        raise TemporalUnavailable(
            f"cannot reach Temporal at {settings.temporal_address} (no answer within "
            f"{TEMPORAL_CONNECT_TIMEOUT:g} s); start the local stack with `make stack` or set "
            "TEMPORAL_ADDRESS"
        ) from None


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[DbConnection]:
    url = database_url(settings)
    conn = await connect(url)
    try:
        yield conn
    except BrokenPipeError:
        raise  # stdout closed by its reader (cli/guard.py), not the database going away
    except (OSError, asyncpg.ConnectionDoesNotExistError) as exc:
        # The server went away after we connected: the same advice as at connect time.
        raise unavailable(url, exc) from exc
    except asyncpg.UndefinedTableError:
        raise DatabaseUnavailable(
            "the database has no trajectory tables yet; run `python -m db.migrate` "
            "(or start the local stack with `make stack`)"
        ) from None
    finally:
        await conn.close()


def calendar_today(status: TrajectoryStatus) -> date:
    """The trajectory's calendar date now. The query's `today` is as of the workflow's last
    activation, days old for a trajectory that waits for a council; the calendar's start and
    speed give the current date (by this machine's clock, which should agree with the
    server's)."""
    return status.calendar_today(datetime.now(UTC))


def web_ui_link(settings: Settings, workflow_id: str, run_id: str | None = None) -> str:
    run = f"/{run_id}" if run_id else ""
    return (
        f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{workflow_id}{run}"
    )


# --- running a command ------------------------------------------------------------------------


@dataclass
class Progress:
    """How far a command got, so that a Ctrl-C is reported honestly: `interrupted` is the line
    shown, or `check` finds out (in a fresh event loop) what the interrupted call did."""

    interrupted: str = "nothing was changed"
    check: Callable[[], Awaitable[str]] | None = None

    def sending(self, what: str, workflow_id: str) -> None:
        """From here on an interrupt may fall after the message reached the trajectory."""
        self.interrupted = (
            f"whether the {what} was recorded is unknown: check with `starter.py status "
            f"{workflow_id}` or `starter.py history {workflow_id}` before sending it again"
        )


# How long a check after Ctrl-C may take: the coordinator is waiting to get the prompt back.
INTERRUPT_CHECK_TIMEOUT = 5.0


def run(
    settings: Settings,
    work: Callable[[], Awaitable[int]],
    options: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> int:
    """Run the command's coroutine; turn each class of failure into its message and code.
    `options` maps request fields to the option names shown in messages; `progress` says what
    an interrupt means (by default that nothing changed). Failures outside these classes
    (and a closed stdout) are starter.py's last line of defence (cli/guard.py)."""
    try:
        return _run_to_end(work)
    except KeyboardInterrupt:
        err(f"interrupted; {_after_interrupt(progress or Progress())}")
        return ExitCode.INTERRUPTED
    except (InvalidInput, InvalidRequest) as exc:
        err(problems_text(exc, options or {}) if isinstance(exc, InvalidRequest) else str(exc))
        return ExitCode.INVALID_INPUT
    except UnknownCooperation as exc:
        hint = f"; {did_you_mean(list(exc.suggestions))}" if exc.suggestions else ""
        err(
            f"no cooperation {exc.args[0]!r} in the register{hint}; `starter.py register list` "
            "lists them"
        )
        return ExitCode.NOT_FOUND
    except UnknownAuthorities as exc:
        hints = [
            f"{authority}: {did_you_mean(list(near))}"
            for authority, near in exc.suggestions.items()
            if near
        ]
        hint = f" ({'; '.join(hints)})" if hints else ""
        err(f"{exc} (not in the register){hint}; `starter.py register authorities` lists them")
        return ExitCode.NOT_FOUND
    except TrajectoryNotFound as exc:
        err(str(exc))
        return ExitCode.NOT_FOUND
    except Refused as exc:
        err(str(exc))  # the workflow's own words, unchanged
        return ExitCode.REFUSED
    except TrajectoryClosed as exc:
        err(str(exc))
        return ExitCode.REFUSED
    except TrajectoryExists as exc:
        err(str(exc))
        return ExitCode.CONFLICT
    except TrajectoryStuck as exc:
        err(str(exc))
        return ExitCode.STUCK
    except (TemporalUnavailable, NoWorker, DatabaseUnavailable, KeyRingError) as exc:
        # A missing codec key ring says what to start (the local stack creates one) or set.
        err(str(exc))
        return ExitCode.UNAVAILABLE
    except _LostTemporal as exc:
        err(
            f"lost the connection to Temporal at {settings.temporal_address} ({exc}); "
            "start the local stack with `make stack` or set TEMPORAL_ADDRESS"
        )
        return ExitCode.UNAVAILABLE


def _after_interrupt(progress: Progress) -> str:
    """What the interrupted command leaves behind; a second Ctrl-C here ends the check."""
    if progress.check is None:
        return progress.interrupted
    check = progress.check
    try:
        return asyncio.run(asyncio.wait_for(check(), INTERRUPT_CHECK_TIMEOUT))
    except (TimeoutError, RuntimeError, RPCError):
        # TemporalUnavailable is a RuntimeError: the check could not reach the server.
        return progress.interrupted
    finally:
        gc.collect()  # the check's Temporal client, as in _run_to_end


def _run_to_end(work: Callable[[], Awaitable[int]]) -> int:
    try:
        return asyncio.run(_call(work))
    finally:
        # The command has answered. A call it gave up on (an update no worker took within the
        # bound) may still complete on the SDK's core thread, which then hands its result to
        # the closed event loop; what that raises is printed as a traceback after the
        # command's one line. Nothing is left to tell the coordinator: keep it quiet.
        sys.excepthook = _quiet_after_the_loop(sys.excepthook)
        sys.unraisablehook = _quiet_unraisable_after_the_loop(sys.unraisablehook)
        # The Temporal client sits in reference cycles. Left to the interpreter's final
        # collection, its Rust side is dropped on a core thread while Python finalizes, and
        # about one run in ten aborts with "PyGILState_Release: thread state ... must be
        # current" (temporalio/sdk-python#300). Collected here, it goes while Python lives.
        gc.collect()


def _late_delivery(error: BaseException | None) -> bool:
    # asyncio gives this condition no type of its own: a RuntimeError with this text, raised
    # by the closed loop's own check. Nothing else is silenced.
    return isinstance(error, RuntimeError) and str(error) == "Event loop is closed"


def _quiet_unraisable_after_the_loop(
    previous: Callable[[Any], object],
) -> Callable[[Any], None]:
    def hook(unraisable: Any) -> None:
        if not _late_delivery(unraisable.exc_value):
            previous(unraisable)

    return hook


def _quiet_after_the_loop(
    previous: Callable[[type[BaseException], BaseException, TracebackType | None], object],
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if not _late_delivery(error):
            previous(kind, error, trace)

    return hook


class _LostTemporal(RuntimeError):
    """Temporal went away after we connected."""


async def _call(work: Callable[[], Awaitable[int]]) -> int:
    try:
        return await work()
    except RPCError as exc:
        if exc.status is RPCStatusCode.UNAVAILABLE:
            raise _LostTemporal(exc.message) from exc
        raise


Handler = Callable[[argparse.Namespace, Settings], int]


def add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    epilog: str,
    handler: Handler,
) -> argparse.ArgumentParser:
    """One subcommand: its summary as help and description, an epilog with an example, and
    the handler `starter.main` calls."""
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser
