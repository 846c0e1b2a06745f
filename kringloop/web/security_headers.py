"""Security headers on every answer: no framing by other sites, no MIME sniffing, no referrer to
other sites (our links carry signed tokens), and a content policy that lets pages load nothing
but their own styles and frames (the outbox shows an email's HTML in a frame of our own).

The workspace and the applicant pages need no JavaScript at all; only the OpenAPI page at
/docs runs Swagger UI's own scripts, served from here.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "frame-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'")
DOCS_POLICY = ("default-src 'none'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
               "frame-ancestors 'self'; base-uri 'none'")
DOCS_PATHS = ("/docs", "/redoc", "/static-offline-docs")


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task overhead) adding the headers to every answer."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope["path"]).startswith(DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy",
                                   DOCS_POLICY if docs else PAGE_POLICY)
                headers.setdefault("X-Frame-Options", "SAMEORIGIN")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if self.https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)
