"""A detractor's SurveyMonkey response reaches Kringloop in two steps, as SurveyMonkey
documents them (https://api.surveymonkey.com/v3/docs#webhooks and #survey-responses): a
callback signed in Sm-Signature (base64 HMAC-SHA1 of the raw body keyed "<api key>&<api
secret>") names the completed response, and Kringloop fetches its answers from
/surveys/{id}/responses/{id}/details?simple=true with the app's bearer token, retrying while
SurveyMonkey is unavailable."""

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
    UnreadableDelivery,
)
from kringloop.sources.tools.surveymonkey import TOOL
from tests.support.survey_tool_apis import answering
from tests.support.survey_tools import surveymonkey_headers

API_KEY = "5bKq2XwR7tLm9NcV"
API_SECRET = "c41f9e27b0d84a6e93f5a1c7d2b8e064"
SECRET = f"{API_KEY}&{API_SECRET}"
EXAMPLES = Path(__file__).parent.parent / "examples"
CALLBACK = (EXAMPLES / "surveymonkey_response_completed.json").read_bytes()
DETAILS = json.loads((EXAMPLES / "surveymonkey_response_details.json").read_bytes())
NOTICE = FetchLater(response_id="118052219061", survey_id="506487016")
NOW = datetime(2026, 11, 23, 9, 2, 20, tzinfo=UTC).timestamp()
NPS_QUESTION, COMMENT_QUESTION = "73575770", "73575771"


def as_posted(body: bytes = CALLBACK, *, api_key: str = API_KEY,
              api_secret: str = API_SECRET) -> Delivery:
    return Delivery(body=body, headers=surveymonkey_headers(api_key, api_secret, body))


def callback(**changes: object) -> bytes:
    return json.dumps({**json.loads(CALLBACK), **changes}).encode()


def test_a_signed_callback_names_the_completed_response_to_fetch() -> None:
    delivery = as_posted()
    TOOL.verify(delivery, secret=SECRET, now=NOW)

    assert TOOL.read(delivery) == NOTICE


async def test_the_fetched_answers_give_the_score_as_a_number_beside_who_answered() -> None:
    async with answering("surveymonkey", NOTICE, DETAILS) as (apis, http):

        answers = await TOOL.fetch(NOTICE, api=apis.api("surveymonkey"), http=http)

    assert isinstance(answers, Answers)
    assert answers.response_id == "118052219061"
    assert answers.event == "created"
    assert answers.answered_at == datetime(2026, 11, 23, 9, 2, 17, tzinfo=UTC)
    score = answers.values[NPS_QUESTION]
    assert score == 3 and type(score) is int
    assert answers.values["Hoe waarschijnlijk is het dat u ons aanbeveelt aan een vriend of "
                          "collega?"] == 3
    assert answers.values[COMMENT_QUESTION].startswith("De monteur kwam twee keer niet")
    assert answers.values["klant_id"] == answers.values["custom_variables.klant_id"] == "KL-20417"
    assert answers.values["taal"] == "nl"
    assert {key: answers.values[key] for key in (
        "metadata.contact.email", "metadata.contact.first_name",
        "metadata.contact.last_name")} == {
        "metadata.contact.email": "anna.devries@example.nl",
        "metadata.contact.first_name": "Anna", "metadata.contact.last_name": "de Vries"}


async def test_the_fetch_asks_for_the_texts_with_the_apps_bearer_token() -> None:
    async with answering("surveymonkey", NOTICE, DETAILS) as (apis, http):
        await TOOL.fetch(NOTICE, api=apis.api("surveymonkey"), http=http)

    [asked] = apis.requests
    assert asked.path == "/surveymonkey/v3/surveys/506487016/responses/118052219061/details"
    assert asked.query == {"simple": "true"}
    assert asked.headers["authorization"] == f"Bearer {apis.tokens['surveymonkey']}"


