"""The rejection API: send one or a vacancy's batch, read one, cancel one before it goes out.

Who may: the admin token, and recruiters and leads of the recruiting team (a team routing the
candidate program); the rest of that team may read. Everyone else gets 403 (or 404 on reads,
so nobody learns which applicants exist).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from kringloop.access import Principal
from kringloop.case_messages import Cancellation
from kringloop.database import session_for
from kringloop.models import (
    BatchItemResult,
    BatchResult,
    Rejection,
    RejectionBatch,
    RejectionCreate,
    RejectionPublic,
    RejectionReceipt,
)
from kringloop.rejection_intake import RejectionRefused, considered, schedule_rejection
from kringloop.rejection_queries import rejection_public
from kringloop.rejections import may_reject, may_see
from kringloop.web.deps import ApiCaller, Services, ServicesDep
from kringloop.web.errors import ApiError
from workflows.rejection import RejectionWorkflow

router = APIRouter(prefix="/api", tags=["rejections"])
# How many rejections of a batch are scheduled at once.
BATCH_CONCURRENCY = 20


def _may_reject(services: Services, caller: Principal) -> None:
    if not may_reject(caller, services.org):
        raise ApiError(403, "only recruiters and leads of the recruiting team send or cancel "
                            "rejections")


async def _schedule(services: Services, caller: Principal, payload: RejectionCreate
                    ) -> tuple[RejectionReceipt, bool]:
    recruiter = considered(payload, org=services.org, caller=caller, now=datetime.now(UTC))
    scheduled = await schedule_rejection(
        payload, recruiter=recruiter, actor=caller.name, engine=services.engine,
        client=services.temporal, task_queue=services.settings.task_queue)
    return scheduled.receipt, scheduled.created


@router.post("/rejections", status_code=status.HTTP_202_ACCEPTED,
             response_model=RejectionReceipt,
             responses={200: {"model": RejectionReceipt, "description": "already known"}})
async def post_rejection(payload: RejectionCreate, services: ServicesDep, caller: ApiCaller,
                         response: Response) -> RejectionReceipt:
    """Reject one applicant, with one or two concrete reasons. The applicant and vacancy are
    the idempotency key: posting the same rejection again answers 200 and sends nothing new."""
    _may_reject(services, caller)
    try:
        receipt, created = await _schedule(services, caller, payload)
    except RejectionRefused as refused:
        raise ApiError(refused.status_code, refused.refusal.message,
                       field=refused.refusal.field) from None
    if not created:
        response.status_code = status.HTTP_200_OK
    return receipt


def _refused(index: int, applicant_id: str | None, message: str, field: str | None
             ) -> BatchItemResult:
    return BatchItemResult(index=index, applicant_id=applicant_id, accepted=False,
                           message=message, field=field)


def _item_of(raw: dict[str, Any], vacancy_id: str, batch: RejectionBatch
             ) -> RejectionCreate | tuple[str, str]:
    """The batch item as a rejection, or (message, field) saying why it is not one."""
    item = dict(raw)
    if "vacancy" not in item and batch.vacancy_title:
        item["vacancy"] = {"id": vacancy_id, "title": batch.vacancy_title}
    try:
        payload = RejectionCreate.model_validate(item)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "item"
        return f"{field}: {first['msg']}", field
    if payload.vacancy.id != vacancy_id:
        return (f"vacancy.id is {payload.vacancy.id!r}, but this batch is for vacancy "
                f"{vacancy_id!r}", "vacancy.id")
    return payload


@router.post("/vacancies/{vacancy_id}/rejections", status_code=status.HTTP_202_ACCEPTED,
             response_model=BatchResult,
             responses={422: {"description": "no item of the batch was accepted"}})
async def post_batch(vacancy_id: str, batch: RejectionBatch, services: ServicesDep,
                     caller: ApiCaller) -> BatchResult | JSONResponse:
    """Reject many applicants for one vacancy. Each item is checked on its own and answered on
    its own: the accepted ones go ahead even when others are refused."""
    _may_reject(services, caller)
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def one(index: int, raw: dict[str, Any]) -> BatchItemResult:
        applicant = raw.get("applicant")
        applicant_id = applicant.get("id") if isinstance(applicant, dict) else None
        payload = _item_of(raw, vacancy_id, batch)
        if isinstance(payload, tuple):
            return _refused(index, applicant_id, *payload)
        try:
            async with gate:
                receipt, _ = await _schedule(services, caller, payload)
        except RejectionRefused as refused:
            return _refused(index, applicant_id, refused.refusal.message, refused.refusal.field)
        return BatchItemResult(index=index, applicant_id=payload.applicant.id, accepted=True,
                               rejection_id=receipt.rejection_id, status=receipt.status,
                               send_at=receipt.send_at)

    results = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(batch.items)))
    accepted = sum(r.accepted for r in results)
    answer = BatchResult(vacancy_id=vacancy_id, accepted=accepted,
                         refused=len(results) - accepted, results=results)
    if not accepted:
        return JSONResponse(status_code=422, content={
            "message": "no rejection in this batch was accepted; see the reason per item",
            "field": "items", **answer.model_dump(mode="json")})
    return answer


def _rejection_in_reach(services: Services, caller: Principal, rejection_id: str) -> Rejection:
    with session_for(services.engine) as session:
        row = session.get(Rejection, rejection_id)
    if row is None or not may_see(caller, services.org):
        raise ApiError(404, f"no rejection {rejection_id}")
    return row


def _public(services: Services, row: Rejection) -> RejectionPublic:
    with session_for(services.engine) as session:
        return rejection_public(session=session, row=row, org=services.org)


@router.get("/rejections/{rejection_id}", response_model=RejectionPublic)
async def get_rejection(rejection_id: str, services: ServicesDep, caller: ApiCaller
                        ) -> RejectionPublic:
    return _public(services, _rejection_in_reach(services, caller, rejection_id))


@router.delete("/rejections/{rejection_id}", response_model=RejectionPublic)
async def cancel_rejection(rejection_id: str, services: ServicesDep, caller: ApiCaller
                           ) -> RejectionPublic:
    """Cancel before the email goes out: it is then never sent. Afterwards: 409."""
    row = _rejection_in_reach(services, caller, rejection_id)
    _may_reject(services, caller)
    if row.status == "scheduled":
        try:
            await services.temporal.get_workflow_handle(rejection_id).execute_update(
                RejectionWorkflow.cancel, Cancellation(actor=caller.name))
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            if not isinstance(cause, ApplicationError):
                raise
            raise ApiError(409, cause.message, field="status") from None
        except RPCError as error:
            raise ApiError(409, f"the rejection can no longer be cancelled ({error.message})",
                           field="status") from None
    elif row.status != "cancelled":  # cancelling twice is fine; cancelling a sent email is not
        raise ApiError(409, _too_late(row), field="status")
    return _public(services, _rejection_in_reach(services, caller, rejection_id))


def _too_late(row: Rejection) -> str:
    if row.status == "sent" and row.sent_at is not None:
        return (f"the email has already been sent ({row.sent_at:%Y-%m-%d %H:%M} UTC), so it "
                "can no longer be cancelled")
    return f"the rejection is {row.status}; there is nothing left to cancel"
