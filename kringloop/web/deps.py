"""What every route needs: the services from app state, and who is calling with what rights."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Form, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kringloop.database import session_for
from kringloop.intake.signatures import SIGNATURE_HEADER, SignatureRefused, verify
from kringloop.org.access import ADMIN_TOKEN_HOLDER, Principal, principal_for
from kringloop.refusal import Refused
from kringloop.security.credentials import email_for_api_token, end_session, session_of
from kringloop.services import Services


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]
bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _matches(credentials: HTTPAuthorizationCredentials | None, token: str | None) -> bool:
    return bool(credentials and token and hmac.compare_digest(
        credentials.credentials.encode(), token.encode()))


def _unauthorized() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token",
                         headers={"WWW-Authenticate": "Bearer"})


def require_intake(services: ServicesDep, credentials: Credentials) -> None:
    """Intake is open unless KRINGLOOP_INTAKE_TOKEN is set; the admin token always works."""
    token = services.settings.intake_token
    if token is None:
        return
    if not (_matches(credentials, token)
            or _matches(credentials, services.settings.api_admin_token)):
        raise _unauthorized()


async def require_signature(
    request: Request, services: ServicesDep,
    x_kringloop_source: Annotated[str | None, Header(
        description="the sender whose secret signed the request")] = None,
    x_kringloop_signature: Annotated[str | None, Header(
        description="t=<unix time>,v1=<hex HMAC-SHA256 of the time, a dot and the raw body>; "
                    "needed once KRINGLOOP_WEBHOOK_SECRETS is set")] = None,
) -> None:
    """Once KRINGLOOP_WEBHOOK_SECRETS is set, intake takes only signed requests: the HMAC is
    checked over the raw body as it arrived, never over JSON parsed and written again."""
    settings = services.settings
    if not settings.webhook_secrets:
        return
    try:
        verify(secrets=settings.webhook_secrets, source=x_kringloop_source,
               header=x_kringloop_signature, body=await request.body(),
               tolerance_s=settings.webhook_tolerance_s)
    except SignatureRefused as refused:
        raise Refused(status.HTTP_401_UNAUTHORIZED, str(refused),
                       field=SIGNATURE_HEADER) from None


def require_metrics_reader(services: ServicesDep, credentials: Credentials) -> None:
    """/metrics: the metrics token (for a Prometheus that needs no other right) or the admin's."""
    if not (_matches(credentials, services.settings.metrics_token)
            or _matches(credentials, services.settings.api_admin_token)):
        raise _unauthorized()


def api_principal(services: ServicesDep, credentials: Credentials) -> Principal:
    """The caller of a JSON API route: the admin token, or a member's personal token."""
    if credentials is None:
        raise _unauthorized()
    if _matches(credentials, services.settings.api_admin_token):
        return ADMIN_TOKEN_HOLDER
    with session_for(services.engine) as session:
        email = email_for_api_token(session=session, secret=credentials.credentials)
    principal = principal_for(services.org, email) if email else None
    if principal is None:  # unknown, revoked, or no longer in the organisation file
        raise _unauthorized()
    return principal


ApiCaller = Annotated[Principal, Depends(api_principal)]


# Pages: a session kept on the server, and a CSRF token on every form -------------------------

class SignInRequired(Exception):
    """Raised by page routes for anonymous visitors; the app redirects to the sign-in page."""


SESSION_SECRET = "sid"  # the cookie's key for the session's secret (the cookie holds no name)
SESSION_LIFETIME = timedelta(hours=12)


def page_principal(request: Request, services: ServicesDep) -> Principal:
    """The signed-in person, while their session lasts and the organisation file still gives
    them the role and teams they signed in with."""
    secret = request.session.get(SESSION_SECRET)
    with session_for(services.engine) as session:
        signed_in = session_of(session=session, secret=secret) if secret else None
        principal = principal_for(services.org, signed_in.email) if signed_in else None
        if signed_in is not None and (principal is None
                                      or principal.standing != signed_in.standing):
            end_session(session=session, secret=secret)
            principal = None
    if principal is None:
        request.session.pop(SESSION_SECRET, None)
        raise SignInRequired
    return principal


PageUser = Annotated[Principal, Depends(page_principal)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; forms carry it as `csrf_token`."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def require_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    expected = request.session.get("csrf", "")
    if not (expected and hmac.compare_digest(csrf_token.encode(), str(expected).encode())):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form has expired: reload the page")
