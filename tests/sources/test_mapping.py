"""A source's `[sources.fields]` turn a tool's answers into a Kringloop response: by the tool's
own identifiers, with the tool's obvious defaults, and a clear word when the score is missing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kringloop.org.organisation import SurveySource
from kringloop.sources.mapping import UnmappedAnswers, response_from
from kringloop.sources.reading import Answers

WEBSHOP = SurveySource(name="nps-webshop", kind="typeform", program="customer", fields={
    "score": "nps_score", "comment": "nps_reason", "respondent.id": "customer_id",
    "respondent.email": "email", "respondent.name": "name", "respondent.language": "language",
    "respondent.segment": "segment"})


def answers(**values: object) -> Answers:
    return Answers(response_id="tok-1", values=values,
                   answered_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC))


def test_the_tools_identifiers_become_our_response() -> None:
    response = response_from(answers(
        nps_score=3, nps_reason="Te laat bezorgd", customer_id=4411, email="anna@example.nl",
        name="Anna de Vries", language="nl-NL", segment="webshop"), source=WEBSHOP, defaults={})

    assert response.response_id == "nps-webshop:tok-1"
    assert response.program == "customer"
    assert (response.score, response.comment) == (3, "Te laat bezorgd")
    assert response.respondent is not None
    assert (response.respondent.id, response.respondent.email, response.respondent.language,
            response.respondent.segment) == ("4411", "anna@example.nl", "nl", "webshop")
    assert response.answered_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(("sent", "score"), [(3, 3), ("3", 3), (" 7 ", 7), (0.0, 0), (10, 10)])
def test_a_score_sent_as_text_or_a_whole_float_counts(sent: object, score: int) -> None:
    assert response_from(answers(nps_score=sent), source=WEBSHOP, defaults={}).score == score


@pytest.mark.parametrize("sent", [11, -1, "drie", 3.5, True, [3]])
def test_what_is_not_a_score_is_refused_naming_the_tools_field(sent: object) -> None:
    with pytest.raises(UnmappedAnswers, match="nps_score") as refused:
        response_from(answers(nps_score=sent), source=WEBSHOP, defaults={})
    assert refused.value.field == "score"


def test_a_missing_score_names_the_field_and_what_the_delivery_has() -> None:
    with pytest.raises(UnmappedAnswers) as refused:
        response_from(answers(score_nps=3, email="anna@example.nl"), source=WEBSHOP,
                      defaults={})
    assert refused.value.field == "score"
    assert "'nps_score'" in str(refused.value) and "'score_nps'" in str(refused.value)


def test_a_skipped_comment_is_no_problem() -> None:
    response = response_from(answers(nps_score=2, nps_reason=""), source=WEBSHOP, defaults={})
    assert response.comment is None and response.respondent is None


@pytest.mark.parametrize(("sent", "language"), [
    ("nl", "nl"), ("NL", "nl"), ("nl_BE", "nl"), ("Dutch", "nl"), ("en-GB", "en"),
    ("English", "en"), ("de", None)])
def test_a_language_as_tools_send_it_is_understood(sent: str, language: str | None) -> None:
    response = response_from(answers(nps_score=3, language=sent, email="a@example.nl"),
                             source=WEBSHOP, defaults={})
    assert response.respondent is not None and response.respondent.language == language


def test_a_tools_defaults_apply_unless_the_source_names_its_own() -> None:
    delighted = SurveySource(name="nps-shops", kind="delighted", program="customer",
                             fields={"respondent.id": "klantnummer"})
    defaults = {"score": "score", "comment": "comment", "respondent.email": "person.email"}

    response = response_from(answers(score=4, comment="Lange wachttijd", klantnummer="K-9",
                                     **{"person.email": "bo@example.nl"}),
                             source=delighted, defaults=defaults)

    assert (response.score, response.comment) == (4, "Lange wachttijd")
    assert response.respondent is not None
    assert (response.respondent.id, response.respondent.email) == ("K-9", "bo@example.nl")


def test_an_invalid_email_is_refused_naming_our_field_and_theirs() -> None:
    with pytest.raises(UnmappedAnswers) as refused:
        response_from(answers(nps_score=3, email="not an address"), source=WEBSHOP, defaults={})
    assert refused.value.field == "respondent.email"
    assert "'email'" in str(refused.value)
