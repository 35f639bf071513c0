"""Fetching publications politely: a timeout, a bound on size, one request at a time per host,
and a User-Agent that says who asks. A failure is a `FetchError` whose message says what
happened and what to do; nothing is retried here (the harvester tries again the next day).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from lblod.reader import MAX_PUBLICATION_BYTES, PublicationError, too_large

USER_AGENT = "inkanteling-lblod-reader/1 (DVV Midwest; reads published council decisions)"
DEFAULT_TIMEOUT = 30.0
_CHUNK = 64 * 1024


class FetchError(PublicationError):
    """The publication could not be fetched; str() says why."""


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


@dataclass
class Fetcher:
    """One per program run: it keeps a lock per host so that requests to one council's
    platform never overlap, whatever the number of trajectories asking."""

    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = MAX_PUBLICATION_BYTES
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def fetch(self, url: str) -> bytes:
        host = urlsplit(url).netloc.lower()
        if not is_url(url) or not host:
            raise FetchError(f"{url!r} is not an http(s) URL")
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            return await self._get(url)

    async def _get(self, url: str) -> bytes:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(
                    timeout=timeout, headers={"User-Agent": USER_AGENT}
                ) as session,
                session.get(url, allow_redirects=True, max_redirects=5) as response,
            ):
                if response.status != 200:
                    raise FetchError(
                        f"{url}: the server answered {response.status} {response.reason or ''}"
                        "".strip()
                        + "; check the address in a browser (the register's publication URL "
                        "may be out of date)"
                    )
                if (response.content_length or 0) > self.max_bytes:
                    raise too_large(url, response.content_length or 0, self.max_bytes)
                body = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise too_large(url, len(body), self.max_bytes)
                return bytes(body)
        except TimeoutError:
            raise FetchError(
                f"{url}: no complete answer within {self.timeout:g} s; the platform may be "
                "down or slow, try again later"
            ) from None
        except aiohttp.ClientError as exc:
            raise FetchError(
                f"{url}: cannot be fetched ({type(exc).__name__}: {exc}); check the address "
                "and the network"
            ) from None


def read_file(path: str, max_bytes: int = MAX_PUBLICATION_BYTES) -> bytes:
    """A publication saved as a file, refused before reading when it is too large."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise too_large(path, size, max_bytes)
        return file.read_bytes()
    except FileNotFoundError:
        raise FetchError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FetchError(f"{path}: is a directory, not a publication") from None
    except PermissionError:
        raise FetchError(f"{path}: not readable (permission denied)") from None


async def load(source: str, fetcher: Fetcher | None = None) -> bytes:
    """The bytes of a publication given as a file name or an http(s) URL."""
    if is_url(source):
        return await (fetcher or Fetcher()).fetch(source)
    return await asyncio.to_thread(read_file, source)
