"""The codec server (`python -m codec.server`, a real process): what the Web UI and
`temporal --codec-endpoint` send, and everything it refuses."""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from codec.aes_gcm import ENCRYPTED_ENCODING, KEY_ID_METADATA
from codec.server import MAX_REQUEST_BYTES
from tests.conftest import CodecServer
from tests.support.codec import keyring_for_tests

pytestmark = pytest.mark.asyncio(loop_scope="session")

NAME = "Griet Vandenbussche"


def body(*payloads: Payload) -> dict[str, Any]:
    as_json: dict[str, Any] = json_format.MessageToDict(Payloads(payloads=payloads))
    return as_json


def plain(value: Any) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


async def post(
    server: CodecServer, path: str, data: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.url}{path}",
            data=data if isinstance(data, bytes) else json.dumps(data),
            headers={"Content-Type": "application/json", **(headers or {})},
        ) as answer,
    ):
        return answer.status, dict(answer.headers), await answer.json()


def bearer(server: CodecServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


async def test_encode_then_decode_with_the_header_or_the_path_token(
    codec_server: CodecServer,
) -> None:
    auth = bearer(codec_server)
    status, _, encoded = await post(codec_server, "/encode", body(plain(NAME)), auth)
    assert status == 200
    [sealed] = encoded["payloads"]
    metadata = {k: base64.b64decode(v) for k, v in sealed["metadata"].items()}
    assert metadata["encoding"] == ENCRYPTED_ENCODING
    assert metadata[KEY_ID_METADATA] == keyring_for_tests().encrypting_key_id.encode()
    assert NAME.encode() not in base64.b64decode(sealed["data"])

    # The Web UI's way: the token in the endpoint's path, no header, from its origin.
    status, headers, decoded = await post(
        codec_server,
        f"/{codec_server.token}/decode",
        encoded,
        {"Origin": codec_server.origin, "X-Namespace": "default"},
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == codec_server.origin
    [clear] = decoded["payloads"]
    assert json.loads(base64.b64decode(clear["data"])) == NAME


async def test_without_the_token_or_with_a_wrong_one_nothing_is_decoded(
    codec_server: CodecServer,
) -> None:
    _, _, encoded = await post(codec_server, "/encode", body(plain(NAME)), bearer(codec_server))
    wrong = codec_server.token[:-1] + ("A" if codec_server.token[-1] != "A" else "B")
    refusals = [
        ("/decode", {}),
        ("/decode", {"Authorization": f"Bearer {wrong}"}),
        ("/decode", {"Authorization": f"Basic {codec_server.token}"}),
        (f"/{wrong}/decode", {}),
        ("/encode", {}),
    ]
    for path, headers in refusals:
        status, _, answer = await post(codec_server, path, encoded, headers)
        assert status == 401, (path, headers)
        assert answer == {"error": "missing or wrong token (Authorization: Bearer <token>)"}
        assert NAME not in json.dumps(answer)


async def test_only_the_web_uis_origin_is_answered(codec_server: CodecServer) -> None:
    _, _, encoded = await post(codec_server, "/encode", body(plain(NAME)), bearer(codec_server))
    elsewhere = "https://evil.example"
    status, headers, answer = await post(
        codec_server, "/decode", encoded, {**bearer(codec_server), "Origin": elsewhere}
    )
    assert status == 403 and answer == {"error": f"origin {elsewhere!r} is not allowed"}
    assert "Access-Control-Allow-Origin" not in headers
    async with aiohttp.ClientSession() as session:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        }
        async with session.options(
            f"{codec_server.url}/{codec_server.token}/decode",
            headers={**preflight, "Origin": elsewhere},
        ) as refused:
            assert refused.status == 403
            assert "Access-Control-Allow-Origin" not in refused.headers
        async with session.options(
            f"{codec_server.url}/{codec_server.token}/decode",
            headers={**preflight, "Origin": codec_server.origin},
        ) as allowed:
            assert allowed.status == 204
            assert allowed.headers["Access-Control-Allow-Origin"] == codec_server.origin
            assert "X-Namespace" in allowed.headers["Access-Control-Allow-Headers"]
            assert "POST" in allowed.headers["Access-Control-Allow-Methods"]


async def test_bad_requests_get_a_clear_json_error(codec_server: CodecServer) -> None:
    auth = bearer(codec_server)
    oversized = b'{"payloads": [{"data": "' + b"A" * MAX_REQUEST_BYTES + b'"}]}'
    status, _, answer = await post(codec_server, "/decode", oversized, auth)
    assert status == 413 and "over" in answer["error"]
    # A payload over what Temporal stores is never encrypted (an update of that size would
    # wedge a trajectory: sdk_reports/, program 5).
    too_big = plain("x" * (3 * 1024 * 1024))
    status, _, answer = await post(codec_server, "/encode", body(too_big), auth)
    assert status == 413 and "over the" in answer["error"]
    status, _, answer = await post(codec_server, "/decode", b"{not json", auth)
    assert status == 400 and "not a Payloads message" in answer["error"]
    status, _, answer = await post(codec_server, "/elsewhere", body(plain(1)), auth)
    assert status == 404 and "/decode" in answer["error"]
    # A payload under a key the ring lacks, or altered: refused, never passed through.
    _, _, encoded = await post(codec_server, "/encode", body(plain(NAME)), auth)
    relabelled = json.loads(json.dumps(encoded))
    relabelled["payloads"][0]["metadata"][KEY_ID_METADATA] = base64.b64encode(b"k9").decode()
    status, _, answer = await post(codec_server, "/decode", relabelled, auth)
    assert status == 400 and "key 'k9'" in answer["error"]
    # A payload in clear (a patch marker the SDK's core writes) comes back as it is.
    status, _, answer = await post(codec_server, "/decode", body(plain("core_patch")), auth)
    assert status == 200 and answer == body(plain("core_patch"))
