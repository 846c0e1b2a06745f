"""Signing in to the workspace, by one-time emailed link or by password, and signing out."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kringloop.database import session_for
from kringloop.org.access import Principal, principal_for
from kringloop.security.credentials import (
    MAGIC_LINK_LIFETIME,
    end_session,
    magic_link_usable,
    password_matches,
    redeem_magic_link,
    start_session,
)
from kringloop.services import Services
from kringloop.web.deps import SESSION_LIFETIME, SESSION_SECRET, ServicesDep, csrf_token
from kringloop.web.pages.rendering import csrf_refusal, local_path, page, posted, reader
from kringloop.web.pages.sign_in_links import send_sign_in_link
from kringloop.web.rate_limits import limit_sign_in, may_mail_sign_in_link

router = APIRouter(include_in_schema=False)
log = logging.getLogger("kringloop.web")
LINK_MINUTES = int(MAGIC_LINK_LIFETIME.total_seconds() // 60)


def _start_session(request: Request, services: Services, principal: Principal) -> None:
    """A fresh session for the person who just proved who they are, with a new CSRF token.
    The cookie gets the session's random secret; who they are stays on the server."""
    with session_for(services.engine) as session:
        secret = start_session(session=session, email=principal.email,
                               standing=principal.standing,
                               lifetime=SESSION_LIFETIME)
    request.session.clear()
    request.session[SESSION_SECRET] = secret
    csrf_token(request)


def _sign_in_form(request: Request, services: Services, *, next_path: str, email: str = "",
                  wrong_password: bool = False) -> HTMLResponse:
    return page(request, services, None, "login.html",
                status_code=401 if wrong_password else 200,
                next_path=next_path, email=email, wrong_password=wrong_password,
                minutes=LINK_MINUTES)


@router.get("/login")
def sign_in_page(request: Request, services: ServicesDep,
                 next_: Annotated[str, Query(alias="next")] = "/queue") -> Response:
    if reader(request, services) is not None:
        return RedirectResponse(local_path(next_), status_code=303)
    return _sign_in_form(request, services, next_path=local_path(next_))


async def _send_quietly(services: Services, principal: Principal) -> None:
    try:
        await send_sign_in_link(services, principal)
    except Exception:  # the visitor already saw "check your inbox"; the operator sees why not
        log.exception("could not send a sign-in link to %s", principal.email)


@router.post("/login/link")
async def email_sign_in_link(request: Request, services: ServicesDep,
                             background: BackgroundTasks) -> HTMLResponse:
    """The same answer for any address, so nobody learns who is a member; only members get
    mail, sent after the answer so that the timing tells nothing either."""
    form = await posted(request)
    if refused := csrf_refusal(request, services, None, form):
        return refused
    email = form.get("email", "").strip()
    await limit_sign_in(request, email)
    principal = principal_for(services.org, email) if email else None
    if principal is not None and await may_mail_sign_in_link(request, principal.email):
        background.add_task(_send_quietly, services, principal)
    return page(request, services, None, "login_sent.html", email=email, minutes=LINK_MINUTES)


@router.post("/login/password")
async def sign_in_with_password(request: Request, services: ServicesDep) -> Response:
    form = await posted(request)
    if refused := csrf_refusal(request, services, None, form):
        return refused
    email = form.get("email", "").strip().lower()
    next_path = local_path(form.get("next"))
    await limit_sign_in(request, email)

    def check() -> bool:  # argon2 takes a while on purpose: not on the event loop
        with session_for(services.engine) as session:
            return password_matches(session=session, email=email,
                                    password=form.get("password", ""))

    principal = principal_for(services.org, email) if await run_in_threadpool(check) else None
    if principal is None:
        return _sign_in_form(request, services, next_path=next_path, email=email,
                             wrong_password=True)
    await run_in_threadpool(_start_session, request, services, principal)
    return RedirectResponse(next_path, status_code=303)


@router.get("/login/magic/{secret}")
def sign_in_link_page(secret: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The link's page, with one button that signs in. Mail scanners (Safe Links, antivirus)
    open the links in an email before its reader does: opening the link must not use it up."""
    with session_for(services.engine) as session:
        if not magic_link_usable(session=session, secret=secret):
            return page(request, services, None, "link_invalid.html", status_code=400)
    return page(request, services, None, "login_magic.html", secret=secret,
                minutes=LINK_MINUTES)


@router.post("/login/magic/{secret}")
async def follow_sign_in_link(secret: str, request: Request, services: ServicesDep) -> Response:
    form = await posted(request)
    if refused := csrf_refusal(request, services, None, form):
        return refused
    return await run_in_threadpool(_redeem, request, services, secret)


def _redeem(request: Request, services: Services, secret: str) -> Response:
    """The link's one use: a session for its member, or the page saying the link is spent."""
    with session_for(services.engine) as session:
        email = redeem_magic_link(session=session, secret=secret)
    principal = principal_for(services.org, email) if email else None
    if principal is None:  # unknown, used, expired, or no longer in the organisation file
        return page(request, services, None, "link_invalid.html", status_code=400)
    _start_session(request, services, principal)
    return RedirectResponse("/queue", status_code=303)


@router.post("/logout")
async def sign_out(request: Request, services: ServicesDep) -> Response:
    form = await posted(request)
    return await run_in_threadpool(_end, request, services, form)


def _end(request: Request, services: Services, form: dict[str, str]) -> Response:
    if refused := csrf_refusal(request, services, reader(request, services), form):
        return refused
    if secret := request.session.get(SESSION_SECRET):
        with session_for(services.engine) as session:
            end_session(session=session, secret=secret)  # a copy of the cookie is void too
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
