"""SurveyMonkey's webhooks: a signed JSON notice naming a completed response, whose answers
are then fetched from the v3 API's response details."""

# Documented at: https://api.surveymonkey.com/v3/docs#webhooks and
# https://api.surveymonkey.com/v3/docs#survey-responses (the source of both pages:
# https://github.com/SurveyMonkey/public_api_docs, includes/_webhooks.md and _responses.md).
# Each callback carries Sm-Apikey (the app's client id, or API key under the old
# authentication) and Sm-Signature: the base64 HMAC-SHA1 of the raw body, keyed with
# "<api key>&<api secret>". No timestamp is signed. So the environment variable a source names
# for its secret holds exactly that key: the app's client id (or API key), an ampersand, and
# the app's secret, e.g. "a1b2c3&s3cr3t".
# `simple=true` on /details "includes the question and answer text, in addition to IDs"; the
# docs show no example of it, so the names read here (a question's `heading`, an answer's
# `simple_text`) are how the API is known to answer, unconfirmed by the page. Without them an
# answer still reads as its open text or its choice id.

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

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
    event_name,
    identifier,
    json_member,
    json_object,
    moment,
)

SIGNATURE_HEADER = "sm-signature"
API_KEY_HEADER = "sm-apikey"
COMPLETED = "response_completed"
# The 0–10 labels of a rating or NPS choice, read as the number they are.
WHOLE_NUMBER = re.compile(r"\d{1,3}")
# Who answered, as SurveyMonkey puts it on the response itself (email collectors fill them).
RESPONDENT_FIELDS = ("email_address", "first_name", "last_name", "custom_value",
                     "recipient_id", "collector_id", "response_status")


