"""Exit codes of `starter.py`, distinct per class of failure so scripts can branch on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1  # a failure no other code covers; `starter.py --debug ...` shows its traceback
    USAGE = 2  # argparse's own code for a malformed command line
    INVALID_INPUT = 3  # a value on the command line or in a file is wrong
    NOT_FOUND = 4  # unknown cooperation, authority or trajectory
    REFUSED = 5  # the running trajectory refused the request (its validator's message)
    UNAVAILABLE = 6  # Temporal or PostgreSQL cannot be reached, or no worker answers
    CONFLICT = 7  # e.g. a live trajectory already exists for the cooperation
    # The trajectory's workflow task fails in the worker (a bug, a nondeterminism error):
    # starting a worker does not help, unlike UNAVAILABLE; a fix of the workflow code does.
    STUCK = 8
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as a shell reports it
    # The reader of stdout went away (`starter.py list | head -1`): 128 + SIGPIPE, what a
    # program killed by SIGPIPE reports, so `set -o pipefail` scripts see the same as with cat.
    BROKEN_PIPE = 141
