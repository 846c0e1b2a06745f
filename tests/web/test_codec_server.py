"""`kringloop codec-server` speaks Temporal's codec server protocol for an operator holding the
admin token, and lets the Temporal UI call it from the UI's own origin (and no other)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToJson
from temporalio.api.common.v1 import Payload

from kringloop.network import free_port
from kringloop.security.payload_codec import EncryptionCodec
from kringloop.settings import PayloadKey, Settings
from kringloop.web.codec_server import create_codec_app
from tests.support.command import KRINGLOOP, clean_environment

UI = "http://localhost:8233"
OPERATOR = {"Authorization": "Bearer codec-admin-token"}
NOTE = {"case_id": "case-r-1001", "text": "Anna de Vries belt vanmiddag terug"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, admin_token="codec-admin-token",
                    payload_keys=(PayloadKey("2026-01", os.urandom(32)),))


@pytest.fixture
async def codec_server(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_codec_app(settings)),
                                 base_url="http://127.0.0.1:8081") as client:
        yield client


def as_json_payload(value: Any) -> dict[str, Any]:
    """A payload as the Temporal UI sends it: protobuf JSON, bytes in base64."""
    return {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(json.dumps(value).encode()).decode()}


async def test_the_operator_encodes_and_decodes_a_payload(
    codec_server: httpx.AsyncClient,
) -> None:
    encoded = await codec_server.post("/encode", headers=OPERATOR,
                                      json={"payloads": [as_json_payload(NOTE)]})
    assert encoded.status_code == 200, encoded.text
    [sealed] = encoded.json()["payloads"]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(sealed["metadata"]["encryption-key-id"]) == b"2026-01"
    assert b"Anna" not in base64.b64decode(sealed["data"])

    decoded = await codec_server.post("/decode", headers=OPERATOR,
                                      json={"payloads": [sealed]})

    assert decoded.status_code == 200, decoded.text
    [opened] = decoded.json()["payloads"]
    assert json.loads(base64.b64decode(opened["data"])) == NOTE


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer a-guess"},
                                     {"Authorization": "codec-admin-token"}],
                         ids=["no token", "wrong token", "token without Bearer"])
async def test_without_the_admin_token_nothing_is_decoded(
    codec_server: httpx.AsyncClient, headers: dict[str, str],
) -> None:
    sealed = (await codec_server.post("/encode", headers=OPERATOR, json={
        "payloads": [as_json_payload(NOTE)]})).json()["payloads"]

    for path in ("/decode", "/encode"):
        answer = await codec_server.post(path, headers=headers, json={"payloads": sealed})
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert "Anna" not in answer.text and "admin token" in answer.json()["message"]


async def test_a_payload_sealed_with_a_key_the_server_lacks_is_refused_by_key_id(
    settings: Settings, codec_server: httpx.AsyncClient,
) -> None:
    elsewhere = Settings(home=settings.home, admin_token="codec-admin-token",
                         payload_keys=(PayloadKey("2024-07", os.urandom(32)),))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_codec_app(elsewhere)),
                                 base_url="http://127.0.0.1:8081") as other:
        sealed = (await other.post("/encode", headers=OPERATOR, json={
            "payloads": [as_json_payload(NOTE)]})).json()["payloads"]

    answer = await codec_server.post("/decode", headers=OPERATOR, json={"payloads": sealed})
    garbled = await codec_server.post("/decode", headers=OPERATOR, content=b"payloads?")

    assert answer.status_code == 400
    assert "'2024-07'" in answer.json()["message"]
    assert garbled.status_code == 400 and "payloads" in garbled.json()["message"]


async def test_the_temporal_ui_may_call_it_from_its_own_origin_only(
    codec_server: httpx.AsyncClient,
) -> None:
    def preflight(origin: str) -> dict[str, str]:
        return {"Origin": origin, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}

    from_the_ui = await codec_server.options("/decode", headers=preflight(UI))
    from_elsewhere = await codec_server.options("/decode",
                                                headers=preflight("https://evil.example"))
    call = await codec_server.post("/encode", json={"payloads": [as_json_payload(NOTE)]},
                                   headers={**OPERATOR, "Origin": UI, "X-Namespace": "default"})

    assert from_the_ui.status_code == 200
    assert from_the_ui.headers["Access-Control-Allow-Origin"] == UI
    assert from_the_ui.headers["Access-Control-Allow-Credentials"] == "true"
    assert "authorization" in from_the_ui.headers["Access-Control-Allow-Headers"].lower()
    assert from_elsewhere.status_code == 400
    assert "Access-Control-Allow-Origin" not in from_elsewhere.headers
    assert call.status_code == 200 and call.headers["Access-Control-Allow-Origin"] == UI


async def test_the_command_serves_the_key_kringloop_up_generated(tmp_path: Path) -> None:
    """`kringloop codec-server` on the embedded default reads the key `kringloop up` made."""
    home = tmp_path / "home"
    kept = Settings(home=home).payload_keyring  # as `kringloop up` leaves it in its home
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        str(KRINGLOOP), "codec-server", "--port", str(port), cwd=tmp_path,
        env=clean_environment(KRINGLOOP_HOME=str(home), KRINGLOOP_ADMIN_TOKEN="codec-admin-token"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    [sealed] = await EncryptionCodec(kept).encode([Payload(
        metadata={"encoding": b"json/plain"}, data=json.dumps(NOTE).encode())])
    body = {"payloads": [json.loads(MessageToJson(sealed))]}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(200):
                try:
                    answer = await client.post("/decode", json=body, headers=OPERATOR)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the codec server never listened")
    finally:
        server.terminate()
        await server.wait()

    assert answer.status_code == 200, answer.text
    assert json.loads(base64.b64decode(answer.json()["payloads"][0]["data"])) == NOTE
