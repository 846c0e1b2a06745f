"""Tally's webhook: a form submission, signed with the webhook's signing secret, read into its
fields under each field's key and label (a hidden field's label is its name)."""

# Documented at: https://tally.so/help/webhooks ("Add a signing secret" for the signature,
# "Example webhook event" for the delivery).

from __future__ import annotations

import base64
import hashlib
import hmac
import json
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

# Fields whose value is a number a person picked: a score reads as an int.
NUMBER_TYPES = frozenset({"LINEAR_SCALE", "RATING", "INPUT_NUMBER"})
# Fields that offer options where one is picked: read as that option's text, not a list.
ONE_OF_TYPES = frozenset({"MULTIPLE_CHOICE", "DROPDOWN"})


class Tally:
    """Tally as a survey tool: a `FORM_RESPONSE` delivery carries the whole submission."""

    kind = "tally"
    # A Tally form's questions and hidden fields are named by whoever builds the form: no
    # field of ours has an obvious key there, so the source's [sources.fields] names them all.
    default_fields: Mapping[str, str] = MappingProxyType({})
    signature_header = "tally-signature"

    def verify(self, delivery: Delivery, *, secret: str, now: float) -> None:
        # Tally signs no timestamp, so `now` has nothing to check: a delivery sent again
        # carries the same responseId, and intake takes each response in once.
        given = delivery.headers.get(self.signature_header)
        if not given:
            raise SignatureRefused(
                "the Tally-Signature header is missing: give the webhook a signing secret in "
                "Tally (Integrations > Webhooks > Signing secret), the same secret as this "
                "source has in Kringloop")
        given_bytes = given.strip().encode()
        if hmac.compare_digest(_signature(secret, delivery.body), given_bytes):
            return
        # Tally's own example signs JSON.stringify of the parsed payload rather than the bytes
        # received. Tally posts that same compact JSON, so the raw body (checked above) is what
        # matches; the compact rendering is checked too in case something on the way re-spaced
        # the body. It equals JSON.stringify for what Tally sends (strings, whole numbers,
        # lists, objects); a float such as 1.0, which JavaScript writes as 1, would not match.
        compact = _as_json_stringify(delivery.body)
        if compact is not None and hmac.compare_digest(_signature(secret, compact), given_bytes):
            return
        raise SignatureRefused(
            "Tally-Signature does not match the body: the webhook's signing secret in Tally "
            "differs from this source's secret in Kringloop, or the body changed on the way")

    def read(self, delivery: Delivery) -> Reading:
        payload = json_object(delivery.body, tool="Tally")
        event = event_name(payload, "eventType", tool="Tally")
        if event != "FORM_RESPONSE":
            return Ignored(f"Tally event {event!r} is not a form response")
        submission = json_member(payload, "data", path="data")
        response_id = identifier(submission.get("responseId"), field="data.responseId")
        return Answers(response_id=response_id, values=_values(submission.get("fields")),
                       answered_at=moment(submission.get("createdAt"), field="data.createdAt"))

    async def fetch(self, notice: FetchLater, *, api: ToolApi,
                    http: httpx.AsyncClient) -> Answers:
        raise nothing_to_fetch(tool="Tally")


def _values(fields: Any) -> dict[str, Any]:
    """Each field's value under its label, then under its key: keys are unique, labels need
    not be, so where a label repeats another field's key the key keeps its own field."""
    if not isinstance(fields, list):
        raise UnreadableDelivery("a submission's fields come as a list", field="data.fields")
    by_label: dict[str, Any] = {}
    by_key: dict[str, Any] = {}
    for n, field in enumerate(fields):
        if not (isinstance(field, dict) and isinstance(field.get("key"), str)):
            raise UnreadableDelivery("a field has a key", field=f"data.fields[{n}].key")
        value = _value(field)
        by_key[field["key"]] = value
        if isinstance(field.get("label"), str) and field["label"]:
            by_label[field["label"]] = value
    return by_label | by_key


def _value(field: Mapping[str, Any]) -> Any:
    """The answer as a person would say it: options by their text, a score as an int."""
    value, kind = field.get("value"), field.get("type")
    if isinstance(kind, str) and kind in NUMBER_TYPES:
        return whole_number(value)
    options = field.get("options")
    if not isinstance(options, list):
        return value
    # Options and picks are looked up by id: only text ids count (a list or an object, which
    # Tally never sends, could not be looked up at all).
    text = {option["id"]: option.get("text") for option in options
            if isinstance(option, dict) and isinstance(option.get("id"), str)}
    # Older deliveries give a single picked option as its id alone, newer ones as a list.
    picked = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    texts = [text.get(option, option) if isinstance(option, str) else option
             for option in picked]
    if isinstance(kind, str) and kind in ONE_OF_TYPES and len(texts) <= 1:
        return texts[0] if texts else None
    return texts


def _signature(secret: str, body: bytes) -> bytes:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())


def _as_json_stringify(body: bytes) -> bytes | None:
    """The body as JavaScript's JSON.stringify writes it, or None when it is not JSON."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


TOOL = Tally()
