"""The rejection API: send one or a vacancy's batch, read one, cancel one before it goes out.

Who may: the admin token, and recruiters and leads of the recruiting team (a team routing the
candidate program); the rest of that team may read. Everyone else gets 403 (or 404 on reads,
so nobody learns which applicants exist).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from kringloop.database import session_for
from kringloop.refusal import Refused
from kringloop.rejections import actions as rejection_actions
from kringloop.rejections.models import Rejection
from kringloop.rejections.queries import rejection_public
from kringloop.rejections.scheduling import RejectionRefused
from kringloop.rejections.schemas import (
    BatchResult,
    RejectionBatch,
    RejectionCreate,
    RejectionPublic,
    RejectionReceipt,
)
from kringloop.services import Services
from kringloop.web.deps import ApiCaller, ServicesDep

router = APIRouter(prefix="/api", tags=["rejections"])


@router.post("/rejections", status_code=status.HTTP_202_ACCEPTED,
             response_model=RejectionReceipt,
             responses={200: {"model": RejectionReceipt, "description": "already known"}})
async def post_rejection(payload: RejectionCreate, services: ServicesDep, caller: ApiCaller,
                         response: Response) -> RejectionReceipt:
    """Reject one applicant, with one or two concrete reasons. The applicant and vacancy are
    the idempotency key: posting the same rejection again answers 200 and sends nothing new."""
    rejection_actions.require_recruiter(services, caller)
    try:
        receipt, created = await rejection_actions.schedule(services, caller, payload)
    except RejectionRefused as refused:
        raise Refused(refused.status_code, refused.refusal.message,
                       field=refused.refusal.field) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return receipt


@router.post("/vacancies/{vacancy_id}/rejections", status_code=status.HTTP_202_ACCEPTED,
             response_model=BatchResult,
             responses={422: {"description": "no item of the batch was accepted"}})
async def post_batch(vacancy_id: str, batch: RejectionBatch, services: ServicesDep,
                     caller: ApiCaller) -> BatchResult | JSONResponse:
    """Reject many applicants for one vacancy. Each item is checked on its own and answered on
    its own: the accepted ones go ahead even when others are refused."""
    answer = await rejection_actions.schedule_batch(services, caller, vacancy_id, batch)
    if not answer.accepted:
        return JSONResponse(status_code=422, content={
            "message": "no rejection in this batch was accepted; see the reason per item",
            "field": "items", **answer.model_dump(mode="json")})
    return answer


def _public(services: Services, row: Rejection) -> RejectionPublic:
    with session_for(services.engine) as session:
        return rejection_public(session=session, row=row, org=services.org)


@router.get("/rejections/{rejection_id}", response_model=RejectionPublic)
def get_rejection(rejection_id: str, services: ServicesDep, caller: ApiCaller
                  ) -> RejectionPublic:
    return _public(services, rejection_actions.rejection_in_reach(services, caller,
                                                                  rejection_id))


@router.delete("/rejections/{rejection_id}", response_model=RejectionPublic)
async def cancel_rejection(rejection_id: str, services: ServicesDep, caller: ApiCaller
                           ) -> RejectionPublic:
    """Cancel before the email goes out: it is then never sent. Afterwards: 409."""
    row = await asyncio.to_thread(rejection_actions.rejection_in_reach, services, caller,
                                  rejection_id)
    await rejection_actions.cancel(services, caller, row)
    return await asyncio.to_thread(get_rejection, rejection_id, services, caller)
