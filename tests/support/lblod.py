"""Test helpers for LBLOD: the five real publications (tests/data/lblod), a copy of one moved
to another session date (a council round in a test opens today, the publications are from
2023 and 2024), and a real local HTTP server that serves pages, slowly or with an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from aiohttp import web

from stack.ports import free_port

DATA = Path(__file__).parent.parent / "data" / "lblod"

TORHOUT = "torhout-gemeenteraad-2024-05-27-notulen.html"
ESSEN = "essen-gemeenteraad-2023-11-28-besluitenlijst.html"
ERPE_MERE = "erpe-mere-ocmw-raad-2024-09-24-besluitenlijst.html"
AALTER = "aalter-2024-05-13-besluitenlijst.html"
ANZEGEM = "anzegem-2024-04-09-agenda.html"

# The Bestuursorgaan Torhout's minutes name as the session's (besluit:isGehoudenDoor).
TORHOUT_COUNCIL = (
    "http://data.lblod.info/id/bestuursorganen/"
    "6a7f6ed7610fc6a04422513f7210e5a450455f9b2450dd171f3c87827e9a4d63"
)
ESSEN_COUNCIL = (
    "http://data.lblod.info/id/bestuursorganen/"
    "34d65625de516650c3c15bc82abe55cef6c3f427db164947db50d84bdcb7f8dd"
)
# Item 9 of Torhout's minutes, voted 24 for, 0 against, 0 abstaining, no result published.
TORHOUT_ITEM = "samenwerkingsovereenkomst kostendelende vereniging"


def fixture_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def torhout_on(day: date) -> bytes:
    """Torhout's minutes as if the session was held on `day`: the session's and decisions'
    dates, as published in the RDFa literals, moved from 2024-05-27. Test data preparation on
    the bytes, not parsing."""
    return fixture_bytes(TORHOUT).replace(b"2024-05-27", day.isoformat().encode())


@dataclass
class PageServer:
    """Serves `pages[path]` at http://127.0.0.1:port/path; `slow` paths never answer in
    time, `broken` paths answer 503. Counts requests per path."""

    pages: dict[str, bytes] = field(default_factory=dict)
    slow: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)
    hits: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.hits[path] = self.hits.get(path, 0) + 1
        if path in self.slow:
            await self._release.wait()  # released when the server stops
        if path in self.broken:
            return web.Response(status=503, text="onderhoud")
        if path not in self.pages:
            return web.Response(status=404)
        return web.Response(body=self.pages[path], content_type="text/html")


@asynccontextmanager
async def page_server() -> AsyncIterator[PageServer]:
    server = PageServer(port=free_port())
    app = web.Application()
    app.router.add_get("/{path:.*}", server._handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", server.port)
    await site.start()
    try:
        yield server
    finally:
        server._release.set()
        await runner.cleanup()
