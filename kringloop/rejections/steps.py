"""The database steps of one rejection's own workflow (the rejections made before mailings).

Blocking functions: the activities run them in a thread, never on the worker's event loop.
Each step is recorded once under its key, so a retried activity changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from kringloop.database import session_for
from kringloop.mail.outbox import RecordStep
from kringloop.org.organisation import Organisation
from kringloop.rejections.messages import RejectionEmail, RejectionPlan, RejectionStep
from kringloop.rejections.models import Rejection
from kringloop.rejections.planning import candidate_policy, send_plan, survey_plan
from kringloop.rejections.queries import event, record_step_once
from kringloop.settings import Settings


def load(*, session: Session, rejection_id: str) -> Rejection:
    row = session.get(Rejection, rejection_id)
    if row is None:
        raise ApplicationError(f"no rejection {rejection_id}", type="UnknownRejection",
                               non_retryable=True)
    return row


def _read(engine: Engine, rejection_id: str) -> Rejection:
    with session_for(engine) as session:
        return load(session=session, rejection_id=rejection_id)


def _record_once(engine: Engine, rejection_id: str, key: str, kind: str, detail: str, *,
                 at: datetime, change: Callable[[Rejection], None] | None = None,
                 actor: str = "kringloop") -> bool:
    """Record the step once; False when an earlier attempt of the activity recorded it."""
    with session_for(engine) as session:
        return record_step_once(
            session=session, step=event(rejection_id, key, kind, at=at, actor=actor,
                                        detail=detail),
            change=change or (lambda row: None))


def schedule_rejection(*, engine: Engine, org: Organisation, settings: Settings,
                       rejection_id: str, decided_at: datetime) -> RejectionPlan:
    """Decide when the email goes out, once per round: the recruiter's moment, or the hold
    and then the next moment inside the applicant's working hours."""
    row = _read(engine, rejection_id)
    if row.send_at is None:
        send_at, detail = send_plan(row=row, decided_at=decided_at,
                                    policy=candidate_policy(org), time_scale=settings.time_scale)

        def plan(rejection: Rejection) -> None:
            rejection.send_at = send_at

        if _record_once(engine, rejection_id, f"scheduled-{row.round}", "scheduled", detail,
                        at=decided_at, change=plan):
            return RejectionPlan(send_at=send_at, round=row.round)
        row = _read(engine, rejection_id)  # an earlier attempt planned it
    assert row.send_at is not None
    return RejectionPlan(send_at=row.send_at, round=row.round)


def schedule_survey(*, engine: Engine, org: Organisation, settings: Settings,
                    rejection_id: str, now: datetime) -> datetime:
    """The candidate-NPS survey's moment: some days after the email, in working hours."""
    row = _read(engine, rejection_id)
    survey_at, detail = survey_plan(row=row, sent_at=row.sent_at or now,
                                    policy=candidate_policy(org), time_scale=settings.time_scale)
    _record_once(engine, rejection_id, f"survey-scheduled-{row.round}", "survey_scheduled",
                 detail, at=now)
    return survey_at


def record_step(*, engine: Engine, step: RejectionStep, at: datetime) -> None:
    """A step the workflow took (a cancel, an erasure, a skipped survey), with its new status."""
    def apply(row: Rejection) -> None:
        if step.status:
            row.status = step.status
            if step.status == "cancelled":
                row.cancelled_at = at

    _record_once(engine, step.rejection_id, step.key, step.kind, step.detail, at=at,
                 change=apply, actor=step.actor)


def addressed(*, engine: Engine, rejection_id: str) -> Rejection:
    """The rejection to email; one whose applicant was erased has no address left to mail."""
    row = _read(engine, rejection_id)
    if not row.applicant_email:  # erased on the applicant's request
        raise ApplicationError("the applicant has no email address", type="NoAddress",
                               non_retryable=True)
    return row


def email_outcome(*, order: RejectionEmail, at: datetime) -> RecordStep:
    """How the email's outcome goes on the timeline (and, for the rejection itself, on its
    row), in the transaction that marks the outbox row."""
    def record(session: Session, status: str, detail: str) -> None:
        session.add(event(
            order.rejection_id, f"{order.key}:{status}",
            "email_sent" if status == "sent" else "email_failed", at=at, detail=detail))
        if order.kind == "rejection":
            rejection = load(session=session, rejection_id=order.rejection_id)
            rejection.status = status
            rejection.sent_at = at if status == "sent" else None
            rejection.error = None if status == "sent" else detail
            session.add(rejection)

    return record
