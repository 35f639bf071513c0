"""Exit codes of `starter.py`, distinct per class of failure so scripts can branch on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    USAGE = 2  # argparse's own code for a malformed command line
    INVALID_INPUT = 3  # a value on the command line or in a file is wrong
    NOT_FOUND = 4  # unknown cooperation, authority or trajectory
    REFUSED = 5  # the running trajectory refused the request (its validator's message)
    UNAVAILABLE = 6  # Temporal or PostgreSQL cannot be reached
    CONFLICT = 7  # e.g. a live trajectory already exists for the cooperation
