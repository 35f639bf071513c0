"""The last line of defence of `starter.py`: whatever a command does, the coordinator sees one
line on stderr and an exit code, never a traceback.

cli/common.py `run` maps the failures a trajectory command expects (bad input, unknown ids,
refusals, servers or worker unavailable) to their codes. What is left is handled here, the
same for every group of commands:

- Ctrl-C outside a command's own handling: `interrupted`, exit 130;
- stdout closed by its reader (`starter.py list | head -1`): silence, exit 141, as a program
  killed by SIGPIPE; nothing is left to flush when the interpreter exits;
- anything else: the error's class and first line, exit 1; `starter.py --debug ...` (or
  INKANTELING_LOG_LEVEL=debug) prints the traceback as well.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable

from cli.exit_codes import ExitCode

_SHOWN = 200


class LastResort:
    """Runs the command's body; `debug` may be switched on by the body once it has parsed
    its options."""

    def __init__(self) -> None:
        self.debug = False

    def run(self, body: Callable[[], int]) -> int:
        try:
            code = body()
            # Output to a pipe is buffered: flush it here, where a closed pipe can still be
            # handled, not in the interpreter's shutdown, which would report it on stderr.
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            _silence_stdout()
            return ExitCode.BROKEN_PIPE
        except KeyboardInterrupt:
            _say("interrupted")
            return ExitCode.INTERRUPTED
        except Exception as exc:
            if self.debug:
                traceback.print_exc(file=sys.stderr)
            _say(unexpected_line(exc, self.debug))
            return ExitCode.UNEXPECTED


def unexpected_line(exc: BaseException, debug: bool) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    text = text[:_SHOWN] + ("..." if len(text) > _SHOWN else "")
    what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if debug:
        return f"unexpected error: {what} (traceback above)"
    return (
        f"unexpected error: {what}; run the command again as `starter.py --debug ...` "
        "for the traceback"
    )


def _silence_stdout() -> None:
    """Point stdout at /dev/null: whatever is still buffered is dropped quietly at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # stdout has no file descriptor (captured in a test); nothing would be flushed


def _say(line: str) -> None:
    with contextlib.suppress(OSError):  # stderr gone too: the exit code is all that is left
        print(line, file=sys.stderr)
