"""A recruiter's actions on rejections, shared by the JSON API and the workspace pages: send
one or a vacancy's batch, cancel one before it goes out. Rights are checked here; a refusal is
an ApiError with a message and the field it is about."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

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
    RejectionReceipt,
)
from kringloop.rejection_intake import RejectionRefused, considered, schedule_rejection
from kringloop.rejections import may_reject, may_see
from kringloop.web.deps import Services
from kringloop.web.errors import ApiError
from workflows.rejection import RejectionWorkflow

# How many rejections of a batch are scheduled at once.
BATCH_CONCURRENCY = 20


def require_recruiter(services: Services, caller: Principal) -> None:
    if not may_reject(caller, services.org):
        raise ApiError(403, "only recruiters and leads of the recruiting team send or cancel "
                            "rejections")


async def schedule(services: Services, caller: Principal, payload: RejectionCreate
                   ) -> tuple[RejectionReceipt, bool]:
    """Check one rejection and schedule it: its receipt, and whether it is new."""
    recruiter = considered(payload, org=services.org, caller=caller, now=datetime.now(UTC))
    scheduled = await schedule_rejection(
        payload, recruiter=recruiter, actor=caller.name, engine=services.engine,
        client=services.temporal, task_queue=services.settings.task_queue)
    return scheduled.receipt, scheduled.created


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


async def schedule_batch(services: Services, caller: Principal, vacancy_id: str,
                         batch: RejectionBatch) -> BatchResult:
    """Each item checked and answered on its own: the accepted ones go ahead even when others
    are refused."""
    require_recruiter(services, caller)
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def one(index: int, raw: dict[str, Any]) -> BatchItemResult:
        applicant = raw.get("applicant")
        given_id = applicant.get("id") if isinstance(applicant, dict) else None
        applicant_id = given_id if isinstance(given_id, str) else None  # a number is no id
        payload = _item_of(raw, vacancy_id, batch)
        if isinstance(payload, tuple):
            return _refused(index, applicant_id, *payload)
        try:
            async with gate:
                receipt, _ = await schedule(services, caller, payload)
        except RejectionRefused as refused:
            return _refused(index, applicant_id, refused.refusal.message, refused.refusal.field)
        return BatchItemResult(index=index, applicant_id=payload.applicant.id, accepted=True,
                               rejection_id=receipt.rejection_id, status=receipt.status,
                               send_at=receipt.send_at)

    results = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(batch.items)))
    accepted = sum(r.accepted for r in results)
    return BatchResult(vacancy_id=vacancy_id, accepted=accepted,
                       refused=len(results) - accepted, results=results)


def rejection_in_reach(services: Services, caller: Principal, rejection_id: str) -> Rejection:
    """The rejection, if the caller may see it; otherwise 404, so nobody learns it exists."""
    with session_for(services.engine) as session:
        row = session.get(Rejection, rejection_id)
    if row is None or not may_see(caller, services.org):
        raise ApiError(404, f"no rejection {rejection_id}")
    return row


async def cancel(services: Services, caller: Principal, row: Rejection) -> None:
    """Cancel a rejection in reach (`rejection_in_reach`) before the email goes out: it is then
    never sent. Cancelling twice is fine; cancelling an email that has gone out is refused
    (409) with a clear message."""
    require_recruiter(services, caller)
    if row.status == "scheduled":
        try:
            await services.temporal.get_workflow_handle(row.id).execute_update(
                RejectionWorkflow.cancel, Cancellation(actor=caller.name))
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            if not isinstance(cause, ApplicationError):
                raise
            raise ApiError(409, cause.message, field="status") from None
        except RPCError as error:
            raise ApiError(409, f"the rejection can no longer be cancelled ({error.message})",
                           field="status") from None
    elif row.status != "cancelled":
        raise ApiError(409, _too_late(row), field="status")


def _too_late(row: Rejection) -> str:
    if row.status == "sent" and row.sent_at is not None:
        return (f"the email has already been sent ({row.sent_at:%Y-%m-%d %H:%M} UTC), so it "
                "can no longer be cancelled")
    return f"the rejection is {row.status}; there is nothing left to cancel"
