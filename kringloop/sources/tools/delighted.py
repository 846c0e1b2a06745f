"""Delighted's webhooks: a signed JSON body that carries the whole response (score, comment,
person, person properties), or an unsubscribe."""

# Documented at: https://app.delighted.com/docs/api/webhooks (event types, the example
# survey_response and unsubscribe bodies, the X-Delighted-Webhook-Signature header).
# The header holds "sha256=" and the hex HMAC-SHA256 of the raw body, keyed with the Delighted
# project's API key (Integrations > API); there is no timestamp in it. The stored copies of that
# page stop before its signature section: header, algorithm, key and message are as a summary
# of that section gives them, and the "sha256=" prefix is how integrations in the wild read
# the value (e.g. github.com/kiteco/kiteco); a bare hex digest is accepted too.

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

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
    Unsubscribe,
)
from kringloop.sources.tools.payloads import (
    event_name,
    identifier,
    json_member,
    json_object,
    nothing_to_fetch,
)

SIGNATURE_HEADER = "x-delighted-webhook-signature"
RESPONSE_EVENTS: dict[str, Literal["created", "updated"]] = {
    "survey_response.created": "created",
    "survey_response.updated": "updated",
}
UNSUBSCRIBE_EVENT = "unsubscribe.created"
# The person's fields as Delighted names them; `values` keys them "person.<field>".
PERSON_FIELDS = ("id", "email", "name", "phone_number")


class Delighted:
    """Delighted posts each response twice or more: when the score is given (`created`) and
    again when the comment or an additional answer follows (`updated`)."""

    kind = "delighted"
    # respondent.id is left out on purpose: `person.id` is Delighted's own number for the
    # person, while a company's customer id travels as a person property under a name the
    # company chose (Delighted's docs advise exactly that), so the source must name it.
    default_fields: Mapping[str, str] = {
        "score": "score",
        "comment": "comment",
        "respondent.email": "person.email",
        "respondent.name": "person.name",
        "respondent.phone": "person.phone_number",
    }
    signature_header = SIGNATURE_HEADER

    def verify(self, delivery: Delivery, *, secret: str, now: float) -> None:
        # `now` goes unused: Delighted signs no timestamp, so a replay cannot be told by age;
        # intake is idempotent by response id, which is what makes a replay harmless.
        given = delivery.headers.get(SIGNATURE_HEADER, "").strip()
        if not given:
            raise SignatureRefused(
                "the X-Delighted-Webhook-Signature header is missing: Delighted signs every "
                "webhook with it, so this request did not come from Delighted as sent")
        algorithm, separator, digest = given.partition("=")
        if not separator:
            algorithm, digest = "sha256", given
        if algorithm.strip().lower() != "sha256" or not _is_hex(digest, length=64):
            raise SignatureRefused(
                "X-Delighted-Webhook-Signature must be sha256=<hex HMAC-SHA256 of the raw "
                f"body>, not {given[:80]!r}")
        expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        # compare_digest takes the same time wherever two digests differ: nothing to time.
        if not hmac.compare_digest(expected, digest.strip().lower()):
            raise SignatureRefused(
                "X-Delighted-Webhook-Signature does not match the body: the secret must be "
                "the API key of the Delighted project that sends the webhook (Integrations > "
                "API), and the body must reach us exactly as Delighted sent it")

    def read(self, delivery: Delivery) -> Reading:
        payload = json_object(delivery.body, tool="Delighted")
        event_type = event_name(payload, "event_type", tool="Delighted")
        if event_type in RESPONSE_EVENTS:
            return _answers(json_member(payload, "event_data", path="event_data"),
                            event=RESPONSE_EVENTS[event_type])
        if event_type == UNSUBSCRIBE_EVENT:
            return Unsubscribe(email=_unsubscribed_email(payload.get("event_data")))
        return Ignored(reason=f"Delighted event {event_type!r} is not one Kringloop acts on")

    async def fetch(self, notice: FetchLater, *, api: ToolApi,
                    http: httpx.AsyncClient) -> Answers:
        raise nothing_to_fetch(tool="Delighted")


