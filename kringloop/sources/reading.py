"""What a survey tool's delivery says, in shapes shared by every tool: the answers as the tool
names them, a notification whose answers must still be fetched, an unsubscribe, or nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx


@dataclass(frozen=True)
class Delivery:
    """A webhook request as it arrived: the raw body (signatures cover it byte for byte) and
    the headers, their names in lower case."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Answers:
    """One response as the tool names its parts: `values` maps each of the tool's own
    identifiers (field ref and id, question key and label, hidden field, contact attribute,
    person property) to the answer given. `response_id` is the tool's own id for it."""

    response_id: str
    values: Mapping[str, Any]
    answered_at: datetime | None = None
    event: Literal["created", "updated"] = "created"


@dataclass(frozen=True)
class FetchLater:
    """A notification that names a response without its answers (SurveyMonkey, Qualtrics):
    `survey_id` and `response_id` are what the tool's API needs to hand them over."""

    response_id: str
    survey_id: str


@dataclass(frozen=True)
class Unsubscribe:
    """The person asked the tool to send them no more email."""

    email: str


@dataclass(frozen=True)
class Ignored:
    """An event this source does not act on (a test ping, an unfinished response)."""

    reason: str


Reading = Answers | FetchLater | Unsubscribe | Ignored


class UnreadableDelivery(ValueError):
    """A delivery that is not what the tool documents; `field` names what is missing or wrong
    (a JSON path such as `form_response.token`), so the sender's admin can act on it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class SignatureRefused(Exception):
    """Why a delivery's signature does not count, in words an integrator can act on."""


class SecretNotSet(Exception):
    """The source names a secret variable (signing secret, API token) that is not set: the
    operator's to fix, not the tool's."""


@dataclass(frozen=True)
class ToolApi:
    """Where and how to reach a tool's API for `FetchLater` notifications."""

    base_url: str
    token: str


class SurveyTool(Protocol):
    """What Kringloop needs to know of one survey tool."""

    kind: str
    # Our fields (`score`, `comment`, `respondent.email`, …) to the tool's identifiers, where
    # the tool has an obvious one (Delighted's `score`): a source may leave these out.
    default_fields: Mapping[str, str]
    # The header that carries the signature: its absence is the first thing a refusal names.
    signature_header: str

    def verify(self, delivery: Delivery, *, secret: str, now: float) -> None:
        """Accept the delivery's signature under `secret`, or raise SignatureRefused."""

    def read(self, delivery: Delivery) -> Reading:
        """What the delivery says; raises UnreadableDelivery for what it cannot be."""

    async def fetch(self, notice: FetchLater, *, api: ToolApi,
                    http: httpx.AsyncClient) -> Answers:
        """The answers of a `FetchLater` (tools that send only ids). Raises
        httpx.HTTPError (worth retrying) or UnreadableDelivery (a mapping matter)."""
