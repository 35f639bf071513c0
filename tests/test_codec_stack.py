"""The codec in the local stack, and outside it: the stack creates a ring and a token on first
start, runs the codec server and points the Web UI at it; a process that needs the key and
finds no ring refuses to start with one line."""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from codec.keyring import load_keyring
from stack import pidfile
from stack.ports import free_ports

ROOT = Path(__file__).resolve().parent.parent
START_WITHIN = 120.0
STOP_WITHIN = 60.0


def _environment(**extra: str) -> dict[str, str]:
    """This machine's environment without the project's settings (the tests' ring included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKANTELING_")}
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def _post(url: str, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"payloads": payloads}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        result: list[dict[str, Any]] = json.loads(answer.read())["payloads"]
        return result


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as answer:
        body: bytes = answer.read()
        return body


@pytest.mark.timeout(240)
def test_the_stack_creates_the_ring_and_token_and_the_web_ui_decodes(tmp_path: Path) -> None:
    frontend, ui, pg, codec_port = free_ports(4)
    data = tmp_path / "data"
    env = _environment(
        TEMPORAL_ADDRESS=f"127.0.0.1:{frontend}",
        INKANTELING_UI_PORT=str(ui),
        INKANTELING_PG_PORT=str(pg),
        INKANTELING_CODEC_PORT=str(codec_port),
        INKANTELING_DATA_DIR=str(data),
        INKANTELING_LOG_FORMAT="json",
    )
    log = (tmp_path / "stack.err").open("wb")
    stack = subprocess.Popen(
        [sys.executable, "-m", "stack", "up", "--no-worker"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + START_WITHIN
        while True:
            assert stack.poll() is None, (tmp_path / "stack.err").read_text()
            record = pidfile.read(data)
            if record is not None and record.state == "running":
                break
            assert time.monotonic() < deadline, "the stack did not start"
            time.sleep(0.2)  # poll interval, bounded by the deadline
        ring_file, token_file = data / "codec" / "keyring.json", data / "codec" / "token"
        for created in (ring_file, token_file):
            assert stat.S_IMODE(created.stat().st_mode) == 0o600
        ring = load_keyring(ring_file)
        token = token_file.read_text().strip()
        assert "codec" in {p.name for p in record.processes}

        # The dev server's Web UI is configured with the endpoint, token in the path.
        settings = json.loads(_get(f"http://127.0.0.1:{ui}/api/v1/settings"))
        assert settings["Codec"]["Endpoint"] == f"http://127.0.0.1:{codec_port}/{token}"
        # And that endpoint encrypts with the ring and decodes again.
        clear: dict[str, Any] = {
            "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(b'"An Peeters"').decode(),
        }
        sealed = _post(f"http://127.0.0.1:{codec_port}/{token}/encode", [clear])
        assert b"Peeters" not in base64.b64decode(sealed[0]["data"])
        assert _post(f"http://127.0.0.1:{codec_port}/{token}/decode", sealed) == [clear]
        keyid = base64.b64decode(sealed[0]["metadata"]["encryption-key-id"]).decode()
        assert keyid == ring.encrypting_key_id
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            stack.kill()
            stack.wait()
        log.close()
    # The next start keeps the ring: payloads encrypted under it stay readable.
    assert load_keyring(data / "codec" / "keyring.json") == ring


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (("worker.py",), 2),
        (("starter.py", "status", "projectvereniging-bie"), 6),
        (("-m", "codec.server"), 2),
    ],
)
def test_without_a_ring_nothing_starts(tmp_path: Path, command: tuple[str, ...], code: int) -> None:
    missing = tmp_path / "nowhere" / "keyring.json"
    completed = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env=_environment(
            INKANTELING_CODEC_KEY_FILE=str(missing),
            TEMPORAL_ADDRESS="127.0.0.1:1",
            DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == code, completed.stderr
    [line] = completed.stderr.splitlines()
    assert f"no codec key ring at {missing}" in line
    assert "make up" in line and "INKANTELING_CODEC_KEY_FILE" in line
    assert not missing.exists()  # nothing made up outside the local stack
