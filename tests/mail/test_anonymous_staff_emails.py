"""An anonymous employee cannot be called: every email about their case to the person working it
(or to the lead) says to answer through the anonymous conversation on the case page, and never
to call. A customer's case still asks for a call."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from kringloop.cases import emails
from kringloop.cases.models import Case
from kringloop.mail.rendering import LANGUAGES, Email, render
from kringloop.org.organisation import Organisation
from kringloop.responses.models import SurveyResponse
from kringloop.settings import Settings

TEAM_KINDS = ("assignment", "reminder", "escalation", "respondent_update", "callback_booked")
# Words that ask for a phone call, whole words only ("callback" too: there is none to make).
CALLING = {
    "nl": re.compile(r"\b(?:(?:ge|terug)?bel(?:t|d|de|len|moment|afspraak)?|terugbel\w*"
                     r"|telefo\w*)\b"),
    "en": re.compile(r"\b(?:call\w*|phon\w*)\b"),
}
CONVERSATION = {"nl": "anonieme gesprek", "en": "anonymous conversation"}


def letter(kind: str, org: Organisation, settings: Settings, *, program: str
           ) -> emails.CaseLetter:
    """The `kind` email about a low score in `program`, to whoever the email is for."""
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    team, member = {"employee": ("people", "rachid.aziz@fietsenwinkel.example"),
                    "customer": ("particulier", "bram.degroot@fietsenwinkel.example")}[program]
    answer = SurveyResponse(id="a-1", program=program, score=3, category="detractor",
                            comment="Het rooster verandert steeds.", language="nl",
                            answered_at=now, received_at=now)
    case = Case(id="case-a-1", response_id="a-1", program=program, score=3, status="assigned",
                team_id=team, assignee_email=member, opened_at=now,
                callback_due_at=now + timedelta(days=1))
    return emails.compose(kind=kind, case=case, origin=answer, org=org, settings=settings,
                          now=now)


def read(kind: str, language: str, composed: emails.CaseLetter) -> tuple[Email, str]:
    """The email in `language`, and every word a reader sees in it (subject, text, HTML)."""
    email = render(kind, language, composed.context | {"language": language})
    shown = " ".join([email.subject, email.text, re.sub(r"<[^>]+>", " ", email.html)])
    return email, " ".join(shown.split()).lower()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", TEAM_KINDS)
def test_an_anonymous_employees_case_is_answered_through_the_conversation_never_by_phone(
    org: Organisation, settings: Settings, kind: str, language: str,
) -> None:
    composed = letter(kind, org, settings, program="employee")

    email, seen = read(kind, language, composed)

    assert composed.context["anonymous"] is True
    assert CALLING[language].findall(seen) == []
    assert CONVERSATION[language] in seen
    assert f"{settings.base_url}/cases/case-a-1" in email.text, "where the conversation is"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", TEAM_KINDS)
def test_a_customers_case_still_asks_for_a_call(
    org: Organisation, settings: Settings, kind: str, language: str,
) -> None:
    composed = letter(kind, org, settings, program="customer")

    _, seen = read(kind, language, composed)

    assert composed.context["anonymous"] is False
    assert CALLING[language].findall(seen) != []
    assert CONVERSATION[language] not in seen


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reassigned_anonymous_case_speaks_of_a_reply_not_a_callback(
    org: Organisation, settings: Settings, language: str,
) -> None:
    composed = letter("assignment", org, settings, program="employee")

    _, seen = read("assignment", language, composed._replace(
        context=composed.context | {"reassigned": True}))

    assert CALLING[language].findall(seen) == []
    assert {"nl": "antwoordmoment is verstreken", "en": "reply time has passed"}[language] in seen
