"""Taking in a tool's answers: mapped with the source's fields, then a new response (and its
case), a repeat, or an update of one we have; answers that cannot be mapped are kept."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from kringloop.intake.service import Intake, receive_response, update_response
from kringloop.org.organisation import SurveySource
from kringloop.services import Services
from kringloop.sources.catalogue import tool_for
from kringloop.sources.deliveries import record
from kringloop.sources.mapping import UnmappedAnswers, response_from, response_id_for
from kringloop.sources.reading import Answers, Delivery

log = logging.getLogger("kringloop.sources")


@dataclass(frozen=True)
class HookAnswer:
    """What the survey tool is answered: the HTTP status and body."""

    status: int
    body: dict[str, Any]


async def take_answers(source: SurveySource, answers: Answers, *, services: Services,
                       delivery_id: str, delivery: Delivery | None) -> HookAnswer:
    """The answers as a new response (and its case), a repeat, or an update of one we have;
    kept unmapped, with the reason, when the source's fields find no score in them."""
    settings = services.settings
    try:
        payload = response_from(answers, source=source, defaults=tool_for(source).default_fields)
    except UnmappedAnswers as error:
        return await unmapped(
            services.engine, delivery_id, source, delivery, error.field, str(error),
            response_id=response_id_for(source, answers.response_id))
    intake: Intake | None = None
    if answers.event == "updated":
        intake = await update_response(payload, engine=services.engine,
                                       client=services.temporal, id_key=settings.signing_key)
    if intake is None:  # a new response (or an update that outran its creation)
        intake = await receive_response(
            payload, engine=services.engine, client=services.temporal, org=services.org,
            task_queue=settings.task_queue, id_key=settings.signing_key, source=source.name,
            tool=source.kind)
    status = "taken" if intake.created else "updated" if intake.updated else "repeat"
    await record(services.engine, delivery_id, source.name, status,
                 response_id=intake.result.response_id)
    return HookAnswer(201 if intake.created else 200,
                      intake.result.model_dump(mode="json") | {"status": status})


async def unmapped(engine: Engine, delivery_id: str, source: SurveySource,
                   delivery: Delivery | None, field: str, message: str, *,
                   response_id: str | None = None) -> HookAnswer:
    """Kept with its error for `kringloop hooks replay`; the tool hears which field is wrong."""
    log.warning("a %s delivery could not be mapped", source.kind,
                extra={"source": source.name, "field": field})
    await record(engine, delivery_id, source.name, "unmapped", response_id=response_id,
                 error=message, delivery=delivery)
    return HookAnswer(422, {"message": message, "field": field, "status": "unmapped",
                            "kept": True, "replay": f"kringloop hooks replay {source.name}"})
