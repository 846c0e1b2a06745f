"""What the workspace pages share: who is reading and in which language, the layout's context,
posted forms with their CSRF check, refusal pages and the SLA clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from kringloop.org.access import Principal
from kringloop.org.organisation import TOOL_NAMES
from kringloop.refusal import Refused
from kringloop.rejections.rules import may_reject
from kringloop.services import Services
from kringloop.web.deps import SignInRequired, csrf_token, page_principal, require_csrf
from kringloop.web.pages.templates import LANGUAGES, accepted_language, render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


def reader(request: Request, services: Services) -> Principal | None:
    """The signed-in principal, or None for an anonymous visitor (pages open to both)."""
    try:
        return page_principal(request, services)
    except SignInRequired:
        return None


def outbox_open_to(services: Services, principal: Principal | None) -> bool:
    """The outbox exists only with the embedded SMTP sink, and only admins read it: it holds
    every email Kringloop sent, to respondents too. (Who can reach the port is not who may
    read it: another user of the machine, or a web page rebinding its DNS to 127.0.0.1.)"""
    return services.outbox is not None and principal is not None and principal.is_admin


def team_today_url(principal: Principal | None) -> str | None:
    """Where a member of a team (not its lead: a lead has the board) finds the team's
    callbacks due today, to lend a hand."""
    if principal is None or principal.is_admin or not principal.team_ids:
        return None
    team_id = min(principal.team_ids)
    return None if principal.leads(team_id) else f"/teams/{team_id}/cases?due=today"


def page(request: Request, services: Services, principal: Principal | None, template: str,
         *, status_code: int = 200, **context: object) -> HTMLResponse:
    """A workspace page in the reader's language, with what the layout needs."""
    if principal is not None and principal.language in LANGUAGES:
        language = principal.language
    else:
        language = accepted_language(request.headers.get("accept-language"))
    leads_a_team = principal is not None and (principal.is_admin or principal.role == "lead")
    return render(request, template, {
        "principal": principal, "csrf_token": csrf_token(request),
        "flash": request.session.pop("flash", None), "show_team_board": leads_a_team,
        "team_today_url": team_today_url(principal),
        "show_rejections": principal is not None and may_reject(principal, services.org),
        "show_outbox": outbox_open_to(services, principal),
        "show_sources": principal is not None and principal.is_admin,
        "tool_names": TOOL_NAMES,
        "organisation": services.org.name, **context,
    }, language=language, status_code=status_code)


def problem(request: Request, services: Services, principal: Principal | None, kind: str,
            status_code: int) -> HTMLResponse:
    """A friendly refusal: not_found, team_board_for_leads, expired_form, outbox_for_admins,
    sources_for_admins."""
    return page(request, services, principal, "problem.html", status_code=status_code,
                problem=kind)


async def posted(request: Request) -> dict[str, str]:
    """A posted form's fields. Our forms are urlencoded (no uploads), so they are read here
    rather than with python-multipart. A body over KRINGLOOP_MAX_BODY_BYTES never gets here
    (413 at the door: kringloop/web/request_limits.py); a NUL in a field is refused (422)."""
    if request.headers.get("content-type", "").partition(";")[0].strip() != \
            "application/x-www-form-urlencoded":
        return {}
    body = await request.body()
    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    for name, value in form.items():
        if "\x00" in name or "\x00" in value:
            raise Refused(422, "a form field must not contain NUL characters",
                           field=name.replace("\x00", ""))
    return form


def csrf_refusal(request: Request, services: Services, principal: Principal | None,
                 form: dict[str, str]) -> HTMLResponse | None:
    """None when the form carries this session's CSRF token; else the 403 page to show."""
    try:
        require_csrf(request, form.get("csrf_token", ""))
    except HTTPException:
        return problem(request, services, principal, "expired_form", 403)
    return None


def local_path(target: str | None, default: str = "/queue") -> str:
    """`target` if it is a path on this site, else `default`: never an open redirect."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or any(ch == "\\" or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target)):
        return default
    return target


# The SLA clock ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlaClock:
    """Where a callback stands: state is due, overdue, called_back or none (nothing to call)."""

    state: str
    parts: tuple[tuple[int, str], ...] = ()  # e.g. ((3, "h"), (20, "min"))


def sla_clock(*, due_at: datetime | None, called_back: bool, finished: bool,
              now: datetime | None = None) -> SlaClock:
    if called_back:
        return SlaClock("called_back")
    if finished or due_at is None:
        return SlaClock("none")
    left = due_at - (now or datetime.now(UTC))
    minutes = round(abs(left) / timedelta(minutes=1))
    days, rest = divmod(minutes, 24 * 60)
    units = [(days, "d"), *zip(divmod(rest, 60), ("h", "min"), strict=True)]
    while len(units) > 1 and units[0][0] == 0:
        units.pop(0)  # "3 h 20 min", not "0 d 3 h"
    shown = units[:2]
    while len(shown) > 1 and shown[-1][0] == 0:
        shown.pop()  # "2 h", not "2 h 0 min"
    return SlaClock("due" if left >= timedelta(0) else "overdue", tuple(shown))
