"""Intake: survey tools post responses here; a low score opens a case."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from kringloop.enps.conversation import conversation_link
from kringloop.intake.schemas import IntakeResult, ResponseCreate
from kringloop.intake.service import receive_response
from kringloop.responses.anonymity import stays_anonymous
from kringloop.web.deps import ServicesDep, require_intake, require_signature
from kringloop.web.rate_limits import limit_intake

router = APIRouter(prefix="/api/responses", tags=["intake"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IntakeResult,
             dependencies=[Depends(require_intake), Depends(require_signature),
                           Depends(limit_intake)],
             responses={200: {"model": IntakeResult, "description": "already received"}})
async def post_response(payload: ResponseCreate, services: ServicesDep,
                        response: Response) -> IntakeResult:
    """Take in one response. The response id is the idempotency key: sending it again is safe.
    An anonymous employee's low score comes back with their private `conversation_url`, once."""
    intake = await receive_response(payload, engine=services.engine, client=services.temporal,
                                    org=services.org, task_queue=services.settings.task_queue,
                                    id_key=services.settings.signing_key)
    if not intake.created:
        response.status_code = status.HTTP_200_OK
    elif intake.result.case_id and stays_anonymous(payload.program, payload.meta):
        return intake.result.model_copy(update={"conversation_url": conversation_link(
            services.settings, intake.result.case_id)})
    return intake.result
