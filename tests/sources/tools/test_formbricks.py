"""A detractor's Formbricks survey reaches Kringloop as Formbricks posts it: signed the Standard
Webhooks way with the webhook's whsec_ secret and shaped as its example payloads, both on
https://formbricks.com/docs/platform/features/integrations/webhooks. Kringloop accepts only
what the secret signed within five minutes, and acts once the response is finished."""

from __future__ import annotations

import base64
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
from kringloop.sources.tools.formbricks import TOOL
from tests.support.survey_tools import formbricks_headers

SECRET = "whsec_" + base64.b64encode(b"formbricks-webhook-key-32-bytes!").decode()
EXAMPLES = Path(__file__).parent.parent / "examples"
FINISHED = (EXAMPLES / "formbricks_response_finished.json").read_bytes()
CREATED = (EXAMPLES / "formbricks_response_created.json").read_bytes()
UPDATED = (EXAMPLES / "formbricks_response_updated.json").read_bytes()
SENT_AT = int(datetime(2026, 11, 23, 9, 2, 18, tzinfo=UTC).timestamp())


def as_posted(body: bytes = FINISHED, *, secret: str = SECRET,
              timestamp: int = SENT_AT) -> Delivery:
    return Delivery(body=body, headers=formbricks_headers(
        secret, body, msg_id="9f2c4e81b7a3d6f05e8c1a4b7d2e9f36", timestamp=timestamp))


def with_changes(body: bytes, **changes: object) -> bytes:
    payload = json.loads(body)
    payload["data"] |= changes
    return json.dumps(payload).encode()


def test_a_signed_finished_response_reads_as_the_detractors_answers() -> None:
    delivery = as_posted()
    TOOL.verify(delivery, secret=SECRET, now=SENT_AT + 2)

    answers = TOOL.read(delivery)

    assert isinstance(answers, Answers)
    assert answers.response_id == "wzq8r1k6v3m0p9x2n5t7y4ca"
    assert answers.event == "created"
    assert answers.answered_at == datetime(2026, 11, 23, 9, 2, 17, 604000, tzinfo=UTC)
    score = answers.values["aanbeveling"]
    assert score == 3 and type(score) is int
    assert answers.values["toelichting"].startswith("De monteur kwam twee keer niet opdagen")
    assert answers.values["terugbellen"] == "Ja, bel me"
    assert answers.values["klant_id"] == "KL-20417"


def test_the_respondent_comes_from_the_contacts_attributes_and_the_responses_language() -> None:
    answers = TOOL.read(as_posted())

    assert isinstance(answers, Answers)
    assert {ours: answers.values[theirs] for ours, theirs in TOOL.default_fields.items()} == {
        "respondent.id": "KL-20417", "respondent.email": "anna.devries@example.nl",
        "respondent.language": "nl"}
    assert answers.values["contactAttributes.firstName"] == "Anna"
    assert answers.values["contactAttributes.lastName"] == "de Vries"
    assert answers.values["contact.id"] == "lq7m2x9k4p1v8c3n6r0t5yzd"
    assert answers.values["meta.source"] == "email"


def test_a_finished_response_changed_afterwards_reads_as_an_update() -> None:
    answers = TOOL.read(as_posted(UPDATED))

    assert isinstance(answers, Answers)
    assert answers.event == "updated"
    assert answers.response_id == "wzq8r1k6v3m0p9x2n5t7y4ca"
    assert answers.values["aanbeveling"] == 3


def test_a_response_not_yet_finished_is_ignored_whether_created_or_updated() -> None:
    created = TOOL.read(as_posted(CREATED))
    updated = TOOL.read(as_posted(with_changes(UPDATED, finished=False)))

    assert created == Ignored("response not finished yet")
    assert updated == Ignored("response not finished yet")


def test_a_response_finished_on_creation_waits_for_its_response_finished_delivery() -> None:
    reading = TOOL.read(as_posted(with_changes(CREATED, finished=True)))

    assert isinstance(reading, Ignored)
    assert "responseFinished" in reading.reason


def test_formbricks_testing_the_endpoint_is_ignored() -> None:
    reading = TOOL.read(as_posted(b'{"event":"testEndpoint"}'))

    assert isinstance(reading, Ignored)


def test_a_delivery_signed_with_another_secret_is_refused() -> None:
    other = "whsec_" + base64.b64encode(b"the-key-of-some-other-webhook!!!").decode()

    with pytest.raises(SignatureRefused, match="does not match"):
        TOOL.verify(as_posted(secret=other), secret=SECRET, now=SENT_AT)


def test_a_delivery_without_a_signature_is_refused_naming_the_header() -> None:
    headers = dict(as_posted().headers)
    del headers["webhook-signature"]

    with pytest.raises(SignatureRefused, match="webhook-signature header is missing"):
        TOOL.verify(Delivery(body=FINISHED, headers=headers), secret=SECRET, now=SENT_AT)


def test_a_score_changed_after_signing_is_refused() -> None:
    signed = as_posted()
    altered = FINISHED.replace(b'"aanbeveling": 3', b'"aanbeveling": 9')

    with pytest.raises(SignatureRefused, match="does not match"):
        TOOL.verify(Delivery(body=altered, headers=signed.headers), secret=SECRET, now=SENT_AT)


def test_a_delivery_replayed_ten_minutes_later_is_refused_saying_how_old_it_is() -> None:
    delivery = as_posted()

    with pytest.raises(SignatureRefused, match="10 minutes old"):
        TOOL.verify(delivery, secret=SECRET, now=SENT_AT + 10 * 60)


def test_a_delivery_dated_ahead_of_our_clock_is_refused() -> None:
    delivery = as_posted(timestamp=SENT_AT + 6 * 60)

    with pytest.raises(SignatureRefused, match="6 minutes ahead"):
        TOOL.verify(delivery, secret=SECRET, now=SENT_AT)


def test_the_signing_time_counts_against_the_clock_kringloop_is_given() -> None:
    # Long after the wall clock's present: `now`, not the machine's time, decides.
    later = int(datetime(2031, 5, 6, 12, 0, tzinfo=UTC).timestamp())

    TOOL.verify(as_posted(timestamp=later), secret=SECRET, now=later + 60)


def test_a_secret_that_is_not_a_whsec_key_is_refused_saying_so() -> None:
    with pytest.raises(SignatureRefused, match="whsec_"):
        TOOL.verify(as_posted(), secret="whsec_x", now=SENT_AT)


def test_a_body_that_is_not_json_is_unreadable() -> None:
    with pytest.raises(UnreadableDelivery) as unreadable:
        TOOL.read(as_posted(b"responseFinished"))

    assert unreadable.value.field == "body"


def test_a_response_without_its_id_is_unreadable_at_that_path() -> None:
    payload = json.loads(FINISHED)
    del payload["data"]["id"]

    with pytest.raises(UnreadableDelivery) as unreadable:
        TOOL.read(as_posted(json.dumps(payload).encode()))

    assert unreadable.value.field == "data.id"


async def test_there_is_nothing_to_fetch_from_formbricks() -> None:
    notice = FetchLater(response_id="wzq8r1k6v3m0p9x2n5t7y4ca",
                        survey_id="hc3k9x2m7p1q8v5n0r4t6wzb")
    async with httpx.AsyncClient() as http:
        with pytest.raises(UnreadableDelivery, match="nothing to fetch"):
            await TOOL.fetch(notice, api=ToolApi(base_url="https://app.formbricks.com", token="t"),
                             http=http)
