"""An anonymous employee's conversation with the people team: the private link that opens
it (signed for one case, made and never stored) and the messages both sides wrote, as steps
on the case's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from kringloop.cases.models import Case
from kringloop.cases.queries import (
    CLOSED_STATUSES,
    case_with_response,
    has_conversation,
    timeline_of,
)
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse
from kringloop.security.signed_links import InvalidLink, conversation_token, read_conversation_token
from kringloop.services import Services
from kringloop.settings import Settings

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


def conversation_of(services: Services, token: str) -> Conversation | None:
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
