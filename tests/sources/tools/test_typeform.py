"""A detractor's typeform reaches Kringloop as Typeform posts it: signed with the webhook's
secret (https://www.typeform.com/developers/webhooks/secure-your-webhooks/) and shaped as its
example payload (https://www.typeform.com/developers/webhooks/example-payload/). Kringloop
accepts only what the secret signed and reads the answers under the names the form gives them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from kringloop.sources.reading import (
    Answers,
    Delivery,
    FetchLater,
    Ignored,
    SignatureRefused,
    ToolApi,
    UnreadableDelivery,
)
from kringloop.sources.tools.typeform import TOOL
from tests.support.survey_tools import typeform_headers

SECRET = "f3b9c2e17a0d4c5e8b6a9d2f1e7c3a05b8d4e6f2"
EXAMPLE = (Path(__file__).parent.parent / "examples" / "typeform_form_response.json").read_bytes()
NOW = datetime(2026, 11, 23, 9, 2, 20, tzinfo=UTC).timestamp()


def as_posted(body: bytes = EXAMPLE, *, secret: str = SECRET) -> Delivery:
    return Delivery(body=body, headers=typeform_headers(secret, body))


def test_a_signed_detractor_reads_as_their_answers_under_each_fields_ref_and_id() -> None:
    delivery = as_posted()
    TOOL.verify(delivery, secret=SECRET, now=NOW)

    answers = TOOL.read(delivery)

    assert isinstance(answers, Answers)
    assert answers.response_id == "b7e4c1f09a2d43e8a6c5f31d8e2b9a70"
    assert answers.event == "created"
    assert answers.answered_at == datetime(2026, 11, 23, 9, 2, 17, tzinfo=UTC)
    score = answers.values["aanbeveling"]
    assert score == 3 and type(score) is int
    assert answers.values["Xq4TmB8nVz2K"] == 3
    assert answers.values["toelichting"].startswith("De monteur kwam twee keer niet opdagen")
    assert answers.values["Lr9WcE3sPq7J"] == answers.values["toelichting"]
    assert answers.values["terugbellen"] == "Ja, bel me"


def test_the_respondent_comes_from_hidden_fields_and_variables_under_their_names() -> None:
    answers = TOOL.read(as_posted())

    assert isinstance(answers, Answers)
    assert {name: answers.values[name] for name in ("klant_id", "email", "naam", "taal")} == {
        "klant_id": "KL-20417", "email": "anna.devries@example.nl", "naam": "Anna de Vries",
        "taal": "nl"}
    assert answers.values["segment"] == "zakelijk"


def test_a_typeform_field_names_nothing_of_ours_until_the_source_maps_it() -> None:
    assert TOOL.kind == "typeform"
    assert TOOL.signature_header == "typeform-signature"
    assert dict(TOOL.default_fields) == {}


def test_a_delivery_signed_with_another_secret_is_refused() -> None:
    delivery = as_posted(secret="a-secret-from-another-webhook")

    with pytest.raises(SignatureRefused, match="does not match"):
        TOOL.verify(delivery, secret=SECRET, now=NOW)


def test_a_delivery_without_a_signature_is_refused_naming_the_header() -> None:
    delivery = Delivery(body=EXAMPLE, headers={"content-type": "application/json"})

    with pytest.raises(SignatureRefused, match="Typeform-Signature header is missing"):
        TOOL.verify(delivery, secret=SECRET, now=NOW)


def test_a_signature_not_in_typeforms_form_is_refused_saying_what_it_should_be() -> None:
    delivery = Delivery(body=EXAMPLE, headers={"typeform-signature": "0123abcd"})

    with pytest.raises(SignatureRefused, match=r"sha256=<base64"):
        TOOL.verify(delivery, secret=SECRET, now=NOW)


def test_a_score_changed_after_signing_is_refused() -> None:
    signed = as_posted()
    altered = EXAMPLE.replace(b'"number": 3', b'"number": 9')

    with pytest.raises(SignatureRefused, match="does not match"):
        TOOL.verify(Delivery(body=altered, headers=signed.headers), secret=SECRET, now=NOW)


def test_a_partial_response_is_ignored_until_the_typeform_is_submitted() -> None:
    payload = json.loads(EXAMPLE)
    payload["event_type"] = "form_response_partial"

    reading = TOOL.read(as_posted(json.dumps(payload).encode()))

    assert isinstance(reading, Ignored)
    assert "partial" in reading.reason


def test_a_body_that_is_not_json_is_unreadable() -> None:
    with pytest.raises(UnreadableDelivery) as unreadable:
        TOOL.read(as_posted(b"event_type=form_response"))

    assert unreadable.value.field == "body"


def test_a_response_without_its_token_is_unreadable_at_that_path() -> None:
    payload = json.loads(EXAMPLE)
    del payload["form_response"]["token"]

    with pytest.raises(UnreadableDelivery) as unreadable:
        TOOL.read(as_posted(json.dumps(payload).encode()))

    assert unreadable.value.field == "form_response.token"


def test_an_answer_that_names_no_field_is_unreadable_at_that_answer() -> None:
    payload = json.loads(EXAMPLE)
    del payload["form_response"]["answers"][1]["field"]

    with pytest.raises(UnreadableDelivery) as unreadable:
        TOOL.read(as_posted(json.dumps(payload).encode()))

    assert unreadable.value.field == "form_response.answers[1].field.id"


async def test_there_is_nothing_to_fetch_from_typeform() -> None:
    notice = FetchLater(response_id="b7e4c1f09a2d43e8a6c5f31d8e2b9a70", survey_id="kL7pQ2rX")
    async with httpx.AsyncClient() as http:
        with pytest.raises(UnreadableDelivery, match="nothing to fetch") as unreadable:
            await TOOL.fetch(notice, api=ToolApi(base_url="https://api.typeform.com", token="t"),
                             http=http)

    assert unreadable.value.field == "kind"
