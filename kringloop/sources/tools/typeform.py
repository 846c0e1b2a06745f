"""Typeform's webhook: a submitted typeform, signed with the webhook's secret, read into its
answers under each field's ref and id, with its hidden fields and variables under their names."""

# Documented at:
#   https://www.typeform.com/developers/webhooks/secure-your-webhooks/ (the signature)
#   https://www.typeform.com/developers/webhooks/example-payload/ (the delivery)

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

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
    nothing_to_fetch,
    whole_number,
)

SIGNATURE_PREFIX = "sha256="


class Typeform:
    """Typeform as a survey tool: a `form_response` delivery carries the whole response."""

    kind = "typeform"
    # A typeform's questions and hidden fields are named by whoever builds the form: no field
    # of ours has an obvious ref there, so the source's [sources.fields] names them all.
    default_fields: Mapping[str, str] = MappingProxyType({})
    signature_header = "typeform-signature"

    def verify(self, delivery: Delivery, *, secret: str, now: float) -> None:
        # Typeform signs no timestamp, so `now` has nothing to check: a delivery sent again
        # carries the same response token, and intake takes each response in once.
        given = delivery.headers.get(self.signature_header)
        if not given:
            raise SignatureRefused(
                "the Typeform-Signature header is missing: give the webhook a secret in Typeform "
                "(Connect > Webhooks > Edit > Secret, or `secret` in the Webhooks API), the same "
                "secret as this source has in Kringloop")
        if not given.startswith(SIGNATURE_PREFIX):
            raise SignatureRefused(
                "Typeform-Signature must look like sha256=<base64 HMAC-SHA256 of the raw body>, "
                f"not {given[:24]!r}")
        digest = hmac.new(secret.encode(), delivery.body, hashlib.sha256).digest()
        expected = SIGNATURE_PREFIX + base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected.encode(), given.strip().encode()):
            raise SignatureRefused(
                "Typeform-Signature does not match the body: the webhook's secret in Typeform "
                "differs from this source's secret in Kringloop, or the body changed on the way")

    def read(self, delivery: Delivery) -> Reading:
        payload = json_object(delivery.body, tool="Typeform")
        event = event_name(payload, "event_type", tool="Typeform")
        if event == "form_response_partial":
            return Ignored("a partial response: the respondent has not submitted the typeform")
        if event != "form_response":
            return Ignored(f"Typeform event {event!r} is not a submitted response")
        response = json_member(payload, "form_response", path="form_response")
        # The token is Typeform's id for the response.
        token = identifier(response.get("token"), field="form_response.token")
        return Answers(response_id=token, values=_values(response),
                       answered_at=moment(response.get("submitted_at"),
                                          field="form_response.submitted_at"))

    async def fetch(self, notice: FetchLater, *, api: ToolApi,
                    http: httpx.AsyncClient) -> Answers:
        raise nothing_to_fetch(tool="Typeform")


def _values(response: Mapping[str, Any]) -> dict[str, Any]:
    """Hidden fields, then variables, then the answers under their fields' ref and id: an
    answer is what the person gave, so it wins over a hidden field or variable of that name."""
    hidden = response.get("hidden") or {}
    if not isinstance(hidden, dict):
        raise UnreadableDelivery("hidden fields come as an object of name and value",
                                 field="form_response.hidden")
    values: dict[str, Any] = dict(hidden)
    variables = response.get("variables") or []
    if not isinstance(variables, list):
        raise UnreadableDelivery("variables come as a list", field="form_response.variables")
    for n, variable in enumerate(variables):
        if not (isinstance(variable, dict) and isinstance(variable.get("key"), str)):
            raise UnreadableDelivery("a variable has a key",
                                     field=f"form_response.variables[{n}].key")
        # A variable keeps its value under its type's name, as an answer does.
        values[variable["key"]] = whole_number(variable.get(str(variable.get("type"))))
    answers = response.get("answers") or []
    if not isinstance(answers, list):
        raise UnreadableDelivery("answers come as a list", field="form_response.answers")
    # The answers name their field by id; most leave its ref to the form's definition.
    refs = _refs(response.get("definition"))
    for n, answer in enumerate(answers):
        field = answer.get("field") if isinstance(answer, dict) else None
        if not (isinstance(field, dict) and isinstance(field.get("id"), str)):
            raise UnreadableDelivery("an answer names its field's id",
                                     field=f"form_response.answers[{n}].field.id")
        value = _answer(answer)
        values[field["id"]] = value
        ref = field.get("ref") or refs.get(field["id"])
        if isinstance(ref, str) and ref:
            values[ref] = value
    return values


def _refs(definition: Any) -> dict[str, str]:
    """Each field's ref by its id, as the form's definition lists them."""
    fields = definition.get("fields") if isinstance(definition, dict) else None
    return {field["id"]: field["ref"] for field in fields or []
            if isinstance(field, dict) and isinstance(field.get("id"), str)
            and isinstance(field.get("ref"), str)}


def _answer(answer: Mapping[str, Any]) -> Any:
    """The answer as a person would say it: a choice by its label, a number as a number."""
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = value.get("labels") if isinstance(value.get("labels"), list) else []
        return [*labels, value["other"]] if value.get("other") else labels
    return whole_number(value)


TOOL = Typeform()
