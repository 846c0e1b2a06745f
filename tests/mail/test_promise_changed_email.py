"""When the promise to call changes, the respondent hears it in a short, honest note from the
person who calls them now: what we promised first, who calls, by when, and a link to pick a
better time. No blame, and none of the team's own words."""

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
from tests.support.mail import context_for

FIRST = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # Tuesday 1 December, 15:00 in Amsterdam
AGAIN = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # Wednesday 2 December, 11:00 in Amsterdam
SAID = {
    "nl": ("dinsdag 1 december om 15:00", "woensdag 2 december om 11:00"),
    "en": ("Tuesday 1 December at 15:00", "Wednesday 2 December at 11:00"),
}
INTERNAL = ("escalat", "sla", "overdue", "te laat", "deadline", "reassign", "toegewezen",
            "case", "lead", "teamleider", "forgot", "vergeten", "failed", "fault", "schuld")


def letter(org: Organisation, settings: Settings, language: str,
           name: str = "Anna de Vries") -> emails.CaseLetter:
    """The note after the lead took Anna's case over: the case still holds the first promise."""
    opened = FIRST - timedelta(days=1)
    answer = SurveyResponse(id="p-1", program="customer", score=3, category="detractor",
                            name=name, email="anna@example.nl", language=language,
                            answered_at=opened, received_at=opened)
    lead = org.team("particulier").lead
    case = Case(id="case-p-1", response_id="p-1", program="customer", score=3,
                status="assigned", team_id="particulier", assignee_email=lead.email,
                assignee_name=lead.name, opened_at=opened, callback_due_at=FIRST)
    return emails.compose(kind="promise_changed", case=case, origin=answer, org=org,
                          settings=settings, promised_at=AGAIN)


def readable(email: Email) -> str:
    """Everything the respondent reads: the subject, the text, and the HTML without its tags."""
    return " ".join([email.subject, email.text, re.sub(r"<[^>]+>", " ", email.html)])


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_respondent_hears_who_calls_them_now_and_by_when(
    org: Organisation, settings: Settings, language: str,
) -> None:
    note = letter(org, settings, language)
    lead = org.team("particulier").lead

    email = note.render("promise_changed")

    assert note.context["first_promise"] == FIRST and note.context["promised_at"] == AGAIN
    assert note.reply_to == lead.email, "the answer goes to whoever calls now"
    first, again = SAID[language]
    for body in (email.text, re.sub(r"<[^>]+>", " ", email.html)):
        assert first in body, "the first promise is owned up to"
        assert again in body and "(Europe/Amsterdam)" in body
        assert lead.name in body
    assert email.text.rstrip().endswith(f"{lead.name}\n{org.name}"), "signed by a person"
    assert again in email.subject and email.subject.startswith("Anna, ")
    link = str(note.context["booking_url"])
    assert link in email.text and f'href="{link}"' in email.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_note_blames_nobody_and_speaks_no_team_language(
    org: Organisation, settings: Settings, language: str,
) -> None:
    text = readable(letter(org, settings, language).render("promise_changed")).lower()

    assert [word for word in INTERNAL if re.search(rf"\b{word}", text)] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_respondents_name_is_text_in_the_html(
    org: Organisation, settings: Settings, language: str,
) -> None:
    email = letter(org, settings, language, name="<b>Anna</b> de Vries").render(
        "promise_changed")

    assert "<b>Anna</b>" not in email.html
    assert "&lt;b&gt;Anna&lt;/b&gt;" in email.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_without_a_booking_link_the_respondent_is_asked_to_reply(language: str) -> None:
    email = render("promise_changed", language,
                   context_for("promise_changed", language, booking_url=None))

    assert "/b/" not in email.text + email.html
    reply = {"nl": "antwoord dan op deze mail", "en": "just reply to this email"}[language]
    assert reply in email.text.lower()
    assert "Mark Jansen" in email.text