class SurveyMonkey:
    """SurveyMonkey names the response in its notice and keeps the answers behind its API."""

    kind = "surveymonkey"
    # Questions are numbered per survey, so score and comment are the source's to name.
    # The contact's first name is the name to greet someone by on a callback.
    default_fields: Mapping[str, str] = {
        "respondent.email": "metadata.contact.email",
        "respondent.name": "metadata.contact.first_name",
    }
    signature_header = SIGNATURE_HEADER

    def verify(self, delivery: Delivery, *, secret: str, now: float) -> None:
        # `now` goes unused: SurveyMonkey signs no timestamp (intake is idempotent instead).
        api_key, ampersand, api_secret = secret.partition("&")
        if not ampersand or not api_key or not api_secret:
            raise SignatureRefused(
                "the SurveyMonkey secret must be the app's client id (or API key), an "
                "ampersand and the app's secret, as SurveyMonkey keys Sm-Signature with "
                "\"<api key>&<api secret>\"")
        given = delivery.headers.get(SIGNATURE_HEADER, "").strip()
        if not given:
            raise SignatureRefused(
                "the Sm-Signature header is missing: SurveyMonkey signs every webhook "
                "callback with it, so this request did not come from SurveyMonkey as sent")
        try:
            digest = base64.b64decode(given, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != hashlib.sha1().digest_size:
            raise SignatureRefused("Sm-Signature must be the base64 of an HMAC-SHA1 digest, "
                                   f"not {given[:80]!r}")
        sender = delivery.headers.get(API_KEY_HEADER, "").strip()
        if sender and sender != api_key:
            raise SignatureRefused(
                f"this callback comes from SurveyMonkey app {sender!r} (Sm-Apikey), but the "
                "secret is for another app: use that app's client id and secret")
        expected = hmac.new(secret.encode(), delivery.body, hashlib.sha1).digest()
        if not hmac.compare_digest(expected, digest):
            raise SignatureRefused(
                "Sm-Signature does not match the body: the secret must be the client id (or "
                "API key) and the secret of the app that created the webhook, joined by &, "
                "and the body must reach us exactly as SurveyMonkey sent it")

    def read(self, delivery: Delivery) -> Reading:
        payload = json_object(delivery.body, tool="SurveyMonkey")
        event_type = event_name(payload, "event_type", tool="SurveyMonkey")
        if event_type != COMPLETED:
            # response_updated is passed over too: a notice cannot say it is an update, so
            # its answers would arrive as a new response; partial responses update as well.
            return Ignored(reason=f"SurveyMonkey event {event_type!r} is not a completed "
                                  "response")
        response_id = identifier(payload.get("object_id"), field="object_id")
        resources = json_member(payload, "resources", path="resources")
        survey_id = identifier(resources.get("survey_id"), field="resources.survey_id")
        return FetchLater(response_id=response_id, survey_id=survey_id)

    async def fetch(self, notice: FetchLater, *, api: ToolApi,
                    http: httpx.AsyncClient) -> Answers:
        url = (f"{api.base_url.rstrip('/')}/surveys/{quote(notice.survey_id, safe='')}"
               f"/responses/{quote(notice.response_id, safe='')}/details")
        answer = await http.get(url, params={"simple": "true"},
                                headers={"Authorization": f"Bearer {api.token}",
                                         "Accept": "application/json"})
        answer.raise_for_status()
        details = json_object(answer.content, tool="SurveyMonkey's API")
        return Answers(response_id=notice.response_id, values=_values(details),
                       answered_at=_answered_at(details))


def _values(details: Mapping[str, Any]) -> dict[str, Any]:
    """Each answer under its question id (and heading), then custom variables, then who
    answered; an earlier key keeps its answer when a later one has the same name."""
    values: dict[str, Any] = {}
    headings: dict[str, Any] = {}
    pages = details.get("pages")
    if not isinstance(pages, list):
        raise UnreadableDelivery("SurveyMonkey's response details list the answers in pages",
                                 field="pages")
    for p, page in enumerate(pages):
        questions = page.get("questions") if isinstance(page, Mapping) else None
        if not isinstance(questions, list):
            raise UnreadableDelivery("each page lists its questions",
                                     field=f"pages[{p}].questions")
        for q, question in enumerate(questions):
            path = f"pages[{p}].questions[{q}]"
            if not isinstance(question, Mapping):
                raise UnreadableDelivery("a question is an object", field=path)
            question_id = identifier(question.get("id"), field=f"{path}.id")
            given = _answer(question.get("answers"), path=f"{path}.answers")
            values[question_id] = given
            heading = question.get("heading")
            if isinstance(heading, str) and heading.strip():
                headings.setdefault(heading.strip(), given)
    for heading, given in headings.items():
        values.setdefault(heading, given)

    variables = details.get("custom_variables") or {}
    if not isinstance(variables, Mapping):
        raise UnreadableDelivery("custom_variables is an object of names and values",
                                 field="custom_variables")
    for name, value in variables.items():
        values[f"custom_variables.{name}"] = value
        values.setdefault(str(name), value)

    metadata = details.get("metadata")
    contact = metadata.get("contact") if isinstance(metadata, Mapping) else None
    if isinstance(contact, Mapping):
        for name, entry in contact.items():
            # A contact field comes as {"type": ..., "value": ...}; a bare value is kept.
            value = entry.get("value") if isinstance(entry, Mapping) else entry
            if value not in (None, ""):
                values[f"metadata.contact.{name}"] = value
    for name in RESPONDENT_FIELDS:
        if details.get(name) not in (None, ""):
            values.setdefault(name, details[name])
    return values


def _answer(answers: Any, *, path: str) -> Any:
    """One answer as given (a number for a 0–10 choice, else its text); several as a list."""
    if not isinstance(answers, list):
        raise UnreadableDelivery("a question lists its answers", field=path)
    given = []
    for a, answer in enumerate(answers):
        if not isinstance(answer, Mapping):
            raise UnreadableDelivery("an answer is an object", field=f"{path}[{a}]")
        if isinstance(answer.get("text"), str):
            given.append(answer["text"])
        elif isinstance(answer.get("simple_text"), str):
            label = answer["simple_text"].strip()
            chosen_number = "choice_id" in answer and WHOLE_NUMBER.fullmatch(label) is not None
            given.append(int(label) if chosen_number else label)
        elif answer.get("choice_id") is not None:
            # Without simple=true only the choice's id is known; the source can still map it.
            given.append(str(answer["choice_id"]))
    return given[0] if len(given) == 1 else given


def _answered_at(details: Mapping[str, Any]) -> datetime | None:
    """When the response was last changed, else when it was made."""
    return (moment(details.get("date_modified"), field="date_modified")
            or moment(details.get("date_created"), field="date_created"))


TOOL = SurveyMonkey()