async def test_while_surveymonkey_is_unavailable_the_fetch_fails_to_be_retried_then_succeeds(
) -> None:
    async with answering("surveymonkey", NOTICE, DETAILS) as (apis, http):
        apis.fail_next(2)
        for _ in range(2):
            with pytest.raises(httpx.HTTPStatusError) as unavailable:
                await TOOL.fetch(NOTICE, api=apis.api("surveymonkey"), http=http)
            assert unavailable.value.response.status_code == 503

        answers = await TOOL.fetch(NOTICE, api=apis.api("surveymonkey"), http=http)

    assert answers.values[NPS_QUESTION] == 3
    assert len(apis.requests) == 3


async def test_a_wrong_access_token_is_refused_by_surveymonkey() -> None:
    async with answering("surveymonkey", NOTICE, DETAILS) as (apis, http):

        with pytest.raises(httpx.HTTPStatusError) as refused:
            await TOOL.fetch(NOTICE, api=apis.api("surveymonkey", token="revoked"), http=http)

    assert refused.value.response.status_code == 401


async def test_details_that_are_not_shaped_as_documented_are_unreadable_naming_the_field(
) -> None:
    pages_not_listed = {**DETAILS, "pages": {"id": "28173422"}}
    async with answering("surveymonkey", NOTICE, pages_not_listed) as (apis, http):

        with pytest.raises(UnreadableDelivery) as unreadable:
            await TOOL.fetch(NOTICE, api=apis.api("surveymonkey"), http=http)

    assert unreadable.value.field == "pages"


def test_surveymonkey_names_the_contacts_email_and_first_name_but_no_question() -> None:
    assert TOOL.kind == "surveymonkey"
    assert TOOL.signature_header == "sm-signature"
    assert dict(TOOL.default_fields) == {"respondent.email": "metadata.contact.email",
                                         "respondent.name": "metadata.contact.first_name"}


@pytest.mark.parametrize("event_type", ["response_updated", "response_created",
                                        "collector_created"])
def test_events_other_than_a_completed_response_are_ignored(event_type: str) -> None:
    reading = TOOL.read(as_posted(callback(event_type=event_type)))

    assert isinstance(reading, Ignored)
    assert event_type in reading.reason


def test_a_callback_signed_with_another_apps_secret_is_refused() -> None:
    with pytest.raises(SignatureRefused, match="does not match the body"):
        TOOL.verify(as_posted(api_secret="another-apps-secret"), secret=SECRET, now=NOW)


def test_a_callback_from_another_app_is_refused_naming_that_app() -> None:
    with pytest.raises(SignatureRefused, match=r"app 'OtherApp9'.*another app"):
        TOOL.verify(as_posted(api_key="OtherApp9"), secret=SECRET, now=NOW)


def test_a_callback_without_a_signature_is_refused_naming_the_header() -> None:
    unsigned = Delivery(body=CALLBACK, headers={"content-type": "application/json"})

    with pytest.raises(SignatureRefused, match="Sm-Signature header is missing"):
        TOOL.verify(unsigned, secret=SECRET, now=NOW)


def test_a_callback_altered_after_signing_is_refused() -> None:
    headers = surveymonkey_headers(API_KEY, API_SECRET, CALLBACK)
    altered = Delivery(body=CALLBACK.replace(b"118052219061", b"118052219062"),
                       headers=headers)

    with pytest.raises(SignatureRefused, match="does not match the body"):
        TOOL.verify(altered, secret=SECRET, now=NOW)


def test_a_secret_without_the_api_key_and_ampersand_is_refused_saying_what_it_must_hold(
) -> None:
    with pytest.raises(SignatureRefused, match="an ampersand and the app's secret"):
        TOOL.verify(as_posted(), secret=API_SECRET, now=NOW)


@pytest.mark.parametrize(("body", "field"), [
    (b"event_type=response_completed", "body"),
    (b'"response_completed"', "body"),
    (callback(event_type=None), "event_type"),
    (callback(object_id=None), "object_id"),
    (callback(resources=None), "resources"),
    (callback(resources={"collector_id": "446111201"}), "resources.survey_id"),
])
def test_a_callback_not_shaped_as_surveymonkey_documents_is_unreadable_naming_the_field(
    body: bytes, field: str,
) -> None:
    with pytest.raises(UnreadableDelivery) as refused:
        TOOL.read(as_posted(body))

    assert refused.value.field == field
