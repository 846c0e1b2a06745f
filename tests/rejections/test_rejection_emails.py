"""What the applicant reads: warm, specific, their own reasons, a tip, a person to call."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kringloop.mail.rendering import render
from kringloop.org.organisation import Organisation

SCRIPT = "<script>alert(1)</script>"
DIPLOMA = "Voor deze rol is het diploma Fietstechnicus niveau 3 nodig, en dat heb je (nog) niet."
SATURDAYS = "We zoeken iemand die elke zaterdag kan werken; jij gaf aan dat dat niet lukt."


def context(language: str = "nl", **overrides: Any) -> dict[str, Any]:
    return {
        "organisation": "Fietsenwinkel De Spaak", "language": language,
        "time_zone": "Europe/Amsterdam", "base_url": "https://kringloop.example",
        "applicant_name": "Lisa Jansen", "vacancy_title": "Fietsenmaker", "stage": "interview",
        "reasons": [{"code": "certification", "sentence": DIPLOMA}],
        "recruiter_name": "Thijs Willems", "team_name": "Werving & Selectie",
        "feedback_url": "https://kringloop.example/f/t0k3n", **overrides}


def visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_dutch_rejection_is_personal_concrete_and_signed_by_a_person() -> None:
    email = render("rejection", "nl", context())

    assert email.subject == "Lisa, over je sollicitatie als Fietsenmaker"
    assert email.text.startswith("Hoi Lisa,\n")
    assert "Dank je wel voor je sollicitatie als Fietsenmaker en voor het gesprek" in email.text
    assert DIPLOMA in email.text
    assert "Een tip voor een volgende keer:" in email.text
    assert "verkort of deeltijdtraject" in email.text
    assert "https://kringloop.example/f/t0k3n" in email.text
    assert email.text.rstrip().endswith("Thijs Willems\nWerving & Selectie, Fietsenwinkel De Spaak")
    for words in ("Lisa", "Fietsenmaker", "niveau 3 nodig", "Thijs Willems"):
        assert words in visible(email.html)
    assert 'href="https://kringloop.example/f/t0k3n"' in email.html
    for boilerplate in ("veel sollicitaties", "Geachte", "helaas", "andere kandidaten"):
        assert boilerplate.lower() not in email.text.lower()


def test_two_reasons_give_two_tips_and_the_same_code_twice_one() -> None:
    two = render("rejection", "nl", context(reasons=[
        {"code": "certification", "sentence": DIPLOMA},
        {"code": "availability", "sentence": SATURDAYS}]))
    same = render("rejection", "nl", context(reasons=[
        {"code": "certification", "sentence": DIPLOMA},
        {"code": "certification", "sentence": "Ook het APK-certificaat ontbreekt nog."}]))

    assert DIPLOMA in two.text and SATURDAYS in two.text
    assert "Twee tips voor een volgende keer:" in two.text
    assert "beschikbaarheid" in two.text
    assert "Een tip voor een volgende keer:" in same.text
    assert same.text.count("- ") == 1


def test_the_english_rejection_says_the_same_in_english() -> None:
    email = render("rejection", "en", context("en", stage="final", reasons=[
        {"code": "driving-licence",
         "sentence": "The pickup van needs a B licence, which you don't have yet."}]))

    assert email.subject == "Lisa, about your application as Fietsenmaker"
    assert email.text.startswith("Hi Lisa,\n")
    assert "until the very last round" in email.text
    assert "The pickup van needs a B licence, which you don't have yet." in email.text
    assert "A tip for next time:" in email.text and "driving licence" in email.text
    assert "Kind regards,\nThijs Willems" in email.text


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_reason_sentence_is_shown_verbatim_and_escaped_in_html(language: str) -> None:
    sentence = f"Je CV noemde {SCRIPT} & niets over e-bikes.\nEn geen rijbewijs."
    email = render("rejection", language, context(language, reasons=[
        {"code": "experience", "sentence": sentence}]))

    assert sentence in email.text
    assert SCRIPT not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; niets" in email.html


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_reason_code_of_the_organisation_file_has_a_tip(
    org: Organisation, language: str,
) -> None:
    heading = {"nl": "tip voor een volgende keer", "en": "tip for next time"}[language]
    for code in org.programs["candidate"].reason_codes:
        email = render("rejection", language, context(language, reasons=[
            {"code": code, "sentence": DIPLOMA}]))
        assert heading in email.text.lower(), code


def test_a_code_without_a_tip_gets_no_tip_section() -> None:
    email = render("rejection", "nl", context(reasons=[{"code": "new-code", "sentence": DIPLOMA}]))

    assert "tip" not in email.text.lower()
    assert DIPLOMA in email.text


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_candidate_survey_offers_eleven_one_click_scores(language: str) -> None:
    links = [(score, f"https://kringloop.example/c/t{score}") for score in range(11)]
    email = render("cnps", language, {**context(language), "score_links": links})

    assert [line for line in email.text.splitlines() if "/c/t" in line] == [
        f"{score}: https://kringloop.example/c/t{score}" for score in range(11)]
    question = {"nl": "als werkgever zou aanbevelen", "en": "as an employer to a friend"}
    assert question[language] in email.text
    assert "Fietsenmaker" in email.text


def test_the_feedback_call_acknowledgement_says_who_calls_when_and_asks_for_a_number() -> None:
    from datetime import UTC, datetime

    base = {"organisation": "Fietsenwinkel De Spaak", "language": "nl",
            "time_zone": "Europe/Amsterdam", "base_url": "https://kringloop.example",
            "respondent_name": "Lisa Jansen", "assignee_name": "Thijs Willems",
            "callback_due_at": datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
            "vacancy_title": "Fietsenmaker"}

    with_phone = render("feedback_call", "nl", base | {"phone": "06 12345678"})
    without = render("feedback_call", "nl", base | {"phone": None})

    assert "Thijs Willems" in with_phone.text
    # The time says whose clock it is: the applicant may live abroad.
    assert ("uiterlijk donderdag 3 december om 10:00 (tijd in Amsterdam) op 06 12345678"
            in with_phone.text)
    assert "telefoonnummer" not in with_phone.text
    assert "Ik heb nog geen telefoonnummer van je" in without.text

