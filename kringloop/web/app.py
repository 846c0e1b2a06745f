"""Builds the FastAPI app from the services it needs."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from kringloop.org.organisation import Organisation
from kringloop.reports.metrics import CaseCounters
from kringloop.resources import TEMPLATES
from kringloop.services import Services
from kringloop.web.api import cases, erasure, health, hooks, rejections, reports, responses
from kringloop.web.api import inbound as inbound_api
from kringloop.web.api import teams as teams_api
from kringloop.web.api import workspace as workspace_api
from kringloop.web.deps import SESSION_LIFETIME, SignInRequired
from kringloop.web.errors import install_error_handlers
from kringloop.web.pages import applicant_links, booking, conversation, resurvey, unsubscribe
from kringloop.web.pages import cases as pages_cases
from kringloop.web.pages import outbox as pages_outbox
from kringloop.web.pages import rejections as pages_rejections
from kringloop.web.pages import rendering as pages
from kringloop.web.pages import reports as pages_reports
from kringloop.web.pages import sign_in as pages_signin
from kringloop.web.pages import sources as pages_sources
from kringloop.web.pages import team as pages_team
from kringloop.web.pages import team_cases as pages_team_cases
from kringloop.web.rate_limits import install_rate_limits
from kringloop.web.request_limits import RequestLimits
from kringloop.web.security_headers import SecurityHeaders

FAVICON = (TEMPLATES / "workspace" / "favicon.svg").read_bytes()


def create_app(services: Services) -> FastAPI:
    # The OpenAPI page at /docs with Swagger UI served from here: it works without a CDN.
    app = FastAPIOffline(title="Kringloop", version="0.1.0",
                         description="Closed-loop follow-up for Net Promoter programs.")
    app.state.services = services
    app.state.case_counters = CaseCounters(services.engine)  # /metrics, counted now and then
    https = services.settings.base_url.startswith("https://")
    # Signed (itsdangerous), HttpOnly session cookie holding no personal data: the session's
    # random secret (kept on the server, see deps.page_principal), a CSRF token and a flash key.
    # SameSite=Lax keeps it off cross-site posts.
    app.add_middleware(
        SessionMiddleware, secret_key=services.settings.signing_key,
        session_cookie="kringloop_session", max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="lax", https_only=https)
    # Inside the security headers, so that a refusal at the door carries them too.
    app.add_middleware(RequestLimits, max_body_bytes=services.settings.max_body_bytes,
                       # An email, urlencoded (which may double it), and the form around it.
                       max_inbound_body_bytes=2 * services.settings.inbound_max_bytes + 65536)
    app.add_middleware(SecurityHeaders, https=https)
    # Outermost: a request for another host name (DNS rebinding) never reaches a route.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=services.settings.trusted_hosts)
    if services.settings.forwarded_allow_ips:
        # The client's address from X-Forwarded-For, believed only from the configured proxies:
        # rate limits count by it, and anyone else could pick a fresh one per request.
        app.add_middleware(ProxyHeadersMiddleware,
                           trusted_hosts=list(services.settings.forwarded_allow_ips))
    install_error_handlers(app)
    install_rate_limits(app, services.settings)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        """The tab's icon, our own small SVG: browsers ask every site for one."""
        return Response(FAVICON, media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.exception_handler(SignInRequired)
    async def _sign_in_first(request: Request, _: SignInRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    for module in (responses, hooks, cases, workspace_api, teams_api, resurvey, health, pages,
                   pages_signin, pages_cases, pages_team, pages_team_cases, pages_outbox,
                   rejections, applicant_links, reports, pages_reports, conversation, erasure,
                   pages_rejections, pages_sources, booking, unsubscribe):
        app.include_router(module.router)
    app.include_router(inbound_api.router)  # replies from Mailgun
    return app


def use_organisation(app: FastAPI, org: Organisation) -> None:
    """From the next request on, the app works with this organisation file (reloaded): a
    session whose person left, or changed role or team, ends there (deps.page_principal)."""
    app.state.services = replace(app.state.services, org=org)
