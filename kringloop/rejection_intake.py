"""Taking in a rejection: check it, store it once, start its workflow, answer when it goes out.

Used by the JSON API (one, or a vacancy's batch) and by the CSV import alike.

The same applicant and vacancy again is the same rejection: with the same content it changes
nothing (a retry is safe; one email); with other content while it is scheduled or sent, it is
refused (409), because silently keeping the first version would mislead the recruiter. A
cancelled (or undeliverable) rejection may be sent again, corrected: that starts a new round.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from kringloop.access import Principal
from kringloop.case_messages import RejectionInput
from kringloop.database import session_for
from kringloop.models import Rejection, RejectionCreate, RejectionEvent, RejectionReceipt
from kringloop.org import Member, Organisation
from kringloop.rejection_queries import event
from kringloop.rejections import Refusal, recruiter_for, rejection_id_for, rejection_refusal
from workflows.rejection import RejectionWorkflow

RESTART_WAIT_S = 10.0
PLAN_WAIT_S = 30.0


class RejectionRefused(Exception):
    """A rejection that is not sent, with the message and field to show (422, or 409)."""

    def __init__(self, refusal: Refusal, status_code: int = 422) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
        self.status_code = status_code


@dataclass(frozen=True)
class Scheduled:
    receipt: RejectionReceipt
    created: bool


def considered(payload: RejectionCreate, *, org: Organisation, caller: Principal | None,
               now: datetime) -> Member:
    """The recruiter who signs, once the rejection passes every rule; else RejectionRefused."""
    refusal = rejection_refusal(payload, org=org, now=now)
    if refusal is not None:
        raise RejectionRefused(refusal)
    recruiter = recruiter_for(payload, org, caller)
    if isinstance(recruiter, Refusal):
        raise RejectionRefused(recruiter)
    return recruiter


def _fields(payload: RejectionCreate, recruiter: Member) -> dict[str, object]:
    """What the applicant will read (and whose name is under it), as stored on the row."""
    return {
        "applicant_name": payload.applicant.name,
        "applicant_email": str(payload.applicant.email),
        "language": payload.applicant.language,
        "vacancy_title": payload.vacancy.title,
        "stage": payload.stage,
        "reasons": [{"code": r.code, "sentence": r.sentence} for r in payload.reasons],
        "recruiter_email": recruiter.email,
    }


def _differs(row: Rejection, fields: dict[str, object]) -> bool:
    """Other content than stored? (A different `send_at` alone is a retry's clock, not news.)"""
    return any(getattr(row, name) != value for name, value in fields.items())


def receipt_of(row: Rejection) -> RejectionReceipt:
    return RejectionReceipt(rejection_id=row.id, status=row.status,  # type: ignore[arg-type]
                            send_at=row.send_at)


def _summary(payload: RejectionCreate, recruiter: Member) -> str:
    codes = ", ".join(r.code for r in payload.reasons)
    return (f"{payload.stage} rejection for {payload.vacancy.title} ({codes}), "
            f"signed by {recruiter.name}")


def as_rejection(payload: RejectionCreate, recruiter: Member, *, actor: str, now: datetime
                 ) -> Rejection:
    """The row this rejection is stored as; not added to any session (a preview uses it)."""
    return Rejection(id=rejection_id_for(payload.applicant.id, payload.vacancy.id),
                     applicant_id=payload.applicant.id, vacancy_id=payload.vacancy.id,
                     requested_send_at=payload.send_at, created_by=actor, created_at=now,
                     **_fields(payload, recruiter))


def _store(session: Session, payload: RejectionCreate, recruiter: Member, actor: str
           ) -> tuple[Rejection, str]:
    """The stored rejection and what happened: "created", "resubmitted" or "known"."""
    rejection_id = rejection_id_for(payload.applicant.id, payload.vacancy.id)
    now = datetime.now(UTC)
    fields = _fields(payload, recruiter)
    row = session.get(Rejection, rejection_id)
    if row is None:
        row = as_rejection(payload, recruiter, actor=actor, now=now)
        session.add(row)
        session.add(event(rejection_id, "received", "received", at=now, actor=actor,
                          detail=_summary(payload, recruiter)))
        try:
            session.commit()
            return row, "created"
        except IntegrityError:
            session.rollback()  # the same rejection posted at the same moment: that one won
            row = session.get(Rejection, rejection_id)
            assert row is not None
    if row.status in ("cancelled", "failed"):
        for name, value in fields.items():
            setattr(row, name, value)
        row.requested_send_at = payload.send_at
        row.round += 1
        row.status, row.send_at, row.sent_at, row.cancelled_at, row.error = (
            "scheduled", None, None, None, None)
        session.add(row)
        session.add(event(row.id, f"resubmitted-{row.round}", "resubmitted", at=now,
                          actor=actor, detail=_summary(payload, recruiter)))
        session.commit()
        return row, "resubmitted"
    if _differs(row, fields):
        advice = (f"cancel it first (DELETE /api/rejections/{row.id}), then send the new one"
                  if row.status == "scheduled" else "the applicant has had their email")
        raise RejectionRefused(Refusal(
            f"a rejection of {row.applicant_name} for {row.vacancy_title} is already "
            f"{row.status}, with other content; {advice}", "reasons"), status_code=409)
    return row, "known"


async def _previous_run_closed(client: Client, rejection_id: str) -> None:
    """A cancelled run may still be finishing; the new round must not join it."""
    handle = client.get_workflow_handle(rejection_id)
    deadline = asyncio.get_running_loop().time() + RESTART_WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        try:
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                return
        except RPCError:
            return
        await asyncio.sleep(0.05)


async def _planned(engine: Engine, rejection_id: str, *, round_: int) -> datetime:
    """When the email goes out, as soon as the workflow's first step has decided it (the API
    answers with it). Read from the database, where that step writes it."""
    deadline = asyncio.get_running_loop().time() + PLAN_WAIT_S
    pause = 0.005
    while True:
        with session_for(engine) as session:
            row = session.get(Rejection, rejection_id)
        if row is not None and row.round == round_ and row.send_at is not None:
            return row.send_at
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{rejection_id}: no send time planned within {PLAN_WAIT_S:g} s; "
                               "is a worker running?")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)


async def schedule_rejection(payload: RejectionCreate, *, recruiter: Member, actor: str,
                             engine: Engine, client: Client, task_queue: str) -> Scheduled:
    """Store the rejection once and start its workflow; answer with when it goes out."""
    with session_for(engine) as session:
        row, what = _store(session, payload, recruiter, actor)
    if what == "known" and (row.send_at is not None or row.status != "scheduled"):
        return Scheduled(receipt_of(row), created=False)
    if what == "resubmitted":
        await _previous_run_closed(client, row.id)
    try:
        await client.start_workflow(
            RejectionWorkflow.run, RejectionInput(rejection_id=row.id), id=row.id,
            task_queue=task_queue,
            # A new run only after a cancelled or refused one: the database decides that.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    except BaseException:
        if what == "created":  # nothing started: forget it, so the retry starts cleanly
            with session_for(engine) as session:
                session.exec(delete(RejectionEvent).where(  # type: ignore[call-overload]
                    RejectionEvent.rejection_id == row.id))
                session.exec(delete(Rejection).where(Rejection.id == row.id))  # type: ignore[call-overload]
                session.commit()
        raise
    send_at = await _planned(engine, row.id, round_=row.round)
    return Scheduled(RejectionReceipt(rejection_id=row.id, status="scheduled", send_at=send_at),
                     created=what != "known")
