"""Taking in a survey tool's own webhook: check its signature the tool's way, read what it says,
and act on it: answers taken in, a notification fetched later, an unsubscribe suppressed, an
event ignored; a delivery that cannot be read is kept for a replay."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from kringloop.intake.service import result_of, stored_response
from kringloop.mail.suppression import suppressible
from kringloop.org.organisation import SurveySource
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.sources import flows
from kringloop.sources.catalogue import tool_for
from kringloop.sources.deliveries import kept_unmapped, record, unsubscribe
from kringloop.sources.mapping import response_from, response_id_for
from kringloop.sources.messages import FetchOrder
from kringloop.sources.models import HookDelivery
from kringloop.sources.reading import (
    Answers,
    Delivery,
    FetchLater,
    Ignored,
    SecretNotSet,
    UnreadableDelivery,
    Unsubscribe,
)
from kringloop.sources.taking import HookAnswer, take_answers, unmapped

__all__ = ["HookAnswer", "check_signature", "receive_hook", "replay_unmapped", "try_sample"]


def check_signature(source: SurveySource, delivery: Delivery, *, settings: Settings,
                    now: float) -> None:
    """The tool's own signature, when the source has a secret (SignatureRefused if it does not
    count, SecretNotSet if the operator named a variable that is empty)."""
    if source.secret_env is None:
        return
    secret = settings.named_secret(source.secret_env)
    if secret is None:
        raise SecretNotSet(f"source {source.name!r}: the signing secret {source.secret_env} "
                           "is not set in Kringloop's environment")
    tool_for(source).verify(delivery, secret=secret, now=now)


async def receive_hook(source: SurveySource, delivery: Delivery, *,
                       services: Services) -> HookAnswer:
    """A delivery whose signature was checked: read, mapped and taken in, and recorded."""
    return await _take(source, delivery, services=services, delivery_id=uuid.uuid4().hex)


async def replay_unmapped(source: SurveySource, *, services: Services
                          ) -> list[tuple[HookDelivery, HookAnswer]]:
    """Every delivery of the source kept unmapped, taken in again (after the organisation file
    was mended); each one's row says what became of it this time."""
    kept = await asyncio.to_thread(kept_unmapped, services.engine, source.name)
    return [(row, await _take(source, Delivery(body=row.body or b"", headers=row.headers or {}),
                              services=services, delivery_id=row.id)) for row in kept]


def try_sample(source: SurveySource, body: bytes, *, content_type: str = "application/json"
               ) -> dict[str, Any]:
    """What a sample delivery maps to, storing nothing (`kringloop sources test`); raises
    UnreadableDelivery or UnmappedAnswers saying what is wrong."""
    tool = tool_for(source)
    reading = tool.read(Delivery(body=body, headers={"content-type": content_type}))
    if isinstance(reading, Answers):
        payload = response_from(reading, source=source, defaults=tool.default_fields)
        return {"event": reading.event,
                "response": payload.model_dump(mode="json", exclude_none=True)}
    if isinstance(reading, FetchLater):
        return {"fetch": {"survey_id": reading.survey_id, "response_id": reading.response_id},
                "note": f"{source.kind} sends only ids: Kringloop fetches the answers from "
                        f"its API, then maps them with this source's fields"}
    if isinstance(reading, Unsubscribe):
        return {"unsubscribe": reading.email}
    return {"ignored": reading.reason}


# Mechanics -----------------------------------------------------------------------------------

async def _take(source: SurveySource, delivery: Delivery, *, services: Services,
                delivery_id: str) -> HookAnswer:
    engine = services.engine
    try:
        reading = tool_for(source).read(delivery)
    except UnreadableDelivery as error:
        return await unmapped(engine, delivery_id, source, delivery, error.field, str(error))
    if isinstance(reading, Ignored):
        await record(engine, delivery_id, source.name, "ignored", error=reading.reason)
        return HookAnswer(200, {"status": "ignored", "reason": reading.reason})
    if isinstance(reading, Unsubscribe):
        try:
            email = suppressible(reading.email)
        except ValueError as error:
            return await unmapped(engine, delivery_id, source, delivery, "email", str(error))
        await asyncio.to_thread(unsubscribe, engine, delivery_id, source, email)
        return HookAnswer(200, {"status": "unsubscribed"})
    if isinstance(reading, FetchLater):
        return await _fetch_later(source, reading, delivery, services=services,
                                  delivery_id=delivery_id)
    return await take_answers(source, reading, services=services, delivery_id=delivery_id,
                              delivery=delivery)


async def _fetch_later(source: SurveySource, notice: FetchLater, delivery: Delivery, *,
                       services: Services, delivery_id: str) -> HookAnswer:
    response_id = response_id_for(source, notice.response_id)
    have = await asyncio.to_thread(stored_response, services.engine, response_id)
    if have is not None:
        await record(services.engine, delivery_id, source.name, "repeat",
                     response_id=response_id)
        return HookAnswer(200, result_of(have).model_dump(mode="json") | {"status": "repeat"})
    # Recorded first: the workflow's failed tries are written on this row.
    await record(services.engine, delivery_id, source.name, "fetching",
                 response_id=response_id, delivery=delivery)
    await flows.fetch_later(services.temporal, FetchOrder(
        source=source.name, delivery_id=delivery_id, response_id=notice.response_id,
        survey_id=notice.survey_id), task_queue=services.settings.task_queue)
    return HookAnswer(202, {"response_id": response_id, "status": "fetching"})
