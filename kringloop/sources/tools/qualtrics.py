"""Qualtrics' event subscriptions: a form-encoded notice that a survey response was completed,
whose answers are then fetched from the v3 API."""

# Documented at: https://api.qualtrics.com/docs/create-subscription (topics such as
# surveyengine.completedResponse.{SurveyID}; the publicationUrl "will be receiving
# x-www-form-urlencoded data not JSON"; the subscription's `encrypt` and `sharedKey`) and
# https://api.qualtrics.com/1179a68b7183c-retrieve-a-survey-response (GET
# /surveys/{surveyId}/responses/{responseId} with the X-API-TOKEN header; that page was not
# in the stored copies, so its example's field names are as the API is known to answer).
# What the docs leave out, and Qualtrics users had to find out
# (https://community.qualtrics.com/qualtrics-api-13/hmac-signatures-for-webhook-subscriptions-12167):
# a subscription made with a sharedKey posts the form fields Topic, MSG (the notice as JSON:
# Status, SurveyID, ResponseID, CompletedDate, BrandID, …) and HMAC, the hex HMAC-SHA512 of
# MSG keyed with the sharedKey as text. SAP's Qualtrics gateway verifies it that way with a
# known-good pair (github.com/kyma-incubator/connector-tools, qualtrics-event-gw/pkg/hmac).
# The signature is a form field, not a header; no timestamp is signed; Topic is not covered,
# so the ids are taken from the signed MSG. A subscription made with encrypt=true sends MSG
# encrypted in a way Qualtrics does not describe: such notices are refused as unreadable.

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote

import httpx

from kringloop.sources.reading import (
    Answers,
    Delivery,
    FetchLater,
    Ignored,
    Reading,
    SignatureRefused,
    ToolApi,
    UnreadableDelivery,
)
from kringloop.sources.tools.payloads import (
    identifier,
    json_member,
    json_object,
    moment,
    whole_number,
)

# The form field that carries the signature (lower case, as header names are here).
SIGNATURE_FIELD = "hmac"
COMPLETED_TOPIC = ("surveyengine", "completedResponse")
# Question answers that are choices on a scale (QID1, QID4_2), as against text (QID2_TEXT).
CHOICE_KEY = re.compile(r"QID\d+(_\d+)*")
WHOLE_NUMBER = re.compile(r"-?\d+")


