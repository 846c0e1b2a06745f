"""A detractor's Qualtrics response reaches Kringloop in two steps: the event subscription
posts a form-encoded notice (https://api.qualtrics.com/docs/create-subscription: "x-www-form-
urlencoded data not JSON") with the fields Topic and MSG, signed in an HMAC field when the
subscription has a sharedKey, and Kringloop fetches the answers from
/surveys/{id}/responses/{id} with the X-API-TOKEN header
(https://api.qualtrics.com/1179a68b7183c-retrieve-a-survey-response), retrying while Qualtrics
is unavailable. The HMAC's form (hex HMAC-SHA512 of MSG keyed with the sharedKey) is not in
Qualtrics' docs; it is what deliveries carry
(https://community.qualtrics.com/qualtrics-api-13/hmac-signatures-for-webhook-subscriptions-12167)
and what SAP's Qualtrics gateway checks, whose known-good pair a test below replays
(https://github.com/kyma-incubator/connector-tools, qualtrics-event-gw/pkg/hmac/hmac_test.go)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

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
from kringloop.sources.tools.qualtrics import TOOL
from tests.support.survey_tool_apis import answering
from tests.support.survey_tools import QUALTRICS_FORM, qualtrics_signed_body

SHARED_KEY = "kringloop-qualtrics-7Hq2mVx9"
EXAMPLES = Path(__file__).parent.parent / "examples"
NOTIFICATION = (EXAMPLES / "qualtrics_response_notification.txt").read_bytes().strip()
RESPONSE = json.loads((EXAMPLES / "qualtrics_response.json").read_bytes())
NOTICE = FetchLater(response_id="R_1l9mcVuXubb4aGm", survey_id="SV_3fJ8kLm2Qp9Rt4V")
NOW = datetime(2026, 11, 23, 9, 2, 20, tzinfo=UTC).timestamp()


def as_posted(body: bytes = NOTIFICATION, *, shared_key: str = SHARED_KEY) -> Delivery:
    return Delivery(body=qualtrics_signed_body(shared_key, body), headers=QUALTRICS_FORM)


def unsigned(body: bytes) -> Delivery:
    return Delivery(body=body, headers=QUALTRICS_FORM)


def notice(*, topic: str | None = None, **message: object) -> bytes:
    """The example notice with its Topic or MSG fields changed (None leaves a field out)."""
    fields = dict(parse_qsl(NOTIFICATION.decode()))
    changed = {**json.loads(fields["MSG"]), **message}
    return urlencode({"Topic": topic or fields["Topic"], "MSG": json.dumps(
        {name: value for name, value in changed.items() if value is not None})}).encode()


def test_a_signed_notice_names_the_completed_response_to_fetch() -> None:
    delivery = as_posted()
    TOOL.verify(delivery, secret=SHARED_KEY, now=NOW)

    assert TOOL.read(delivery) == NOTICE


def test_a_notice_signed_as_qualtrics_signed_one_for_saps_gateway_is_accepted() -> None:
    message = ('{"Status":"Complete","SurveyID":"SV_1AmkKSDmoZ4XlQx","ResponseID":'
               '"R_0B7IcnXszjEUHLP","CompletedDate":"2019-06-25 07:58:25",'
               '"BrandID":"sapdevelopment"}')
    body = urlencode({
        "Topic": "sapdevelopment.surveyengine.completedResponse.SV_1AmkKSDmoZ4XlQx",
        "HMAC": "c2c585a404c239aa3063b462cc33551d3ed3ed2de0899f58d456fc0ef7ebef6f3c3af4495798"
                "9bd0592603e41edde9528f7d9ed09ee128bf719aa12f46e5c598",
        "MSG": message}).encode()

    TOOL.verify(unsigned(body), secret="kyma4ever", now=NOW)

    assert TOOL.read(unsigned(body)) == FetchLater(response_id="R_0B7IcnXszjEUHLP",
                                                   survey_id="SV_1AmkKSDmoZ4XlQx")


def test_a_notice_with_its_fields_in_the_form_itself_is_read_as_well() -> None:
    body = urlencode({"Topic": "surveyengine.completedResponse.SV_3fJ8kLm2Qp9Rt4V",
                      "Status": "Complete", "SurveyID": "SV_3fJ8kLm2Qp9Rt4V",
                      "ResponseID": "R_1l9mcVuXubb4aGm",
                      "CompletedDate": "2026-11-23 09:02:17", "BrandID": "fietsenwinkel"})

    assert TOOL.read(unsigned(body.encode())) == NOTICE


async def test_the_fetched_answers_give_the_score_as_a_number_beside_who_answered() -> None:
    async with answering("qualtrics", NOTICE, RESPONSE) as (apis, http):

        answers = await TOOL.fetch(NOTICE, api=apis.api("qualtrics"), http=http)

    assert isinstance(answers, Answers)
    assert answers.response_id == "R_1l9mcVuXubb4aGm"
    assert answers.answered_at == datetime(2026, 11, 23, 9, 2, 17, tzinfo=UTC)
    assert answers.values["QID1"] == 3 and type(answers.values["QID1"]) is int
    assert answers.values["QID2_TEXT"].startswith("De monteur kwam twee keer niet opdagen")
    assert answers.values["labels.QID1_NPS_GROUP"] == "Detractor"
    assert {key: answers.values[key] for key in (
        "externalDataReference", "recipientEmail", "recipientFirstName", "userLanguage",
        "taal", "segment")} == {
        "externalDataReference": "KL-20417", "recipientEmail": "anna.devries@example.nl",
        "recipientFirstName": "Anna", "userLanguage": "NL", "taal": "nl",
        "segment": "particulier"}


async def test_the_fetch_sends_the_api_token_qualtrics_asks_for() -> None:
    async with answering("qualtrics", NOTICE, RESPONSE) as (apis, http):
        await TOOL.fetch(NOTICE, api=apis.api("qualtrics"), http=http)

    [asked] = apis.requests
    assert asked.path == "/qualtrics/API/v3/surveys/SV_3fJ8kLm2Qp9Rt4V/responses/R_1l9mcVuXubb4aGm"
    assert asked.headers["x-api-token"] == apis.tokens["qualtrics"]


async def test_while_qualtrics_is_unavailable_the_fetch_fails_to_be_retried_then_succeeds(
) -> None:
    async with answering("qualtrics", NOTICE, RESPONSE) as (apis, http):
        apis.fail_next(1)
        with pytest.raises(httpx.HTTPStatusError) as unavailable:
            await TOOL.fetch(NOTICE, api=apis.api("qualtrics"), http=http)
        assert unavailable.value.response.status_code == 503

        answers = await TOOL.fetch(NOTICE, api=apis.api("qualtrics"), http=http)

    assert answers.values["QID1"] == 3


async def test_a_wrong_api_token_is_refused_by_qualtrics() -> None:
    async with answering("qualtrics", NOTICE, RESPONSE) as (apis, http):

        with pytest.raises(httpx.HTTPStatusError) as refused:
            await TOOL.fetch(NOTICE, api=apis.api("qualtrics", token="expired"), http=http)

    assert refused.value.response.status_code == 401


async def test_a_response_without_values_is_unreadable_naming_the_field() -> None:
    without_values = {"result": {"responseId": "R_1l9mcVuXubb4aGm"}, "meta": {}}
    async with answering("qualtrics", NOTICE, without_values) as (apis, http):

        with pytest.raises(UnreadableDelivery) as unreadable:
            await TOOL.fetch(NOTICE, api=apis.api("qualtrics"), http=http)

    assert unreadable.value.field == "result.values"


def test_qualtrics_names_the_contact_fields_a_distribution_fills_but_no_question() -> None:
    assert TOOL.kind == "qualtrics"
    assert TOOL.signature_header == "hmac"
    assert dict(TOOL.default_fields) == {
        "respondent.id": "externalDataReference", "respondent.email": "recipientEmail",
        "respondent.name": "recipientFirstName", "respondent.language": "userLanguage"}


def test_a_topic_other_than_a_completed_response_is_ignored() -> None:
    reading = TOOL.read(as_posted(notice(topic="fietsenwinkel.controlpanel.activateSurvey")))

    assert isinstance(reading, Ignored)
    assert "controlpanel.activateSurvey" in reading.reason


def test_a_response_that_is_not_complete_is_ignored() -> None:
    reading = TOOL.read(as_posted(notice(Status="Partial")))

    assert isinstance(reading, Ignored)
    assert "Partial" in reading.reason


def test_a_notice_without_an_hmac_is_refused_saying_the_subscription_needs_a_shared_key(
) -> None:
    with pytest.raises(SignatureRefused, match=r"HMAC form field is missing.*sharedKey"):
        TOOL.verify(unsigned(NOTIFICATION), secret=SHARED_KEY, now=NOW)


def test_a_notice_signed_with_another_shared_key_is_refused() -> None:
    with pytest.raises(SignatureRefused, match=r"does not match MSG.*sharedKey"):
        TOOL.verify(as_posted(shared_key="another-subscriptions-key"), secret=SHARED_KEY,
                    now=NOW)


def test_a_notice_whose_message_was_altered_after_signing_is_refused() -> None:
    signed = dict(parse_qsl(as_posted().body.decode()))
    signed["MSG"] = signed["MSG"].replace("R_1l9mcVuXubb4aGm", "R_2m0ndWvYvcc5bHn")

    with pytest.raises(SignatureRefused, match="does not match MSG"):
        TOOL.verify(unsigned(urlencode(signed).encode()), secret=SHARED_KEY, now=NOW)


def test_an_hmac_that_is_not_a_sha512_digest_is_refused_saying_what_it_should_be() -> None:
    body = NOTIFICATION + b"&HMAC=5db5cd1e"

    with pytest.raises(SignatureRefused, match="128 hex characters of an HMAC-SHA512"):
        TOOL.verify(unsigned(body), secret=SHARED_KEY, now=NOW)


@pytest.mark.parametrize(("body", "field"), [
    (b"\xff\xfe", "body"),
    (NOTIFICATION + b"&Topic=surveyengine.completedResponse.SV_x", "body"),
    (b"MSG=%7B%7D", "Topic"),
    (b'{"Topic": "surveyengine.completedResponse.SV_3fJ8kLm2Qp9Rt4V"}', "Topic"),
    (b"Topic=surveyengine.completedResponse.SV_3fJ8kLm2Qp9Rt4V&MSG=q8Hc2x%2BvZ0%3D",
     "MSG"),
    (notice(Status=None), "MSG.Status"),
    (notice(ResponseID=None), "MSG.ResponseID"),
    (b"Topic=surveyengine.completedResponse&Status=Complete&ResponseID=R_1", "SurveyID"),
])
def test_a_notice_not_shaped_as_qualtrics_posts_it_is_unreadable_naming_the_field(
    body: bytes, field: str,
) -> None:
    with pytest.raises(UnreadableDelivery) as refused:
        TOOL.read(unsigned(body))

    assert refused.value.field == field
