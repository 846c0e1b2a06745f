"""Fetching a notified response's answers from the tool's API (SurveyMonkey, Qualtrics)."""

from __future__ import annotations

import asyncio

import httpx

from kringloop.org.organisation import SurveySource
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.sources.catalogue import default_api_url, tool_for
from kringloop.sources.deliveries import record, record_failed_try
from kringloop.sources.mapping import response_id_for
from kringloop.sources.messages import FetchOrder
from kringloop.sources.reading import FetchLater, SecretNotSet, ToolApi, UnreadableDelivery
from kringloop.sources.taking import take_answers


async def fetch_and_take_in(order: FetchOrder, *, services: Services,
                            http: httpx.AsyncClient) -> str:
    """The notified response's answers from the tool's API, taken in. A failing API (or a
    token not set) is recorded on the delivery for the admin and raised, to be tried again."""
    source = services.org.source(order.source)
    if source is None:
        await record(services.engine, order.delivery_id, order.source, "unmapped",
                     error=f"no source {order.source!r} in the organisation file any more")
        return "unmapped"
    tool = tool_for(source)
    try:
        api = _api_of(source, services.settings)
        answers = await tool.fetch(FetchLater(response_id=order.response_id,
                                              survey_id=order.survey_id), api=api, http=http)
    except (httpx.HTTPError, SecretNotSet) as error:
        await asyncio.to_thread(record_failed_try, services.engine, order.delivery_id,
                                f"fetching the answers from {source.kind}: {_said(error)}")
        raise
    except UnreadableDelivery as error:
        await record(services.engine, order.delivery_id, source.name, "unmapped",
                     response_id=response_id_for(source, order.response_id),
                     error=f"{error.field}: {error}")
        return "unmapped"
    answer = await take_answers(source, answers, services=services,
                                delivery_id=order.delivery_id, delivery=None)
    return str(answer.body.get("status", "taken"))


def _api_of(source: SurveySource, settings: Settings) -> ToolApi:
    assert source.api_token_env is not None  # the organisation file's check
    token = settings.named_secret(source.api_token_env)
    if token is None:
        raise SecretNotSet(f"the API token {source.api_token_env} is not set in Kringloop's "
                           "environment")
    return ToolApi(base_url=source.api_url or default_api_url(source), token=token)


def _said(error: Exception) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        response = error.response
        return f"{response.status_code} {response.reason_phrase} from {error.request.url.host}"
    return str(error) or type(error).__name__
