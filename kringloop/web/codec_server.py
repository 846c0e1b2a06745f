"""`kringloop codec-server`: Temporal's codec server protocol (POST /encode and /decode with
`{"payloads": [...]}`), so an operator holding the admin token can read the encrypted payloads
of a workflow history in the Temporal UI or with `temporal workflow show --codec-endpoint`."""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from google.protobuf.json_format import MessageToJson, Parse, ParseError
from temporalio.api.common.v1 import Payloads

from kringloop.security.payload_codec import EncryptionCodec, PayloadKeyError
from kringloop.settings import Settings


def _refusal(status_code: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    return JSONResponse(status_code=status_code, content={"message": message}, headers=headers)


def create_codec_app(settings: Settings) -> FastAPI:
    codec = EncryptionCodec(settings.payload_keyring)
    expected = f"Bearer {settings.api_admin_token}".encode()
    app = FastAPI(title="Kringloop codec server", docs_url=None, redoc_url=None,
                  openapi_url=None)
    # The Temporal UI calls from its own origin, with the token and its namespace header.
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.temporal_ui_origins),
                       allow_methods=["POST"], allow_credentials=True,
                       allow_headers=["Authorization", "Content-Type", "X-Namespace"])

    async def _answer(request: Request, encode: bool) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _refusal(401, "the codec server needs Authorization: Bearer <admin token>")
        try:
            payloads = Parse(await request.body(), Payloads())
        except ParseError as error:
            return _refusal(400, f'the body must be {{"payloads": [...]}}: {error}')
        try:
            if encode:
                await codec.encode_wrapper(payloads)
            else:
                await codec.decode_wrapper(payloads)
        except PayloadKeyError as error:
            return _refusal(400, str(error))
        return Response(MessageToJson(payloads), media_type="application/json")

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await _answer(request, encode=True)

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await _answer(request, encode=False)

    return app
