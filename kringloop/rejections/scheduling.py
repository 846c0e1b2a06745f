"""Taking in rejections: check them, store them once, tell the vacancy's mailing, answer when
each goes out.

Used by the JSON API (one, or a vacancy's batch) and by the CSV import alike.

The same applicant and vacancy again is the same rejection: with the same content it changes
nothing (a retry is safe; one email); with other content while it is scheduled or sent, it is
refused (409), because silently keeping the first version would mislead the recruiter. A
cancelled (or undeliverable) rejection may be sent again, corrected: that starts a new round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select
from temporalio.client import Client

from kringloop.database import session_for
from kringloop.org.access import Principal
from kringloop.org.organisation import Member, Organisation
from kringloop.rejections import flows
from kringloop.rejections.models import Rejection, RejectionEvent
from kringloop.rejections.queries import event, without_a_moment
from kringloop.rejections.rules import (
    Refusal,
    mailing_id_for,
    recruiter_for,
    rejection_id_for,
    rejection_refusal,
)
from kringloop.rejections.schemas import RejectionCreate, RejectionReceipt

PLAN_WAIT_S = 30.0


class RejectionRefused(Exception):
    """A rejection that is not sent, with the message and field to show (422, or 409)."""

    def __init__(self, refusal: Refusal, status_code: int = 422) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
        self.status_code = status_code


# A rejection to store, with the recruiter who signs it.
Order = tuple[RejectionCreate, Member]


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


def _store_all(session: Session, orders: Sequence[Order], actor: str
               ) -> list[tuple[Rejection, str] | RejectionRefused]:
    """Each stored rejection and what happened to it ("created", "resubmitted" or "known"), or
    why it was refused; one transaction for a whole batch."""
    now = datetime.now(UTC)
    ids = [rejection_id_for(p.applicant.id, p.vacancy.id) for p, _ in orders]
    rows = {row.id: row for row in session.exec(
        select(Rejection).where(col(Rejection.id).in_(ids))).all()}
    results: list[tuple[Rejection, str] | RejectionRefused] = []
    for (payload, recruiter), rejection_id in zip(orders, ids, strict=True):
        row = rows.get(rejection_id)
        if row is None:
            row = rows[rejection_id] = as_rejection(payload, recruiter, actor=actor, now=now)
            row.mailing_id = mailing_id_for(payload.vacancy.id)
            session.add(row)
            session.add(event(rejection_id, "received", "received", at=now, actor=actor,
                              detail=_summary(payload, recruiter)))
            results.append((row, "created"))
            continue
        try:
            results.append((row, _store_again(session, row, payload, recruiter, actor, now)))
        except RejectionRefused as refused:
            results.append(refused)
    try:
        session.commit()
    except IntegrityError:  # the same rejection posted at the same moment elsewhere: it won
        session.rollback()
        if len(orders) == 1:
            return _store_all(session, orders, actor)  # known now
        return [result for order in orders for result in _store_all(session, [order], actor)]
    return results


def _store_again(session: Session, row: Rejection, payload: RejectionCreate, recruiter: Member,
                 actor: str, now: datetime) -> str:
    """A rejection seen before: sent again after a cancel or a refusal ("resubmitted"), the
    same one again ("known"), or other content (RejectionRefused, 409)."""
    fields = _fields(payload, recruiter)
    if row.status in ("cancelled", "failed"):
        for name, value in fields.items():
            setattr(row, name, value)
        row.requested_send_at = payload.send_at
        row.round += 1
        row.status, row.send_at, row.sent_at, row.cancelled_at, row.error = (
            "scheduled", None, None, None, None)
        row.mailing_id = mailing_id_for(row.vacancy_id)
        row.survey_at = row.survey_status = None
        session.add(row)
        session.add(event(row.id, f"resubmitted-{row.round}", "resubmitted", at=now,
                          actor=actor, detail=_summary(payload, recruiter)))
        return "resubmitted"
    if _differs(row, fields):
        advice = (f"cancel it first (DELETE /api/rejections/{row.id}), then send the new one"
                  if row.status == "scheduled" else "the applicant has had their email")
        raise RejectionRefused(Refusal(
            f"a rejection of {row.applicant_name} for {row.vacancy_title} is already "
            f"{row.status}, with other content; {advice}", "reasons"), status_code=409)
    if row.status == "scheduled" and row.send_at is None and row.mailing_id is None:
        row.mailing_id = mailing_id_for(row.vacancy_id)  # its own workflow never started
        session.add(row)
    return "known"


async def _planned(engine: Engine, rows: Sequence[Rejection]) -> dict[str, datetime]:
    """When each email goes out, as soon as the mailing's first round has decided it (the API
    answers with it). Read from the database, where that round writes it; while waiting, only
    a count (a vacancy's batch is hundreds of rows, and the worker beside us is sending)."""
    vacancies = sorted({row.vacancy_id for row in rows})
    unplanned = select(func.count()).select_from(Rejection).where(
        col(Rejection.vacancy_id).in_(vacancies), without_a_moment(),
        col(Rejection.mailing_id).is_not(None))
    ids = [row.id for row in rows]

    def planned() -> dict[str, datetime] | None:
        with session_for(engine) as session:
            if session.exec(unplanned).one():
                return None
            return {id_: send_at for id_, send_at in session.exec(
                select(Rejection.id, Rejection.send_at).where(col(Rejection.id).in_(ids))).all()
                if send_at is not None}

    deadline = asyncio.get_running_loop().time() + PLAN_WAIT_S
    pause = 0.005
    while True:
        decided = await asyncio.to_thread(planned)
        if decided is not None:
            return decided
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"rejections got no send time within {PLAN_WAIT_S:g} s; is a "
                               "worker running?")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


