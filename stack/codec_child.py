"""The local stack's codec: a key ring and a token under the data folder, created on first
start, and the codec server (`python -m codec.server`) as one of the stack's children.

Only the local stack creates them, and only at their default place under its data folder: a
ring named by INKANTELING_CODEC_KEY_FILE that is missing is an operator's mistake to report,
not a reason to make up a key that would encrypt payloads nobody else can read.

The Web UI is given the endpoint with the token in its path (`http://127.0.0.1:PORT/TOKEN`):
the UI sends no header of its own to a codec server (codec/server.py says why), and the token
in the path is the one way the local UI can present it without a sign-on provider.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from codec.keyring import KeyRing, KeyRingError, ensure_keyring, load_keyring
from codec.server import HEALTH_PATH, TokenError, read_token
from settings import Settings

HOST = "127.0.0.1"
STOP_SIGNAL = signal.SIGTERM
STOP_TIMEOUT = 10.0
READY_TIMEOUT = 30.0


class CodecSetupError(RuntimeError):
    """The ring or the token cannot be had; the message says what to do."""


@dataclass(frozen=True)
class LocalCodec:
    ring: KeyRing
    token: str
    port: int
    created: tuple[str, ...]  # what this start created (for the log)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ui_endpoint(self) -> str:
        """What the dev server's Web UI is given (`--ui-codec-endpoint`)."""
        return f"{self.url}/{self.token}"


def prepare(settings: Settings) -> LocalCodec:
    """The ring and the token, each created (mode 0600) if missing at its default place."""
    created: list[str] = []
    try:
        if settings.codec_key_file is None:
            ring, made = ensure_keyring(settings.codec_key_path)
            if made:
                created.append(str(settings.codec_key_path))
        else:
            ring = load_keyring(settings.codec_key_path)
        if settings.codec_token_file is None and not settings.codec_token_path.exists():
            _write_private(settings.codec_token_path, secrets.token_urlsafe(32) + "\n")
            created.append(str(settings.codec_token_path))
        token = read_token(settings.codec_token_path)
    except (KeyRingError, TokenError) as exc:
        raise CodecSetupError(str(exc)) from None
    except OSError as exc:
        raise CodecSetupError(
            f"cannot create the codec's files under {settings.codec_key_path.parent} "
            f"({exc.strerror}); set INKANTELING_DATA_DIR to a writable folder"
        ) from None
    return LocalCodec(ring, token, settings.codec_port, tuple(created))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def launch(
    env: Mapping[str, str], cwd: Path, preexec_fn: Callable[[], None] | None
) -> subprocess.Popen[bytes]:
    """`python -m codec.server` in its own session; its settings come from `env`."""
    return subprocess.Popen(
        [sys.executable, "-m", "codec.server", "--host", HOST],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=preexec_fn,
    )


async def wait_ready(
    codec: LocalCodec, process: subprocess.Popen[bytes], within: float = READY_TIMEOUT
) -> None:
    """Until the server answers its health check; CodecSetupError if it exits or never does."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CodecSetupError(
                f"the codec server exited at start with code {process.returncode}; see its "
                "output above"
            )
        if await asyncio.to_thread(_answers, f"{codec.url}{HEALTH_PATH}"):
            return
        await asyncio.sleep(0.1)  # poll interval while it starts, bounded by the deadline
    raise CodecSetupError(f"the codec server did not answer at {codec.url} within {within:.0f}s")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
