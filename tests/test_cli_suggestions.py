"""An id the register does not know gets the nearest ids it does know, before anything is sent
to a trajectory (starter.py decide and start, in process, against a real PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.testing import WorkflowEnvironment

import starter
from cli.exit_codes import ExitCode

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = await asyncio.to_thread(starter.main, argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_unknown_ids_suggest_the_ones_meant(
    dev_env: WorkflowEnvironment,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    code, out, err = await _cli(
        ["decide", "projectvereniging-bie", "roeselaere", "approve", "--reference", "x"], capsys
    )
    assert code == ExitCode.NOT_FOUND and out == ""
    assert "roeselaere: did you mean roeselare?" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = await _cli(
        ["start", "bie", "--av-date", "2027-06-30", "--effective-date", "2027-12-01"], capsys
    )
    assert code == ExitCode.NOT_FOUND
    assert "no cooperation 'bie' in the register; did you mean projectvereniging-bie?" in err
    code, _, err = await _cli(
        ["decide", "projectvereniging-bie", "atlantis", "approve", "--reference", "x"], capsys
    )
    assert code == ExitCode.NOT_FOUND and "did you mean" not in err and "atlantis" in err
