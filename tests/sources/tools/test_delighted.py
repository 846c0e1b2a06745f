"""A detractor's Delighted response reaches Kringloop as Delighted posts it: signed with the
project's API key in X-Delighted-Webhook-Signature, shaped as the documented survey_response
and unsubscribe examples (https://app.delighted.com/docs/api/webhooks). The score arrives
first (`survey_response.created`), the comment follows (`survey_response.updated`), and an
unsubscribe tells Kringloop to send that person nothing more."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kringloop.sources.reading import (
    Answers,
    Delivery,
    Ignored,
    SignatureRefused,
    UnreadableDelivery,
    Unsubscribe,
)
from kringloop.sources.tools.delighted import TOOL
from tests.support.survey_tools import delighted_headers

API_KEY = "dlt_9f3b2c7e1a4d8b6c5e0f2a9d7c3b1e8f"
EXAMPLES = Path(__file__).parent.parent / "examples"
CREATED = (EXAMPLES / "delighted_survey_response_created.json").read_bytes()
UPDATED = (EXAMPLES / "delighted_survey_response_updated.json").read_bytes()
UNSUBSCRIBED = (EXAMPLES / "delighted_unsubscribe_created.json").read_bytes()
NOW = datetime(2026, 11, 23, 9, 5, tzinfo=UTC).timestamp()
COMMENT = ("De monteur kwam twee keer niet opdagen en niemand belde terug. Zo raak ik mijn "
           "vertrouwen in jullie kwijt.")


def as_posted(body: bytes, *, api_key: str = API_KEY) -> Delivery:
    return Delivery(body=body, headers=delighted_headers(api_key, body))


def changed(body: bytes, **event_data: object) -> bytes:
    payload = json.loads(body)
    payload["event_data"].update(event_data)
    return json.dumps(payload).encode()


def test_a_signed_score_reads_as_a_new_response_with_the_person_and_their_properties() -> None:
    delivery = as_posted(CREATED)
    TOOL.verify(delivery, secret=API_KEY, now=NOW)

    answers = TOOL.read(delivery)

    assert isinstance(answers, Answers)
    assert answers.response_id == "81532"
    assert answers.event == "created"
    assert answers.answered_at == datetime(2026, 11, 23, 9, 2, 17, tzinfo=UTC)
    assert answers.values["score"] == 3 and type(answers.values["score"]) is int
    assert "comment" not in answers.values
    assert {key: answers.values[key] for key in (
        "person.id", "person.email", "person.name", "survey_type")} == {
        "person.id": "20417", "person.email": "anna.devries@example.nl",
        "person.name": "Anna de Vries", "survey_type": "nps"}
    for name, value in {"klant_id": "KL-20417", "taal": "nl", "segment": "particulier"}.items():
        assert answers.values[name] == value
        assert answers.values[f"person_properties.{name}"] == value


def test_the_comment_that_follows_reads_as_an_update_of_the_same_response() -> None:
    delivery = as_posted(UPDATED)
    TOOL.verify(delivery, secret=API_KEY, now=NOW)

    answers = TOOL.read(delivery)

    assert isinstance(answers, Answers)
    assert answers.response_id == "81532"
    assert answers.event == "updated"
    assert answers.answered_at == datetime(2026, 11, 23, 9, 5, 11, tzinfo=UTC)
    assert answers.values["comment"] == COMMENT
    assert answers.values["additional_answers.enum_Rb7KmQ"] == [
        "Afspraak niet nagekomen", "Niet teruggebeld"]


def test_delighteds_own_fields_answer_for_ours_but_the_customer_id_is_the_sources_to_name(
) -> None:
    assert TOOL.kind == "delighted"
    assert TOOL.signature_header == "x-delighted-webhook-signature"
    assert dict(TOOL.default_fields) == {
        "score": "score", "comment": "comment", "respondent.email": "person.email",
        "respondent.name": "person.name", "respondent.phone": "person.phone_number"}


def test_a_property_named_like_a_delighted_field_does_not_take_that_fields_place() -> None:
    properties = {"score": "hoog", "comment": "VIP-klant"}
    answers = TOOL.read(as_posted(changed(CREATED, person_properties=properties)))

    assert isinstance(answers, Answers)
    assert answers.values["score"] == 3
    assert "comment" not in answers.values
    assert answers.values["person_properties.score"] == "hoog"
    assert answers.values["person_properties.comment"] == "VIP-klant"


def test_an_unsubscribe_tells_kringloop_to_mail_that_person_no_more() -> None:
    delivery = as_posted(UNSUBSCRIBED)
    TOOL.verify(delivery, secret=API_KEY, now=NOW)

    assert TOOL.read(delivery) == Unsubscribe(email="anna.devries@example.nl")


def test_an_event_kringloop_does_not_act_on_is_ignored() -> None:
    body = json.dumps({"event_type": "survey_response.deleted", "event_id": "x",
                       "event_data": {"id": "81532"}}).encode()

    reading = TOOL.read(as_posted(body))

    assert isinstance(reading, Ignored)
    assert "survey_response.deleted" in reading.reason


def test_a_delivery_signed_with_another_projects_api_key_is_refused() -> None:
    with pytest.raises(SignatureRefused, match=r"does not match the body.*API key"):
        TOOL.verify(as_posted(UPDATED, api_key="dlt_another_project"), secret=API_KEY,
                    now=NOW)


def test_a_delivery_without_a_signature_is_refused_naming_the_header() -> None:
    unsigned = Delivery(body=UPDATED, headers={"content-type": "application/json"})

    with pytest.raises(SignatureRefused, match="X-Delighted-Webhook-Signature header is "
                                               "missing"):
        TOOL.verify(unsigned, secret=API_KEY, now=NOW)


def test_a_body_altered_after_signing_is_refused() -> None:
    headers = delighted_headers(API_KEY, UPDATED)
    altered = Delivery(body=UPDATED.replace(b'"score": 3', b'"score": 9'), headers=headers)

    with pytest.raises(SignatureRefused, match="does not match the body"):
        TOOL.verify(altered, secret=API_KEY, now=NOW)


def test_a_signature_that_is_not_a_sha256_digest_is_refused_saying_what_it_should_be() -> None:
    delivery = Delivery(body=UPDATED, headers={"x-delighted-webhook-signature": "sha1=abc"})

    with pytest.raises(SignatureRefused, match=r"must be sha256=<hex HMAC-SHA256"):
        TOOL.verify(delivery, secret=API_KEY, now=NOW)


@pytest.mark.parametrize(("body", "field"), [
    (b"<xml/>", "body"),
    (b'["survey_response.created"]', "body"),
    (b'{"event_data": {}}', "event_type"),
    (b'{"event_type": "survey_response.created"}', "event_data"),
    (changed(CREATED, id=None), "event_data.id"),
    (changed(CREATED, score="drie"), "event_data.score"),
    (changed(CREATED, person=None), "event_data.person"),
    (changed(CREATED, person_properties=["KL-20417"]), "event_data.person_properties"),
    (changed(UPDATED, updated_at="gisteren"), "event_data.updated_at"),
    (changed(UNSUBSCRIBED, person={"id": "20417"}), "event_data.person.email"),
])
def test_a_delivery_not_shaped_as_delighted_documents_is_unreadable_naming_the_field(
    body: bytes, field: str,
) -> None:
    with pytest.raises(UnreadableDelivery) as refused:
        TOOL.read(as_posted(body))

    assert refused.value.field == field
