"""Survey tools' own webhooks: each source in the organisation file has its URL here."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import JSONResponse

from kringloop.org.organisation import SurveySource
from kringloop.refusal import Refused
from kringloop.sources.reading import Delivery, SecretNotSet, SignatureRefused
from kringloop.sources.service import check_signature, receive_hook
from kringloop.web.deps import Credentials, ServicesDep, require_intake
from kringloop.web.rate_limits import limit_intake

router = APIRouter(prefix="/api/hooks", tags=["intake"])

_ANSWERS: dict[int | str, dict[str, Any]] = {
    201: {"description": "a new response (`response_id`, `category`, `case_id`)"},
    200: {"description": "a repeat, an update of a known response, an unsubscribe, or an "
                         "event this source ignores (`status` says which)"},
    202: {"description": "a notification whose answers Kringloop fetches from the tool's API"},
    401: {"description": "the tool's signature is missing or wrong (or, without a signing "
                         "secret, the intake token)"},
    404: {"description": "no source of that name in the organisation file"},
    422: {"description": "the delivery could not be mapped; it is kept for "
                         "`kringloop hooks replay SOURCE`, and `field` names what was missing"},
}


@router.post("/{name}", status_code=status.HTTP_201_CREATED, responses=_ANSWERS,
             dependencies=[Depends(limit_intake)])
async def post_delivery(name: Annotated[str, Path(max_length=40)], request: Request,
                        services: ServicesDep, credentials: Credentials) -> JSONResponse:
    """A delivery from the survey tool of source `name`, as the tool sends it (JSON, or
    Qualtrics' form-encoded notification). Its response id is the tool's own: sending it again
    is safe, and a later delivery for the same response updates it."""
    source = services.org.source(name)
    if source is None:
        raise Refused(404, f"no source {name!r}: sources are declared in the organisation "
                           "file ([[sources]])")
    delivery = Delivery(body=await request.body(),
                        headers={key.lower(): value for key, value in request.headers.items()})
    _check_sender(source, delivery, services=services, credentials=credentials)
    answer = await receive_hook(source, delivery, services=services)
    return JSONResponse(answer.body, status_code=answer.status)


def _check_sender(source: SurveySource, delivery: Delivery, *, services: ServicesDep,
                  credentials: Credentials) -> None:
    """With a signing secret the tool's own signature, otherwise the intake token."""
    if source.secret_env is None:
        require_intake(services, credentials)
        return
    try:
        check_signature(source, delivery, settings=services.settings, now=time.time())
    except SignatureRefused as refused:
        raise Refused(401, str(refused), field="signature") from None
    except SecretNotSet as missing:
        # The operator's mistake, not the tool's: a 5xx, so the tool delivers it again later.
        raise Refused(503, f"{missing}; nothing was stored: try again later") from None
