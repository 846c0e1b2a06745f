"""Builds the FastAPI app from the services it needs."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.middleware.sessions import SessionMiddleware

from kringloop.web.deps import Services, SignInRequired
from kringloop.web.errors import install_error_handlers
from kringloop.web.rate_limits import install_rate_limits
from kringloop.web.request_limits import RequestLimits
from kringloop.web.routes import (
    applicant_links,
    cases,
    conversation,
    erasure,
    health,
    pages,
    pages_cases,
    pages_outbox,
    pages_rejections,
    pages_reports,
    pages_signin,
    pages_team,
    rejections,
    reports,
    responses,
    resurvey,
    workspace_api,
)
from kringloop.web.security_headers import SecurityHeaders

SESSION_LIFETIME_S = 12 * 3600


def create_app(services: Services) -> FastAPI:
    # The OpenAPI page at /docs with Swagger UI served from here: it works without a CDN.
    app = FastAPIOffline(title="Kringloop", version="0.1.0",
                         description="Closed-loop follow-up for Net Promoter programs.")
    app.state.services = services
    https = services.settings.base_url.startswith("https://")
    # Signed (itsdangerous), HttpOnly session cookie; SameSite=Lax keeps it off cross-site posts.
    app.add_middleware(
        SessionMiddleware, secret_key=services.settings.signing_key,
        session_cookie="kringloop_session", max_age=SESSION_LIFETIME_S, same_site="lax",
        https_only=https)
    # Inside the security headers, so that a refusal at the door carries them too.
    app.add_middleware(RequestLimits, max_body_bytes=services.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, https=https)
    install_error_handlers(app)
    install_rate_limits(app, services.settings)

    @app.exception_handler(SignInRequired)
    async def _sign_in_first(request: Request, _: SignInRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    for module in (responses, cases, workspace_api, resurvey, health, pages, pages_signin,
                   pages_cases, pages_team, pages_outbox, rejections, applicant_links, reports,
                   pages_reports, conversation, erasure, pages_rejections):
        app.include_router(module.router)
    return app
