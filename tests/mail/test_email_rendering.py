"""What respondents and loyalty-team members read: every email kind, in Dutch and English."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from jinja2 import UndefinedError

from kringloop.mail.rendering import KINDS, LANGUAGES, Email, render
from tests.support.mail import context_for

SCRIPT = "<script>alert(1)</script>"


def visible_text(html: str) -> str:
    """Roughly what a reader sees in the HTML part: tags gone, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_acknowledgement_names_the_assignee_and_the_callback_time_in_dutch() -> None:
    email = render("acknowledgement", "nl", context_for("acknowledgement"))

    for body in (email.text, visible_text(email.html)):
        assert "Sanne Bakker" in body
        assert "woensdag 30 december om 15:00" in body
    assert email.subject.startswith("Anna,")
    assert email.text.startswith("Hoi Anna,")


def test_acknowledgement_tells_an_english_reader_the_time_in_their_own_time_zone() -> None:
    context = context_for("acknowledgement", "en", time_zone="America/New_York")

    email = render("acknowledgement", "en", context)

    assert "Wednesday 30 December at 09:00" in email.text


def test_acknowledgement_greets_an_unnamed_respondent_and_skips_a_missing_comment() -> None:
    context = context_for("acknowledgement", respondent_name=None, comment=None)

    email = render("acknowledgement", "nl", context)

    assert email.text.startswith("Hoi,\n")
    assert "None" not in email.text
    assert "Je schreef" not in email.text
    assert "blockquote" not in email.html


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_both_languages(kind: str, language: str) -> None:
    email = render(kind, language, context_for(kind, language))

    assert isinstance(email, Email)
    assert email.subject
    assert "\r" not in email.subject and "\n" not in email.subject
    assert email.text.strip()
    assert email.html.strip()
    assert f'<html lang="{language}">' in email.html
    assert "Fietsenwinkel De Spaak" in email.html
    assert "None" not in email.text + email.subject


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_anonymous_respondent_is_named_as_such_to_the_team(language: str) -> None:
    email = render(
        "assignment", language, context_for("assignment", language, respondent_name=None)
    )

    anonymous = {"nl": "een anonieme respondent", "en": "an anonymous respondent"}[language]
    assert anonymous in email.subject
    assert anonymous in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reassigned_case_says_why_without_blaming_a_colleague(language: str) -> None:
    fresh = render("assignment", language, context_for("assignment", language))
    handed_over = render(
        "assignment", language, context_for("assignment", language, reassigned=True)
    )

    assert handed_over.text != fresh.text
    reason = {"nl": "terugbelmoment is verstreken", "en": "callback time has passed"}[language]
    assert reason in handed_over.text
    assert reason not in fresh.text
    for blame in ("forgot", "failed", "fault", "vergeten", "schuld", "niet gedaan"):
        assert blame not in handed_over.text.lower()


@pytest.mark.parametrize("language", LANGUAGES)
def test_escalation_asks_the_lead_to_help_the_assignee(language: str) -> None:
    email = render("escalation", language, context_for("escalation", language))

    assert email.text.startswith({"nl": "Hoi Mark,", "en": "Hi Mark,"}[language])
    assert "Sanne Bakker" in email.text
    assert "https://kringloop.example/cases/42" in email.text
    assert 'href="https://kringloop.example/cases/42"' in email.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_unreachable_respondent_can_reply_with_a_time_that_suits_them(language: str) -> None:
    email = render("unreachable", language, context_for("unreachable", language))

    invitation = {"nl": "Antwoord gewoon op deze mail", "en": "Just reply to this email"}
    assert invitation[language] in email.text
    assert invitation[language] in email.html
    assert "3" in email.text


def test_closing_message_keeps_its_line_breaks_in_html() -> None:
    context = context_for("closing", message=f"Eerste regel.\nTweede regel met {SCRIPT}")

    email = render("closing", "nl", context)

    assert "Eerste regel.\nTweede regel" in email.text
    assert re.search(r'white-space:\s*pre-line;?">Eerste regel\.\nTweede regel', email.html)
    assert SCRIPT not in email.html
    assert "We hebben onze levertijden op de site eerlijker gemaakt." in email.text


# Context keys that are ours (not typed by a person), so they are left as they are.
NOT_USER_TEXT = {"language", "time_zone", "base_url", "case_url", "program"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_user_text_is_escaped_in_html(kind: str, language: str) -> None:
    context = {
        key: SCRIPT if isinstance(value, str) and key not in NOT_USER_TEXT else value
        for key, value in context_for(kind, language).items()
    }

    email = render(kind, language, context)

    assert SCRIPT not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html


def test_organisation_name_is_escaped_in_html_but_not_in_text() -> None:
    email = render("resurvey", "en", context_for("resurvey", "en", organisation="Bikes & <Co>"))

    assert "Bikes &amp; &lt;Co&gt;" in email.html
    assert "<Co>" not in email.html
    assert "recommend Bikes & <Co> to a friend or colleague?" in email.text


@pytest.mark.parametrize("kind", KINDS)
def test_missing_context_is_an_error_not_a_blank(kind: str) -> None:
    context = context_for(kind)
    del context["organisation"]

    with pytest.raises(UndefinedError, match="organisation"):
        render(kind, "nl", context)


def test_a_missing_time_zone_is_an_error_not_a_guess() -> None:
    context = context_for("reminder")
    del context["time_zone"]

    with pytest.raises(UndefinedError, match="time_zone"):
        render("reminder", "nl", context)


def test_a_naive_callback_time_is_refused() -> None:
    context = context_for("reminder", callback_due_at=datetime(2026, 12, 30, 14, 0))

    with pytest.raises(ValueError, match="naive"):
        render("reminder", "nl", context)


@pytest.mark.parametrize("kind", ["acknowledgement", "assignment", "reminder", "escalation"])
def test_subject_with_newline_from_user_text_is_refused(kind: str) -> None:
    context = context_for(kind, respondent_name="Anna\r\nBcc: victim@example.com")

    with pytest.raises(ValueError, match="line break"):
        render(kind, "nl", context)


def test_unknown_kind_or_language_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'welcome'"):
        render("welcome", "nl", context_for("reminder"))
    with pytest.raises(ValueError, match="'de'"):
        render("reminder", "de", context_for("reminder"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_resurvey_offers_eleven_one_click_scores(language: str) -> None:
    email = render("resurvey", language, context_for("resurvey", language))

    lines = [line for line in email.text.splitlines() if "/score/t0k3n/" in line]
    assert lines == [
        f"{score}: https://kringloop.example/score/t0k3n/{score}" for score in range(11)
    ]
    buttons = re.findall(
        r'<a href="https://kringloop.example/score/t0k3n/(\d+)" aria-label="([^"]+)"', email.html
    )
    assert [int(score) for score, _ in buttons] == list(range(11))
    assert all(label.startswith(f"{score} ") for score, label in buttons)
    question = {
        "nl": "Hoe waarschijnlijk is het dat je Fietsenwinkel De Spaak nu zou aanbevelen",
        "en": "How likely are you now to recommend Fietsenwinkel De Spaak to a friend",
    }[language]
    assert question in email.text
    assert question in email.html
