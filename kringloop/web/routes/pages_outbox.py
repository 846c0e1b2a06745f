"""The embedded SMTP sink's mail, readable in the browser (embedded mode only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kringloop.access import Principal
from kringloop.web.deps import Services, ServicesDep
from kringloop.web.routes.pages import (
    listens_on_loopback_only,
    outbox_open_to,
    page,
    problem,
    reader,
)

router = APIRouter(include_in_schema=False)

SHOWN = 100
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


def _read(path: Path) -> Mail:
    message: EmailMessage = message_from_bytes(path.read_bytes(), policy=default_policy)  # type: ignore[assignment]
    try:
        sent_at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    return Mail(name=path.name, sender=str(message["From"] or ""), to=str(message["To"] or ""),
                subject=str(message["Subject"] or ""), sent_at=sent_at,
                kind=message["X-Kringloop-Kind"], text=_body(message, "plain") or "",
                html=_body(message, "html"))


def _access(request: Request, services: Services) -> tuple[Path | None, Principal | None,
                                                              Response | None]:
    """(the folder, the reader, None) or the refusal to show instead."""
    principal = reader(request, services)
    if services.outbox is None:
        return None, principal, problem(request, services, principal, "not_found", 404)
    if not outbox_open_to(services, principal):
        return None, principal, problem(request, services, principal, "outbox_for_admins", 403)
    return services.outbox, principal, None


def _message(folder: Path, name: str) -> Path | None:
    path = folder / name
    return path if _FILE_NAME.match(name) and path.is_file() else None


@router.get("/outbox")
async def outbox(request: Request, services: ServicesDep) -> Response:
    folder, principal, refused = _access(request, services)
    if refused:
        return refused
    assert folder is not None
    files = sorted((p for p in folder.glob("*.eml") if _FILE_NAME.match(p.name)),
                   key=lambda p: p.name, reverse=True)
    return page(request, services, principal, "outbox.html",
                mails=[_read(p) for p in files[:SHOWN]], total=len(files), shown=SHOWN,
                open_to_everyone=listens_on_loopback_only(services))


@router.get("/outbox/{name}")
async def outbox_message(name: str, request: Request, services: ServicesDep) -> Response:
    folder, principal, refused = _access(request, services)
    if refused:
        return refused
    path = _message(folder, name) if folder else None
    if path is None:
        return problem(request, services, principal, "not_found", 404)
    return page(request, services, principal, "outbox_message.html", mail=_read(path))


@router.get("/outbox/{name}/html")
async def outbox_message_html(name: str, request: Request, services: ServicesDep) -> Response:
    """The HTML body for the message page's sandboxed frame: no scripts, no forms, no fetches,
    even when opened on its own."""
    folder, _, refused = _access(request, services)
    if refused:
        return refused
    path = _message(folder, name) if folder else None
    html = _read(path).html if path else None
    if html is None:
        return HTMLResponse("", status_code=404)
    return HTMLResponse(html, headers={
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
                                   "style-src 'unsafe-inline'; frame-ancestors 'self'",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})
