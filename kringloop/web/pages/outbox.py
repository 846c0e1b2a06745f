"""The embedded SMTP sink's mail, readable in the browser by admins (embedded mode only).

A sign-in link works for whoever holds it, so the outbox never shows a live one to anyone but
the person it was sent to: in another's email the link's secret is blanked out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kringloop.org.access import Principal
from kringloop.services import Services
from kringloop.web.deps import ServicesDep, SignInRequired
from kringloop.web.pages.rendering import outbox_open_to, page, problem, reader

router = APIRouter(include_in_schema=False)

SHOWN = 100
# A sign-in link's secret (token_urlsafe), after the path that redeems it.
_SIGN_IN_LINK = re.compile(r"(/login/magic/)[A-Za-z0-9_-]+")
HIDDEN_SECRET = "(hidden: only its recipient sees this link)"
# The sink names its files <UTC stamp>-<12 hex>.eml; nothing else is ever read (no path tricks).
_FILE_NAME = re.compile(r"^[0-9T]{8,30}-[0-9a-f]{12}\.eml$")


@dataclass(frozen=True)
class Mail:
    name: str
    sender: str
    to: str
    subject: str
    sent_at: datetime | None
    kind: str | None
    text: str
    html: str | None


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body((subtype,))
    return str(part.get_content()) if part is not None else None  # type: ignore[attr-defined]


def _hide_sign_in_links(text: str | None) -> str | None:
    return _SIGN_IN_LINK.sub(rf"\1{HIDDEN_SECRET}", text) if text is not None else None


def _read(path: Path, reader: Principal) -> Mail:
    """The email as `reader` may see it: a sign-in link in someone else's mail blanked out."""
    message: EmailMessage = message_from_bytes(path.read_bytes(), policy=default_policy)  # type: ignore[assignment]
    try:
        sent_at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    recipients = {address.lower() for _, address in getaddresses([str(message["To"] or "")])}
    own = reader.email.lower() in recipients
    text, html = _body(message, "plain") or "", _body(message, "html")
    return Mail(name=path.name, sender=str(message["From"] or ""), to=str(message["To"] or ""),
                subject=str(message["Subject"] or ""), sent_at=sent_at,
                kind=message["X-Kringloop-Kind"],
                text=text if own else _hide_sign_in_links(text) or "",
                html=html if own else _hide_sign_in_links(html))


def _access(request: Request, services: Services) -> tuple[Path, Principal] | Response:
    """(the folder, the admin reading it) or the refusal to show instead."""
    principal = reader(request, services)
    if services.outbox is None:
        return problem(request, services, principal, "not_found", 404)
    if principal is None:
        raise SignInRequired  # perhaps the admin, not yet signed in
    if not outbox_open_to(services, principal):
        return problem(request, services, principal, "outbox_for_admins", 403)
    return services.outbox, principal


def _message(folder: Path, name: str) -> Path | None:
    path = folder / name
    return path if _FILE_NAME.match(name) and path.is_file() else None


@router.get("/outbox")
def outbox(request: Request, services: ServicesDep) -> Response:
    access = _access(request, services)
    if isinstance(access, Response):
        return access
    folder, principal = access
    files = sorted((p for p in folder.glob("*.eml") if _FILE_NAME.match(p.name)),
                   key=lambda p: p.name, reverse=True)
    return page(request, services, principal, "outbox.html",
                mails=[_read(p, principal) for p in files[:SHOWN]], total=len(files),
                shown=SHOWN)


@router.get("/outbox/{name}")
def outbox_message(name: str, request: Request, services: ServicesDep) -> Response:
    access = _access(request, services)
    if isinstance(access, Response):
        return access
    folder, principal = access
    path = _message(folder, name)
    if path is None:
        return problem(request, services, principal, "not_found", 404)
    return page(request, services, principal, "outbox_message.html", mail=_read(path, principal))


@router.get("/outbox/{name}/html")
def outbox_message_html(name: str, request: Request, services: ServicesDep) -> Response:
    """The HTML body for the message page's sandboxed frame: no scripts, no forms, no fetches,
    even when opened on its own."""
    access = _access(request, services)
    if isinstance(access, Response):
        return access
    folder, principal = access
    path = _message(folder, name)
    html = _read(path, principal).html if path else None
    if html is None:
        return HTMLResponse("", status_code=404)
    return HTMLResponse(html, headers={
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
                                   "style-src 'unsafe-inline'; frame-ancestors 'self'",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})
