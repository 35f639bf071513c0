"""Connections to the application database, with one exception for "cannot reach it".

Callers (CLI, worker, stack) only need to know that the database is unavailable and what to do
about it; the dozen ways asyncpg can fail to connect are translated here, once.

TLS follows libpq's conventions in DATABASE_URL (`sslmode`, `sslrootcert`, `sslcert`,
`sslkey`), which asyncpg 0.32 reads itself, so no SSL context is built here; the files they
name are checked first, because asyncpg's error for a missing one names neither the file nor
the parameter (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Union
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from settings import Settings
from stack.postgres import DEFAULT_DATABASE, SUPERUSER

# A plain connection or one borrowed from a pool: the repository functions accept either.
DbConnection = Union["asyncpg.Connection[asyncpg.Record]", "PoolConnectionProxy[asyncpg.Record]"]

CONNECT_TIMEOUT_SECONDS = 10.0

_WHAT_TO_DO = "start the local stack with `make stack` or fix DATABASE_URL"

# Failures that mean "this server/database cannot be used right now", as opposed to bugs in SQL.
_CONNECT_FAILURES: tuple[type[BaseException], ...] = (
    OSError,  # refused, unreachable, DNS (socket.gaierror is an OSError)
    asyncio.TimeoutError,
    asyncpg.InvalidCatalogNameError,  # database does not exist
    asyncpg.InvalidAuthorizationSpecificationError,  # unknown role, pg_hba rejection
    asyncpg.InvalidPasswordError,
    asyncpg.CannotConnectNowError,  # server starting up or shutting down
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.ClientConfigurationError,  # malformed URL
)


class DatabaseUnavailable(RuntimeError):
    """The application database cannot be reached; the message says what to do."""


# Query parameters that carry a secret: libpq's `password` and the key's `sslpassword`.
_SECRET_PARAMETER = re.compile(r"(?P<name>(?:^|&)(?:ssl)?password)=[^&]*", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL without its password (nor a key's passphrase), safe for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable database URL>"
    if parts.query:
        parts = parts._replace(query=_SECRET_PARAMETER.sub(r"\g<name>=***", parts.query))
    if parts.password is None:
        return urlunsplit(parts)
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[-1]}"))


# The files a URL may name for TLS, and what each should be.
_TLS_FILES = {
    "sslrootcert": "the CA certificate that signed the server's certificate (PEM)",
    "sslcert": "this client's certificate (PEM)",
    "sslkey": "the private key of sslcert's certificate (PEM)",
}


def check_tls_files(url: str) -> None:
    """DatabaseUnavailable naming the parameter when a TLS file of the URL cannot be read."""
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return  # asyncpg reports a malformed URL itself
    for parameter, what in _TLS_FILES.items():
        for value in query.get(parameter, []):
            path = Path(value).expanduser()
            if not path.exists():
                problem = "does not exist"
            elif not path.is_file():
                problem = "is not a file"
            elif not os.access(path, os.R_OK):
                problem = "cannot be read by this user"
            else:
                continue
            raise DatabaseUnavailable(
                f"DATABASE_URL names {parameter}={value!r}, which {problem}; point it at {what}"
            )


def unavailable(url: str, exc: BaseException) -> DatabaseUnavailable:
    reason = str(exc).strip() or type(exc).__name__
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError) and _names_client_certificate(url):
        # A server that does not trust the client certificate ends the TLS handshake, which
        # asyncpg reports only as a closed connection.
        reason += "; the server may not trust the client certificate in sslcert"
    return DatabaseUnavailable(
        f"cannot reach PostgreSQL at {redact(url)} ({reason}); {_WHAT_TO_DO}"
    )


def _names_client_certificate(url: str) -> bool:
    try:
        return "sslcert" in parse_qs(urlsplit(url).query)
    except ValueError:
        return False


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or else the embedded PostgreSQL that `make stack` runs on this machine."""
    if settings.database_url is not None:
        return settings.database_url
    return (
        f"postgresql://{SUPERUSER}@127.0.0.1:{settings.embedded_postgres_port}/{DEFAULT_DATABASE}"
    )


async def connect(
    url: str, *, connect_timeout: float = CONNECT_TIMEOUT_SECONDS
) -> asyncpg.Connection[asyncpg.Record]:
    check_tls_files(url)
    try:
        return await asyncpg.connect(url, timeout=connect_timeout)
    except _CONNECT_FAILURES as exc:
        raise unavailable(url, exc) from exc


async def create_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
) -> asyncpg.Pool[asyncpg.Record]:
    """A pool that has proven it can connect, so a bad URL fails here and not in the first
    query (with min_size=0 asyncpg itself would open nothing until then)."""
    check_tls_files(url)
    try:
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, timeout=connect_timeout
        )
    except _CONNECT_FAILURES as exc:
        raise unavailable(url, exc) from exc
    try:
        async with pool.acquire():
            pass
    except _CONNECT_FAILURES as exc:
        await pool.close()
        raise unavailable(url, exc) from exc
    return pool
