"""The unsubscribe link of our re-survey and candidate-NPS emails (`/u/{token}`).

Mail scanners open every link, so opening it changes nothing: it shows a button. The button's
POST, or the one-click POST a mail program sends by itself (RFC 8058: the body
`List-Unsubscribe=One-Click`, no cookie, no form token), puts the address on the suppression
list, which withholds every later email to it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError

from kringloop.database import session_for
from kringloop.mail.suppression import suppress
from kringloop.security.signed_links import InvalidLink, Unsubscribe, read_unsubscribe_token
from kringloop.services import Services
from kringloop.web.deps import ServicesDep
from kringloop.web.pages.respondent import link_invalid, templates
from kringloop.web.pages.score_answers import private

router = APIRouter(tags=["respondents"])


def _page(request: Request, services: Services, asked: Unsubscribe, *,
          done: bool) -> HTMLResponse:
    return private(templates.TemplateResponse(request, "unsubscribe.html", {
        "language": asked.language, "organisation": services.org.name, "done": done}))


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The button that unsubscribes; opening the page changes nothing."""
    try:
        asked = read_unsubscribe_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return link_invalid(request, str(invalid))
    return _page(request, services, asked, done=False)


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """Put the link's address on the suppression list (again: the first time stays)."""
    try:
        asked = read_unsubscribe_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return link_invalid(request, str(invalid))
    with session_for(services.engine) as session:
        suppress(session=session, email=asked.email, reason="unsubscribed",
                 source="email link", now=datetime.now(UTC))
        try:
            session.commit()
        except IntegrityError:
            pass  # a second click at the same moment (a mail program's and the person's)
    return _page(request, services, asked, done=True)