class Qualtrics:
    """Qualtrics names the response in its notice and keeps the answers behind its API."""

    kind = "qualtrics"
    # Question ids are per survey, so score and comment are the source's to name; the rest
    # are the fields Qualtrics fills from the contact a distribution was sent to.
    default_fields: Mapping[str, str] = {
        "respondent.id": "externalDataReference",
        "respondent.email": "recipientEmail",
        "respondent.name": "recipientFirstName",
        "respondent.language": "userLanguage",
    }
    # Qualtrics signs in the HMAC form field, not a header: this names that field.
    signature_header = SIGNATURE_FIELD

    def verify(self, delivery: Delivery, *, secret: str, now: float) -> None:
        # `now` goes unused: Qualtrics signs no timestamp (intake is idempotent instead).
        try:
            form = _form(delivery.body)
        except ValueError as wrong:
            raise SignatureRefused(f"not a Qualtrics notice: {wrong}") from None
        given = form.get("HMAC", "").strip()
        if not given:
            raise SignatureRefused(
                "the HMAC form field is missing: Qualtrics adds it only to subscriptions made "
                "with a sharedKey; create the event subscription with sharedKey set to this "
                "source's secret (and encrypt false)")
        if "MSG" not in form:
            raise SignatureRefused("the notice has an HMAC but no MSG field, which is what "
                                   "Qualtrics signs")
        if len(given) != 128 or not all(c in "0123456789abcdefABCDEF" for c in given):
            raise SignatureRefused("the HMAC form field must be the 128 hex characters of an "
                                   f"HMAC-SHA512, not {given[:80]!r}")
        expected = hmac.new(secret.encode(), form["MSG"].encode(), hashlib.sha512).hexdigest()
        # compare_digest takes the same time wherever two digests differ: nothing to time.
        if not hmac.compare_digest(expected, given.lower()):
            raise SignatureRefused(
                "the HMAC form field does not match MSG: the secret must be the sharedKey "
                "the Qualtrics event subscription was created with")

    def read(self, delivery: Delivery) -> Reading:
        try:
            form = _form(delivery.body)
        except ValueError as wrong:
            raise UnreadableDelivery(str(wrong), field="body") from None
        topic = form.get("Topic", "").strip()
        if not topic:
            raise UnreadableDelivery("a Qualtrics notice names its event in the Topic field",
                                     field="Topic")
        # Topics arrive with the brand in front: "<brand>.surveyengine.completedResponse.SV_…".
        parts = topic.split(".")
        completed = any(tuple(parts[i:i + 2]) == COMPLETED_TOPIC for i in range(len(parts)))
        if not completed:
            return Ignored(reason=f"Qualtrics topic {topic!r} is not a completed response")
        notice, prefix = _notice(form)
        status = notice.get("Status")
        if not isinstance(status, str):
            raise UnreadableDelivery("a Qualtrics notice says the response's Status",
                                     field=f"{prefix}Status")
        if status != "Complete":
            return Ignored(reason=f"Qualtrics response status {status!r} is not Complete")
        return FetchLater(
            response_id=identifier(notice.get("ResponseID"), field=f"{prefix}ResponseID"),
            # The topic ends in the survey id too, but only MSG is signed: MSG comes first.
            survey_id=identifier(notice.get("SurveyID") or _survey_in(parts),
                                 field=f"{prefix}SurveyID"))

    async def fetch(self, notice: FetchLater, *, api: ToolApi,
                    http: httpx.AsyncClient) -> Answers:
        url = (f"{api.base_url.rstrip('/')}/surveys/{quote(notice.survey_id, safe='')}"
               f"/responses/{quote(notice.response_id, safe='')}")
        answer = await http.get(url, headers={"X-API-TOKEN": api.token,
                                              "Accept": "application/json"})
        answer.raise_for_status()
        payload = json_object(answer.content, tool="Qualtrics' API")
        result = json_member(payload, "result", path="result")
        given = json_member(result, "values", path="result.values")
        values = {str(name): _value(str(name), value) for name, value in given.items()}
        labels = result.get("labels")
        if isinstance(labels, Mapping):
            # The text of a chosen option (a segment, a reason) beside the number it codes.
            values.update({f"labels.{name}": label for name, label in labels.items()})
        response_id = result.get("responseId") or notice.response_id
        return Answers(response_id=str(response_id), values=values,
                       answered_at=_answered_at(given))


def _form(body: bytes) -> dict[str, str]:
    """The form's fields, one value each (a field given twice is not Qualtrics' doing)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8 form data") from None
    fields = parse_qs(text, keep_blank_values=True)
    doubled = sorted(name for name, given in fields.items() if len(given) > 1)
    if doubled:
        raise ValueError(f"the form gives {', '.join(doubled)} more than once")
    return {name: given[0] for name, given in fields.items()}


def _notice(form: Mapping[str, str]) -> tuple[Mapping[str, Any], str]:
    """The notice's fields and the path prefix that names them in a refusal: from the MSG
    JSON that signed subscriptions send, else from the form fields themselves."""
    if "MSG" not in form:
        return form, ""
    try:
        notice = json.loads(form["MSG"])
    except (json.JSONDecodeError, RecursionError):
        raise UnreadableDelivery(
            "MSG is not JSON: was the Qualtrics subscription created with encrypt true? "
            "Kringloop needs encrypt false (the HMAC still proves the sender)",
            field="MSG") from None
    if not isinstance(notice, Mapping):
        raise UnreadableDelivery("MSG must be a JSON object", field="MSG")
    return notice, "MSG."


def _survey_in(topic_parts: list[str]) -> str | None:
    return topic_parts[-1] if topic_parts[-1].startswith("SV_") else None


def _value(name: str, value: Any) -> Any:
    """A choice on a scale as a whole number (Qualtrics codes an NPS answer 0–10)."""
    if isinstance(value, str) and CHOICE_KEY.fullmatch(name) and WHOLE_NUMBER.fullmatch(value):
        return int(value)
    return whole_number(value)


def _answered_at(values: Mapping[str, Any]) -> datetime | None:
    """When the respondent finished, else when Qualtrics recorded the response."""
    return (moment(values.get("endDate"), field="result.values.endDate")
            or moment(values.get("recordedDate"), field="result.values.recordedDate"))


TOOL = Qualtrics()
