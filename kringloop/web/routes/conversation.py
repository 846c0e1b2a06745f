"""An anonymous employee's private conversation link (`/e/{token}`): they read the team's replies
and answer, and no one learns who they are. No account, no cookie, no address: the signed link
is the only key, bound to one case, and nobody stores it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kringloop.case_queries import (
    CLOSED_STATUSES,
    case_with_response,
    has_conversation,
    timeline_of,
)
from kringloop.database import session_for
from kringloop.models import Case, RelayMessageIn, SurveyResponse
from kringloop.settings import Settings
from kringloop.signed_links import (
    InvalidLink,
    conversation_form_token,
    conversation_token,
    is_conversation_form_token,
    read_conversation_token,
)
from kringloop.web import case_actions
from kringloop.web.deps import Services, ServicesDep
from kringloop.web.errors import ApiError
from kringloop.web.pages import templates
from kringloop.web.routes.pages import posted

router = APIRouter(include_in_schema=False)

# The token is in the address: keep it out of referrers, caches, search engines and frames.
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
           "X-Robots-Tag": "noindex, nofollow", "X-Frame-Options": "DENY"}
RELAYED = ("relay_message", "relay_reply")


def conversation_link(settings: Settings, case_id: str) -> str:
    """The employee's private link to their case's conversation (made, never stored)."""
    return f"{settings.base_url}/e/{conversation_token(settings.signing_key, case_id=case_id)}"


@dataclass(frozen=True)
class Message:
    from_team: bool
    author: str  # the member's name; the employee has none
    at: str
    text: str


@dataclass(frozen=True)
class Conversation:
    case: Case
    origin: SurveyResponse
    messages: list[Message]

    @property
    def open(self) -> bool:
        return self.case.resolved_at is None and self.case.status not in CLOSED_STATUSES


def _moment(at: datetime, language: str, time_zone: str) -> str:
    return format_datetime(at, "d MMM yyyy HH:mm", tzinfo=ZoneInfo(time_zone), locale=language)


def _conversation(services: Services, token: str) -> Conversation | None:
    """The conversation the link opens; None for a forged, expired or misplaced link."""
    try:
        case_id = read_conversation_token(services.settings.signing_key, token)
    except InvalidLink:
        return None
    with session_for(services.engine) as session:
        found = case_with_response(session=session, case_id=case_id)
        if found is None or not has_conversation(*found):
            return None
        case, origin = found
        entries = [e for e in timeline_of(session=session, case_id=case_id) if e.kind in RELAYED]
    assert isinstance(origin, SurveyResponse)
    zone = services.org.team(case.team_id).time_zone if case.team_id else "Europe/Amsterdam"
    return Conversation(case=case, origin=origin, messages=[
        Message(from_team=e.kind == "relay_reply",
                author=e.actor if e.kind == "relay_reply" else "",
                at=_moment(e.at, origin.language, zone), text=e.detail) for e in entries])


def _page(request: Request, services: Services, token: str, conversation: Conversation | None,
          *, status_code: int = 200, problem: str | None = None, text: str = "") -> Response:
    if conversation is None:
        response: Response = templates.TemplateResponse(
            request, "conversation_invalid.html", {"language": "nl"}, status_code=404)
    else:
        response = templates.TemplateResponse(request, "conversation.html", {
            "language": conversation.origin.language, "conversation": conversation,
            "organisation": services.org.name, "problem": problem, "text": text,
            "form_token": conversation_form_token(services.settings.signing_key, token),
        }, status_code=status_code)
    response.headers.update(PRIVATE)
    return response


@router.get("/e/{token}", response_class=HTMLResponse)
async def read_conversation(token: str, request: Request, services: ServicesDep) -> Response:
    return _page(request, services, token, _conversation(services, token))


@router.post("/e/{token}", response_class=HTMLResponse)
async def write_in_conversation(token: str, request: Request, services: ServicesDep
                                ) -> Response:
    """The employee's answer goes to the case (a workflow update), then back to the page."""
    conversation = _conversation(services, token)
    if conversation is None:
        return _page(request, services, token, None)
    form = await posted(request)
    text = form.get("text", "")
    if not is_conversation_form_token(services.settings.signing_key, token,
                                      form.get("form_token", "")):
        return _page(request, services, token, conversation, status_code=403,
                     problem="expired_form", text=text)
    try:
        await case_actions.relay_employee_message(
            services, conversation.case.id, RelayMessageIn(text=text))
    except ValidationError as invalid:
        kind = invalid.errors()[0]["type"]
        problem = {"string_too_short": "empty", "string_too_long": "too_long"}.get(kind, "invalid")
        return _page(request, services, token, conversation, status_code=422, problem=problem,
                     text=text)
    except ApiError as refused:
        return _page(request, services, token, _conversation(services, token),
                     status_code=refused.status_code, problem="closed", text=text)
    return RedirectResponse(f"/e/{token}#sent", status_code=303,
                            headers={"Referrer-Policy": "no-referrer"})
