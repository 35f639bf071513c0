"""The codec server: `/encode` and `/decode` for the Temporal Web UI and `temporal
--codec-endpoint`, so those who hold its token see decoded payloads while the stored history
stays encrypted.

    python -m codec.server [--host 127.0.0.1]   # port, ring, token, origin from the settings

The protocol is Temporal's remote codec protocol: `POST .../encode` or `POST .../decode` with
a `temporal.api.common.v1.Payloads` message in protobuf's JSON form (`{"payloads": [{"metadata":
{"encoding": "<base64>"}, "data": "<base64>"}]}`), answered in the same form; only the last
path segment says which. Every request needs the token, in one of two places:

- the `Authorization: Bearer <token>` header: `temporal --codec-auth "Bearer <token>"`, scripts;
- the path, `/<token>/decode`: the Web UI sends no header of its own (its "pass access token"
  forwards the user's single-sign-on token, which a local dev server has none of), so the local
  stack gives the dev server the endpoint `http://127.0.0.1:<port>/<token>`.

Browsers are answered only from the configured Web UI origin (CORS, preflight included); a
request without an `Origin` (the CLI) is not a browser's. Bodies are bounded. Every refusal is
a JSON `{"error": "..."}` with its HTTP status.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from codec.aes_gcm import ENCRYPTED_ENCODING, AesGcmCodec, PayloadTooLarge, UndecodablePayload
from codec.keyring import KeyRingError, load_keyring
from log import add_secret
from settings import SettingsError, load_settings

# A Temporal payload is at most 2 MB (the server's blob limit); in JSON with base64 it grows
# by a third. A request larger than two of them is not the Web UI's or the CLI's.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
MIN_TOKEN_CHARS = 32
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
HEALTH_PATH = "/health"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenError(ValueError):
    """The token file is missing or unusable; the message says how to fix it."""


def read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise TokenError(
            f"no codec server token at {path}: start the local stack with `make up` (it "
            "creates one), or set INKANTELING_CODEC_TOKEN_FILE to a file holding the token"
        ) from None
    except OSError as exc:
        raise TokenError(f"cannot read the codec server token {path} ({exc.strerror})") from None
    if len(token) < MIN_TOKEN_CHARS or not token.isascii() or "/" in token or " " in token:
        raise TokenError(
            f"the codec server token in {path} must be at least {MIN_TOKEN_CHARS} ASCII "
            "characters without '/' or spaces (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)"
        )
    add_secret(token)  # no log line shows it, a request path that carries it included
    return token


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def build_app(
    codec: AesGcmCodec,
    token: str,
    allowed_origin: str,
    *,
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> web.Application:
    """The aiohttp application; `codec.server.serve` runs it."""
    expected = token.encode()

    def authorized(request: web.Request, path_token: str | None) -> bool:
        if path_token is not None:
            return hmac.compare_digest(path_token.encode(), expected)
        scheme, _, credentials = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), expected
        )

    @web.middleware
    async def cors_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None and origin != allowed_origin:
            return _error(403, f"origin {origin[:100]!r} is not allowed")
        try:
            response = await handler(request)
        except web.HTTPRequestEntityTooLarge:
            response = _error(
                413, f"request body over {max_request_bytes} bytes; send fewer payloads at once"
            )
        except web.HTTPException as exc:
            response = _error(exc.status, exc.reason)
        if origin is not None:
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
            response.headers[hdrs.VARY] = hdrs.ORIGIN
        return response

    async def preflight(request: web.Request) -> web.StreamResponse:
        # Only reached from the allowed origin (the middleware answered any other one).
        if request.headers.get(hdrs.ORIGIN) is None:
            return _error(400, "a preflight request needs an Origin header")
        return web.Response(
            status=204,
            headers={
                hdrs.ACCESS_CONTROL_ALLOW_METHODS: "POST, OPTIONS",
                hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOWED_HEADERS,
                hdrs.ACCESS_CONTROL_MAX_AGE: "600",
            },
        )

    async def health(request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "ok"})

    async def codec_call(request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.path.split("/") if s]
        if not segments or segments[-1] not in ("encode", "decode") or len(segments) > 2:
            return _error(404, "POST /encode or /decode (or /<token>/encode, /<token>/decode)")
        if not authorized(request, segments[0] if len(segments) == 2 else None):
            return _error(401, "missing or wrong token (Authorization: Bearer <token>)")
        try:
            text = await request.text()
        except UnicodeDecodeError:
            return _error(400, "the body must be UTF-8 JSON")
        payloads = Payloads()
        try:
            json_format.Parse(text, payloads)
        except json_format.ParseError as exc:
            return _error(400, f"the body is not a Payloads message in JSON: {str(exc)[:200]}")
        try:
            if segments[-1] == "encode":
                result = await codec.encode(payloads.payloads)
            else:
                result = [_decode(codec, payload) for payload in payloads.payloads]
        except PayloadTooLarge as exc:
            return _error(413, str(exc))
        except UndecodablePayload as exc:
            return _error(400, str(exc))
        return web.json_response(
            json_format.MessageToDict(Payloads(payloads=result)) or {"payloads": []}
        )

    app = web.Application(client_max_size=max_request_bytes, middlewares=[cors_and_errors])
    app.router.add_get(HEALTH_PATH, health)
    app.router.add_route("OPTIONS", "/{tail:.*}", preflight)
    app.router.add_post("/{tail:.*}", codec_call)
    return app


def _decode(codec: AesGcmCodec, payload: Payload) -> Payload:
    """Encrypted payloads are decrypted (an unknown key or an altered one is an error). A
    payload in clear is returned as it is: the SDK's core writes a few itself (a patch
    marker's details), and a client that sent it has it already; the workers' codec never
    accepts one (codec/refused.py)."""
    if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
        return payload
    return codec.decrypt(payload)


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"codec server on http://{host}:{port}", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codec.server",
        description="Serve /encode and /decode for the Web UI and `temporal --codec-endpoint`. "
        "Key ring, token, port and the Web UI origin come from INKANTELING_CODEC_KEY_FILE, "
        "INKANTELING_CODEC_TOKEN_FILE, INKANTELING_CODEC_PORT, INKANTELING_CODEC_ALLOWED_ORIGIN.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        codec = AesGcmCodec(load_keyring(settings.codec_key_path))
        token = read_token(settings.codec_token_path)
    except (SettingsError, KeyRingError, TokenError) as exc:
        print(f"codec.server: {exc}", file=sys.stderr)
        return 2
    app = build_app(codec, token, settings.codec_origin)
    try:
        asyncio.run(serve(app, args.host, settings.codec_port))
    except OSError as exc:
        print(
            f"codec.server: cannot listen on {args.host}:{settings.codec_port} ({exc.strerror});"
            " set INKANTELING_CODEC_PORT to a free port",
            file=sys.stderr,
        )
        return 6
    return 0


if __name__ == "__main__":
    sys.exit(main())