def _stored(engine: Engine, orders: Sequence[Order], actor: str
            ) -> list[tuple[Rejection, str] | RejectionRefused]:
    with session_for(engine) as session:
        return _store_all(session, orders, actor)


def _forget(engine: Engine, rejection_ids: list[str]) -> None:
    """Rejections whose mailing could not be told: gone, so the retry starts cleanly."""
    with session_for(engine) as session:
        session.exec(delete(RejectionEvent).where(  # type: ignore[call-overload]
            col(RejectionEvent.rejection_id).in_(rejection_ids)))
        session.exec(delete(Rejection).where(  # type: ignore[call-overload]
            col(Rejection.id).in_(rejection_ids)))
        session.commit()


async def schedule_rejections(orders: Sequence[Order], *, actor: str, engine: Engine,
                              client: Client, task_queue: str
                              ) -> list[Scheduled | RejectionRefused]:
    """Store the rejections once and tell their vacancies' mailings; answer, for each, when
    it goes out (or why it was refused)."""
    stored = await asyncio.to_thread(_stored, engine, orders, actor)
    waiting = {row.id: row for row, what in _accepted(stored)
               if what != "known" or (row.send_at is None and row.status == "scheduled")}
    for row, what in _accepted(stored):
        if what == "resubmitted":
            await flows.previous_run_closed(client, row.id)
    try:
        await flows.tell_mailings(client, (row.mailing_id for row in waiting.values()
                                           if row.mailing_id), task_queue=task_queue)
    except BaseException:
        await asyncio.to_thread(_forget, engine, [row.id for row, what in _accepted(stored)
                                                   if what == "created"])
        raise
    send_at = await _planned(engine, list(waiting.values())) if waiting else {}
    return [result if isinstance(result, RejectionRefused) else Scheduled(
        RejectionReceipt(rejection_id=result[0].id, status="scheduled",
                         send_at=send_at.get(result[0].id)) if result[0].id in waiting
        else receipt_of(result[0]), created=result[1] != "known") for result in stored]


def _accepted(stored: list[tuple[Rejection, str] | RejectionRefused]
              ) -> list[tuple[Rejection, str]]:
    return [result for result in stored if not isinstance(result, RejectionRefused)]


async def schedule_rejection(payload: RejectionCreate, *, recruiter: Member, actor: str,
                             engine: Engine, client: Client, task_queue: str) -> Scheduled:
    """Store one rejection once and tell its vacancy's mailing; answer when it goes out."""
    result, = await schedule_rejections([(payload, recruiter)], actor=actor, engine=engine,
                                        client=client, task_queue=task_queue)
    if isinstance(result, RejectionRefused):
        raise result
    return result
