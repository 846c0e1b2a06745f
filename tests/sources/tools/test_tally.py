"""A detractor's Tally form reaches Kringloop as Tally posts it: signed with the webhook's
signing secret and shaped as the example event, both on https://tally.so/help/webhooks.
Kringloop accepts only what the secret signed and reads each field under its key and label."""

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
from kringloop.sources.tools.tally import TOOL
from tests.support.survey_tools import tally_headers

SECRET = "tally-signing-secret-9c41e7"
EXAMPLE = (Path(__file__).parent.parent / "examples" / "tally_form_response.json").read_bytes()
NOW = datetime(2026, 11, 23, 9, 2, 20, tzinfo=UTC).timestamp()
SCORE_KEY = "question_wbq5L3"
SCORE_LABEL = "Hoe waarschijnlijk is het dat u ons aanbeveelt aan een vriend of collega?"


def as_posted(body: bytes = EXAMPLE, *, secret: str = SECRET) -> Delivery:
    return Delivery(body=body, headers=tally_headers(secret, body))


def test_a_signed_detractor_reads_as_their_answers_under_each_fields_key_and_label() -> None:
    delivery = as_posted()
    TOOL.verify(delivery, secret=SECRET, now=NOW)

    answers = TOOL.read(delivery)

    assert isinstance(answers, Answers)
    assert answers.response_id == "mR4vXq"
    assert answers.event == "created"
    assert answers.answered_at == datetime(2026, 11, 23, 9, 2, 17, tzinfo=UTC)
    score = answers.values[SCORE_KEY]
    assert score == 3 and type(score) is int
    assert answers.values[SCORE_LABEL] == 3
    comment = answers.values["Wat is de belangrijkste reden voor uw score?"]
    assert comment.startswith("De monteur kwam twee keer niet opdagen")
    assert answers.values["question_3Nrpl3"] == comment


def test_a_picked_option_reads_as_its_text_not_its_id() -> None:
    answers = TOOL.read(as_posted())

    assert isinstance(answers, Answers)
    assert answers.values["Mogen we u bellen om het goed te maken?"] == "Ja, bel me"


def test_the_respondent_comes_from_hidden_fields_under_their_names() -> None:
    answers = TOOL.read(as_posted())

    assert isinstance(answers, Answers)
    assert {name: answers.values[name] for name in ("klant_id", "email", "naam", "taal")} == {
        "klant_id": "KL-20417", "email": "anna.devries@example.nl", "naam": "Anna de Vries",
        "taal": "nl"}


def test_a_tally_field_names_nothing_of_ours_until_the_source_maps_it() -> None:
    assert TOOL.kind == "tally"
    assert TOOL.signature_header == "tally-signature"
    assert dict(TOOL.default_fields) == {}


def test_a_body_spaced_otherwise_than_tally_signed_it_is_still_accepted() -> None:
    # Tally's example signs JSON.stringify(payload): the compact JSON, whatever the spacing
    # of the bytes that arrive.
    compact = json.dumps(json.loads(EXAMPLE), separators=(",", ":"), ensure_ascii=False)
    headers = tally_headers(SECRET, compact.encode())

    TOOL.verify(Delivery(body=EXAMPLE, headers=headers), secret=SECRET, now=NOW)


def test_a_delivery_signed_with_another_secret_is_refused() -> None:
    delivery = as_posted(secret="the-secret-of-another-form")

    with pytest.raises(SignatureRefused, match="does not match"):
        TOOL.verify(delivery, secret=SECRET, now=NOW)


def test_a_delivery_without_a_signature_is_refused_naming_the_header() -> None:
    delivery = Delivery(body=EXAMPLE, headers={"content-type": "application/json"})

    with pytest.raises(SignatureRefused, match="Tally-Signature header is missing"):
        TOOL.verify(delivery, secret=SECRET, now=NOW)


def test_a_score_changed_after_signing_is_refused() -> None:
    signed = as_posted()
    altered = EXAMPLE.replace(b'"value": 3', b'"value": 9')

    with pytest.raises(SignatureRefused, match="does not match"):
        TOOL.verify(Delivery(body=altered, headers=signed.headers), secret=SECRET, now=NOW)


def test_an_event_other_than_a_form_response_is_ignored() -> None:
    payload = json.loads(EXAMPLE)
    payload["eventType"] = "FORM_DELETED"

    reading = TOOL.read(as_posted(json.dumps(payload).encode()))

    assert isinstance(reading, Ignored)
    assert "FORM_DELETED" in reading.reason


def test_a_body_that_is_not_json_is_unreadable() -> None:
    with pytest.raises(UnreadableDelivery) as unreadable:
        TOOL.read(as_posted(b"<html>Bad gateway</html>"))

    assert unreadable.value.field == "body"


def test_a_submission_without_its_response_id_is_unreadable_at_that_path() -> None:
    payload = json.loads(EXAMPLE)
    del payload["data"]["responseId"]

    with pytest.raises(UnreadableDelivery) as unreadable:
        TOOL.read(as_posted(json.dumps(payload).encode()))

    assert unreadable.value.field == "data.responseId"


def test_a_field_without_its_key_is_unreadable_at_that_field() -> None:
    payload = json.loads(EXAMPLE)
    del payload["data"]["fields"][4]["key"]

    with pytest.raises(UnreadableDelivery) as unreadable:
        TOOL.read(as_posted(json.dumps(payload).encode()))

    assert unreadable.value.field == "data.fields[4].key"


async def test_there_is_nothing_to_fetch_from_tally() -> None:
    notice = FetchLater(response_id="mR4vXq", survey_id="wQ8nE3")
    async with httpx.AsyncClient() as http:
        with pytest.raises(UnreadableDelivery, match="nothing to fetch"):
            await TOOL.fetch(notice, api=ToolApi(base_url="https://api.tally.so", token="t"),
                             http=http)
