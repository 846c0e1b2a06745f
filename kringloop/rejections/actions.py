"""A recruiter's actions on rejections, shared by the JSON API and the workspace pages: send
one or a vacancy's batch, read a scheduled one's email again, cancel one before it goes out.
Rights are checked here; a refusal is a Refused with a message and the field it is about."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from kringloop.database import session_for
from kringloop.mail.rendering import Email
from kringloop.org.access import Principal
from kringloop.refusal import Refused
from kringloop.rejections import flows
from kringloop.rejections.emails import compose
from kringloop.rejections.models import Rejection
from kringloop.rejections.queries import cancel_scheduled
from kringloop.rejections.rules import Refusal, may_reject, may_see
from kringloop.rejections.scheduling import (
    Order,
    RejectionRefused,
    considered,
    schedule_rejection,
    schedule_rejections,
)
from kringloop.rejections.schemas import (
    BatchItemResult,
    BatchResult,
    RejectionBatch,
    RejectionCreate,
    RejectionReceipt,
)
from kringloop.services import Services


def require_recruiter(services: Services, caller: Principal) -> None:
    if not may_reject(caller, services.org):
        raise Refused(403, "only recruiters and leads of the recruiting team send or cancel "
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
    are refused. The accepted ones are stored together and go out in one mailing."""
    require_recruiter(services, caller)
    now = datetime.now(UTC)
    results: dict[int, BatchItemResult] = {}
    orders: dict[int, Order] = {}
    for index, raw in enumerate(batch.items):
        applicant = raw.get("applicant")
        given_id = applicant.get("id") if isinstance(applicant, dict) else None
        applicant_id = given_id if isinstance(given_id, str) else None  # a number is no id
        payload = _item_of(raw, vacancy_id, batch)
        try:
            if isinstance(payload, tuple):
                raise RejectionRefused(Refusal(*payload))
            orders[index] = (payload, considered(payload, org=services.org, caller=caller,
                                                 now=now))
        except RejectionRefused as refused:
            results[index] = _refused(index, applicant_id, refused.refusal.message,
                                      refused.refusal.field)
    scheduled = await schedule_rejections(
        list(orders.values()), actor=caller.name, engine=services.engine,
        client=services.temporal, task_queue=services.settings.task_queue)
    for (index, (payload, _)), outcome in zip(orders.items(), scheduled, strict=True):
        if isinstance(outcome, RejectionRefused):
            results[index] = _refused(index, payload.applicant.id, outcome.refusal.message,
                                      outcome.refusal.field)
        else:
            receipt = outcome.receipt
            results[index] = BatchItemResult(
                index=index, applicant_id=payload.applicant.id, accepted=True,
                rejection_id=receipt.rejection_id, status=receipt.status,
                send_at=receipt.send_at)
    ordered = [results[index] for index in sorted(results)]
    accepted = sum(r.accepted for r in ordered)
    return BatchResult(vacancy_id=vacancy_id, accepted=accepted,
                       refused=len(ordered) - accepted, results=ordered)


def rejection_in_reach(services: Services, caller: Principal, rejection_id: str) -> Rejection:
    """The rejection, if the caller may see it; otherwise 404, so nobody learns it exists."""
    with session_for(services.engine) as session:
        row = session.get(Rejection, rejection_id)
    if row is None or not may_see(caller, services.org):
        raise Refused(404, f"no rejection {rejection_id}")
    return row


async def cancel(services: Services, caller: Principal, row: Rejection) -> None:
    """Cancel a rejection in reach (`rejection_in_reach`) before the email goes out: it is then
    never sent. Cancelling twice is fine; cancelling an email that has gone out is refused
    (409) with a clear message."""
    require_recruiter(services, caller)
    if row.status == "scheduled" and row.mailing_id is not None:
        current = await asyncio.to_thread(_cancelled, services, row, caller.name)
        if current.status != "cancelled":  # the mailing took it first
            raise Refused(409, _too_late(current), field="status")
    elif row.status == "scheduled":  # made before vacancy mailings: its own workflow decides
        await flows.cancel_in_own_workflow(services.temporal, row.id, actor=caller.name)
    elif row.status != "cancelled":
        raise Refused(409, _too_late(row), field="status")


def scheduled_email(services: Services, row: Rejection) -> Email:
    """A scheduled rejection's email as it will go out: to read again (before cancelling it,
    say) until it goes."""
    return compose(kind="rejection", row=row, org=services.org, settings=services.settings)


def _cancelled(services: Services, row: Rejection, actor: str) -> Rejection:
    with session_for(services.engine) as session:
        return cancel_scheduled(session=session, row=row, actor=actor, at=datetime.now(UTC))


def _too_late(row: Rejection) -> str:
    if row.status == "sending":
        return "the email is being sent right now and can no longer be cancelled"
    if row.status == "sent" and row.sent_at is not None:
        return (f"the email has already been sent ({row.sent_at:%Y-%m-%d %H:%M} UTC), so it "
                "can no longer be cancelled")
    return f"the rejection is {row.status}; there is nothing left to cancel"
