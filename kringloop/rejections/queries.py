"""Database reads and writes about rejections, as plain keyword-only functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, update
from sqlmodel import Session, col, select

from kringloop.cases.models import FeedbackCallRequest
from kringloop.cases.schemas import AssigneePublic, TimelineEntryPublic
from kringloop.database import change_once
from kringloop.org.organisation import Organisation
from kringloop.rejections.models import Rejection, RejectionEvent
from kringloop.rejections.rules import signer_of, survey_response_id_for
from kringloop.rejections.schemas import ReasonOut, RejectionPublic
from kringloop.responses.models import SurveyResponse


def without_a_moment() -> ColumnElement[bool]:
    """Rejections still to be sent that no mailing round has given a moment yet."""
    return and_(Rejection.status == "scheduled", col(Rejection.send_at).is_(None))


def event(rejection_id: str, key: str, kind: str, *, at: datetime, actor: str = "kringloop",
          detail: str = "") -> RejectionEvent:
    return RejectionEvent(rejection_id=rejection_id, key=key, at=at, actor=actor, kind=kind,
                          detail=detail)


def record_step_once(*, session: Session, step: RejectionEvent,
                     change: Callable[[Rejection], None] = lambda row: None) -> bool:
    """The rejection changed and its timeline entry added, once (see `change_once`)."""
    return change_once(session=session, model=Rejection, key=step.rejection_id, step=step,
                       change=change)


def cancel_scheduled(*, session: Session, row: Rejection, actor: str, at: datetime,
                     detail: str = "before sending: no email will go out") -> Rejection:
    """Cancel a rejection its mailing has not taken yet; the row as it is now (still "sending"
    or "sent" when the mailing was first). The mailing only takes rows that are scheduled."""
    cancelled = session.execute(update(Rejection).where(
        Rejection.id == row.id, Rejection.status == "scheduled", Rejection.round == row.round)
        .values(status="cancelled", cancelled_at=at))
    if cancelled.rowcount:  # type: ignore[attr-defined]
        session.add(event(row.id, f"cancelled-{row.round}", "cancelled", at=at, actor=actor,
                          detail=detail))
    session.commit()
    now = session.get(Rejection, row.id, populate_existing=True)
    assert now is not None
    return now


def events_of(*, session: Session, rejection_id: str) -> list[RejectionEvent]:
    """In the order they were written: the web app and the worker may run on machines whose
    clocks differ a little, and a rejection's steps follow one another."""
    return list(session.exec(
        select(RejectionEvent).where(RejectionEvent.rejection_id == rejection_id)
        .order_by(col(RejectionEvent.id))
    ).all())


def cases_of(*, session: Session, rejection_id: str) -> list[str]:
    """The cases this rejection led to: the feedback call and a low candidate-NPS score."""
    found = []
    request = session.exec(select(FeedbackCallRequest).where(
        FeedbackCallRequest.rejection_id == rejection_id)).first()
    if request is not None and request.case_id:
        found.append(request.case_id)
    survey = session.get(SurveyResponse, survey_response_id_for(rejection_id))
    if survey is not None and survey.case_id:
        found.append(survey.case_id)
    return found


def rejection_public(*, session: Session, row: Rejection, org: Organisation) -> RejectionPublic:
    recruiter = signer_of(org, row.recruiter_email)
    return RejectionPublic(
        rejection_id=row.id, status=row.status,  # type: ignore[arg-type]
        applicant={"id": row.applicant_id, "name": row.applicant_name,
                   "email": row.applicant_email, "language": row.language},
        vacancy={"id": row.vacancy_id, "title": row.vacancy_title},
        stage=row.stage,  # type: ignore[arg-type]
        reasons=[ReasonOut(**reason) for reason in row.reasons],
        recruiter=AssigneePublic(name=recruiter.name if recruiter else row.recruiter_email,
                                 email=row.recruiter_email),
        send_at=row.send_at, sent_at=row.sent_at, cancelled_at=row.cancelled_at,
        created_at=row.created_at, case_ids=cases_of(session=session, rejection_id=row.id),
        timeline=[TimelineEntryPublic(at=e.at, actor=e.actor, kind=e.kind, detail=e.detail)
                  for e in events_of(session=session, rejection_id=row.id)],
    )


@dataclass(frozen=True)
class VacancyProgress:
    """A vacancy's rejections, counted by status: how far its batch has gone out."""

    vacancy_id: str
    title: str
    counts: dict[str, int]
    last_change: datetime

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def vacancies_with_rejections(*, session: Session) -> list[VacancyProgress]:
    """Every vacancy with rejections, the most recently rejected first."""
    rows = session.exec(
        select(Rejection.vacancy_id, Rejection.status, func.count(),
               func.max(Rejection.vacancy_title), func.max(Rejection.created_at))
        .group_by(Rejection.vacancy_id, Rejection.status)
    ).all()
    found: dict[str, VacancyProgress] = {}
    for vacancy_id, status, count, title, created_at in rows:
        known = found.get(vacancy_id)
        counts = (known.counts if known else {}) | {status: count}
        latest = max(created_at, known.last_change) if known else created_at
        found[vacancy_id] = VacancyProgress(vacancy_id, title, counts, latest)
    return sorted(found.values(), key=lambda v: v.last_change, reverse=True)


def rejections_for_vacancy(*, session: Session, vacancy_id: str) -> list[Rejection]:
    """A vacancy's rejections in the order they were made, then by applicant name."""
    return list(session.exec(
        select(Rejection).where(Rejection.vacancy_id == vacancy_id)
        .order_by(col(Rejection.created_at), col(Rejection.applicant_name))
    ).all())


def vacancy_title_of(*, session: Session, vacancy_id: str) -> str | None:
    """The title the vacancy's latest rejection gave it; None for a vacancy without any."""
    return session.exec(
        select(Rejection.vacancy_title).where(Rejection.vacancy_id == vacancy_id)
        .order_by(col(Rejection.created_at).desc(), col(Rejection.applicant_name).desc())
        .limit(1)
    ).first()
