"""Requests turned away at the door, before any route reads them: a body over the size limit
(413), a JSON API call whose body is not JSON (415; a survey tool's webhook may also be a
form, as Qualtrics posts), an address holding a NUL character (which no id of ours contains,
and PostgreSQL refuses in text).

Pure ASGI, like the security headers: a body announced too large is refused without reading a
byte of it; one of unknown length (chunked) is read only up to the limit.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kringloop.web.errors import refusal

WITH_BODY = ("POST", "PUT", "PATCH", "DELETE")
HOOKS = "/api/hooks/"
# A mail provider posts inbound email as a form (Mailgun: multipart or urlencoded), and an
# email with its attachments is larger than any other request: its own, larger limit.
INBOUND = "/api/inbound/"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json"))


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int,
                 max_inbound_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_inbound_body_bytes = max_inbound_body_bytes or max_body_bytes

    def _limit(self, scope: Scope) -> int:
        return (self.max_inbound_body_bytes if scope["path"].startswith(INBOUND)
                else self.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        refused = self._refusal(scope, headers, declared)
        if refused is not None:
            await refused(scope, receive, send)
            return
        if declared is not None or "transfer-encoding" not in headers:
            # The server delivers no more than the declared length (checked above).
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:  # a body of unknown length: read it here, but only up to the limit
            message = await receive()
            if message["type"] != "http.request":
                return  # the client has gone
            body += message.get("body", b"")
            if len(body) > self._limit(scope):
                await self._too_large(scope)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    def _refusal(self, scope: Scope, headers: Headers, declared: str | None
                 ) -> JSONResponse | None:
        if "\x00" in scope["path"]:
            return refusal(404, "no such address: it holds a NUL character", "path")
        if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            return refusal(422, "the query must not contain NUL characters", "query")
        if declared is not None:
            if not declared.isdigit():
                return refusal(400, "Content-Length must be a number of bytes", "body")
            if int(declared) > self._limit(scope):
                return self._too_large(scope)
        has_body = declared != "0" if declared is not None else "transfer-encoding" in headers
        media_type = _media_type(headers.get("content-type", ""))
        if (scope["path"].startswith("/api/") and scope["method"] in WITH_BODY and has_body
                and not _is_json(media_type)
                and not (scope["path"].startswith(HOOKS) and media_type == FORM)
                and not (scope["path"].startswith(INBOUND) and media_type in (FORM, MULTIPART))):
            return refusal(415, "send the body as JSON, with Content-Type: application/json",
                            "body")
        return None

    def _too_large(self, scope: Scope) -> JSONResponse:
        return refusal(413, f"the request body is larger than {self._limit(scope)} bytes",
                       "body")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then whatever the client sends next."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
