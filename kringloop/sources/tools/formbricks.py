"""Formbricks' webhook: a response event signed the Standard Webhooks way, read into the answers
under their question and hidden field ids, with the contact's attributes beside them."""

# Documented at: https://formbricks.com/docs/platform/features/integrations/webhooks
# ("Webhook Security with Standard Webhooks" for the signature, "Example Webhook Payloads" for
# the deliveries); the scheme is https://github.com/standard-webhooks/standard-webhooks.

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

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

# How long a signed delivery counts: the tolerance Formbricks' documentation verifies with.
TOLERANCE_S = 5 * 60
RESPONSE_EVENTS = frozenset({"responseCreated", "responseUpdated", "responseFinished"})
# What the response's meta says that a mapping may want (where it came from, not the browser).
META_KEYS = ("source", "url", "country", "action")


class Formbricks:
    """Formbricks as a survey tool: each delivery carries the whole response so far."""

    kind = "formbricks"
    # Formbricks keeps who answered as contact attributes, and every workspace has `userId`,
    # `email`, `firstName`, `lastName` and `language` among them. The language is the
    # response's own (what the survey was shown in), which link surveys without a contact
    # have too. A name is two attributes, not one, so it is left to the source's mapping.
    default_fields: Mapping[str, str] = MappingProxyType({
        "respondent.id": "contactAttributes.userId",
        "respondent.email": "contactAttributes.email",
        "respondent.language": "language",
    })
    signature_header = "webhook-signature"

    def verify(self, delivery: Delivery, *, secret: str, now: float) -> None:
        headers = delivery.headers
        signatures = headers.get(self.signature_header, "").split()
        if not signatures:
            raise SignatureRefused(
                "the webhook-signature header is missing: Formbricks signs deliveries only for a "
                "webhook that has a signing secret (older webhooks may have none); copy the "
                "webhook's whsec_ secret from Formbricks into this source, or make the webhook "
                "anew")
        if not any(signature.startswith("v1,") for signature in signatures):
            raise SignatureRefused(
                "webhook-signature must hold v1,<base64 HMAC-SHA256 of id.timestamp.body>, "
                f"not {signatures[0][:24]!r}")
        message_id = headers.get("webhook-id")
        if not message_id:
            raise SignatureRefused("the webhook-id header is missing: Formbricks signs it with "
                                   "the body, so the signature cannot be checked without it")
        timestamp = _timestamp(headers.get("webhook-timestamp"))
        late_s = now - timestamp
        if abs(late_s) > TOLERANCE_S:
            raise SignatureRefused(_outside_tolerance(late_s))
        try:
            signer = Webhook(secret)
        except (ValueError, EmptyWebhookSecretError):
            raise SignatureRefused(
                "this source's Formbricks secret is not a signing secret (whsec_ followed by "
                "base64): copy it again from the webhook's settings in Formbricks") from None
        try:
            body = delivery.body.decode()
        except UnicodeDecodeError:
            raise SignatureRefused("the body is not UTF-8 text, so it is not what Formbricks "
                                   "signed") from None
        # The library's own verify() reads the wall clock; the time was checked against `now`
        # above, so only its signing (secret decoding, id.timestamp.body) is used here.
        expected = signer.sign(message_id, datetime.fromtimestamp(timestamp, UTC), body).encode()
        # A webhook may be sent with several signatures (a secret being rotated): one will do.
        if not any(hmac.compare_digest(expected, signature.encode()) for signature in signatures):
            raise SignatureRefused(
                "webhook-signature does not match the body: the webhook's secret in Formbricks "
                "differs from this source's secret in Kringloop, or the body changed on the way")

    def read(self, delivery: Delivery) -> Reading:
        payload = json_object(delivery.body, tool="Formbricks")
        event = event_name(payload, "event", tool="Formbricks")
        if event == "testEndpoint":
            return Ignored("Formbricks testing the endpoint, as it does when a webhook is saved")
        if event not in RESPONSE_EVENTS:
            return Ignored(f"Formbricks event {event!r} is not a response")
        response = json_member(payload, "data", path="data")
        response_id = identifier(response.get("id"), field="data.id")
        finished = response.get("finished")
        if not isinstance(finished, bool):
            raise UnreadableDelivery("a response says whether it is finished",
                                     field="data.finished")
        if event != "responseFinished" and not finished:
            return Ignored("response not finished yet")
        if event == "responseCreated":
            return Ignored("a response finished as it was created: Formbricks sends it again "
                           "as responseFinished, so subscribe the webhook to responseFinished")
        # Formbricks sends the finishing change twice, as responseUpdated and as
        # responseFinished; a later change to a finished response comes as responseUpdated.
        # Either way, updatedAt is when it was finished or last changed after.
        stamp = "updatedAt" if response.get("updatedAt") else "createdAt"
        return Answers(
            response_id=response_id, values=_values(response),
            answered_at=moment(response.get(stamp), field=f"data.{stamp}"),
            event="created" if event == "responseFinished" else "updated")

    async def fetch(self, notice: FetchLater, *, api: ToolApi,
                    http: httpx.AsyncClient) -> Answers:
        raise nothing_to_fetch(tool="Formbricks")


def _values(response: Mapping[str, Any]) -> dict[str, Any]:
    """The answers and hidden fields under their ids (`data.data`, which holds both), and
    beside them, by their path in the response: `language`, `contactAttributes.<key>`,
    `contact.id`/`contact.userId`, `meta.<key>` and `variables.<id>`."""
    values: dict[str, Any] = {}
    if isinstance(response.get("language"), str):
        values["language"] = response["language"]
    for name in ("contactAttributes", "contact", "variables"):
        part = response.get(name) or {}
        if not isinstance(part, dict):
            raise UnreadableDelivery(f"{name} comes as an object", field=f"data.{name}")
        values |= {f"{name}.{key}": whole_number(value) for key, value in part.items()}
    meta = response.get("meta") or {}
    if isinstance(meta, dict):
        values |= {f"meta.{key}": meta[key] for key in META_KEYS if isinstance(meta.get(key), str)}
    answers = json_member(response, "data", path="data.data")
    # Written last: a hidden field the survey calls `language` is the survey builder's own.
    values |= {question: whole_number(answer) for question, answer in answers.items()}
    return values


def _timestamp(header: str | None) -> int:
    if not header:
        raise SignatureRefused("the webhook-timestamp header is missing: Formbricks signs it "
                               "with the body, so the signature cannot be checked without it")
    if not (header.isascii() and header.isdigit()):
        raise SignatureRefused(f"webhook-timestamp must be a Unix time in seconds, not "
                               f"{header[:24]!r}")
    return int(header)


def _outside_tolerance(late_s: float) -> str:
    """Why a delivery signed `late_s` seconds ago (negative: ahead of us) does not count."""
    span = abs(late_s)
    said = f"{round(span / 60)} minutes" if span >= 120 else f"{round(span)} seconds"
    when = f"{said} old" if late_s > 0 else f"{said} ahead of this server's clock"
    return (f"webhook-timestamp is {when}; a Formbricks delivery counts for "
            f"{TOLERANCE_S // 60} minutes after it is signed (a delivery sent again later, or a "
            "clock that is off)")


TOOL = Formbricks()