def _answers(data: Mapping[str, Any], *, event: Literal["created", "updated"]) -> Answers:
    response_id = identifier(data.get("id"), field="event_data.id")
    score = data.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int)):
        raise UnreadableDelivery(f"event_data.score must be a whole number, not {score!r}",
                                 field="event_data.score")
    comment = data.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise UnreadableDelivery("event_data.comment must be text", field="event_data.comment")
    person = json_member(data, "person", path="event_data.person")

    delighted_fields: dict[str, Any] = {"score": score, "comment": comment,
                                        "survey_type": data.get("survey_type")}
    delighted_fields.update({f"person.{name}": person.get(name) for name in PERSON_FIELDS})
    values = {key: value for key, value in delighted_fields.items() if value is not None}
    properties = data.get("person_properties")
    if properties is not None and not isinstance(properties, Mapping):
        raise UnreadableDelivery("event_data.person_properties must be an object of "
                                 "property names and values",
                                 field="event_data.person_properties")
    for name, value in (properties or {}).items():
        values[f"person_properties.{name}"] = value
        # A property also answers to its bare name (what an admin types), unless that name
        # is one of Delighted's own fields above, which keep their meaning even when empty.
        if str(name) not in delighted_fields:
            values[str(name)] = value
    values.update(_additional_answers(data.get("additional_answers")))

    # An update's moment is when the comment or score changed; a new response's, the score.
    stamp = "updated_at" if event == "updated" and data.get("updated_at") is not None \
        else "created_at"
    return Answers(response_id=response_id, values=values, event=event,
                   answered_at=_unix_moment(data.get(stamp), field=f"event_data.{stamp}"))


def _additional_answers(answers: Any) -> dict[str, Any]:
    """Each additional question's answer under `additional_answers.<question id>`: its text,
    its scale number, or the texts of the options chosen."""
    found: dict[str, Any] = {}
    # An extra answer Delighted shapes differently is passed over rather than refused: the
    # score and the person are what a case needs, and a detractor must not lose the callback
    # over a follow-up question.
    for answer in answers if isinstance(answers, list) else []:
        question = answer.get("question") if isinstance(answer, Mapping) else None
        value = answer.get("value") if isinstance(answer, Mapping) else None
        if not isinstance(question, Mapping) or not isinstance(value, Mapping) \
                or question.get("id") is None:
            continue
        given = _chosen(value)
        if given is not None:
            found[f"additional_answers.{question['id']}"] = given
    return found


def _chosen(value: Mapping[str, Any]) -> Any:
    for kind in ("free_response", "scale"):
        if value.get(kind) is not None:
            return value[kind]
    one = value.get("select_one")
    if isinstance(one, Mapping):
        return one.get("text")
    many = value.get("select_many")
    if isinstance(many, list):
        return [option.get("text") for option in many if isinstance(option, Mapping)]
    return None


def _unsubscribed_email(data: Any) -> str:
    # Read as the survey_response example carries the person (event_data.person.email); the
    # flat `email` is how Delighted's unsubscribe listing names it, should the webhook do so.
    person = data.get("person") if isinstance(data, Mapping) else None
    candidates = [person.get("email") if isinstance(person, Mapping) else None,
                  data.get("email") if isinstance(data, Mapping) else None]
    for email in candidates:
        if isinstance(email, str) and "@" in email:
            return email.strip()
    raise UnreadableDelivery("a Delighted unsubscribe names the person's email in "
                             "event_data.person.email", field="event_data.person.email")


def _unix_moment(stamp: Any, *, field: str) -> datetime | None:
    """Delighted's times are whole seconds since 1970 (UTC), not ISO 8601 as other tools'."""
    if stamp is None:
        return None
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        raise UnreadableDelivery(f"Delighted times are Unix seconds, not {stamp!r}",
                                 field=field)
    try:
        return datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError):  # seconds beyond the calendar
        raise UnreadableDelivery(f"{stamp} is not a moment in Unix seconds",
                                 field=field) from None


def _is_hex(text: str, *, length: int) -> bool:
    text = text.strip()
    return len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text)


TOOL = Delighted()
