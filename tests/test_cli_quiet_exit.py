"""After a command has answered, a result the SDK's core delivers late to the closed event
loop (an update the command stopped waiting for) prints no traceback; every other error
still does (cli/common.py)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from cli.common import _run_to_end


async def _answer() -> int:
    return 0


def test_a_late_delivery_after_the_command_is_not_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    saved = sys.excepthook, sys.unraisablehook
    try:
        assert _run_to_end(_answer) == 0
        sys.excepthook(RuntimeError, RuntimeError("Event loop is closed"), None)
        sys.unraisablehook(SimpleNamespace(exc_value=RuntimeError("Event loop is closed")))
        assert capsys.readouterr().err == ""
        sys.excepthook(ValueError, ValueError("a real failure"), None)
        assert "ValueError: a real failure" in capsys.readouterr().err
    finally:
        sys.excepthook, sys.unraisablehook = saved
