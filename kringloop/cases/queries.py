"""Database reads and writes about cases, as plain keyword-only functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func
from sqlmodel import Session, col, select

from kringloop.cases.models import (
    Case,
    CaseMessage,
    CaseOrigin,
    FeedbackCallRequest,
    TimelineEntry,
)
from kringloop.cases.schemas import AssigneePublic, CasePublic, TimelineEntryPublic
from kringloop.responses.anonymity import stays_anonymous
from kringloop.responses.models import SurveyResponse, category_of

# Listed, not "not closed": an IN list lets the queue index seek straight to a member's open cases.
# "waiting": on the respondent (asked for information or a time); the clock stops meanwhile.
ACTIVE_STATUSES = ("open", "assigned", "escalated", "waiting")
CLOSED_STATUSES = ("resolved", "awaiting_resurvey", "closed")


def open_case_counts(*, session: Session, emails: Sequence[str]) -> dict[str, int]:
    rows = session.exec(
        select(Case.assignee_email, func.count())
        .where(col(Case.assignee_email).in_(emails), col(Case.status).in_(ACTIVE_STATUSES))
        .group_by(Case.assignee_email)
    ).all()
    return {email: count for email, count in rows if email}


def last_assignments(*, session: Session, emails: Sequence[str]) -> dict[str, datetime]:
    rows = session.exec(
        select(Case.assignee_email, func.max(Case.assigned_at))
        .where(col(Case.assignee_email).in_(emails))
        .group_by(Case.assignee_email)
    ).all()
    return {email: at for email, at in rows if email and at}


def origin_of(*, session: Session, response_id: str) -> CaseOrigin | None:
    """What opened a case: a survey response, or an applicant's request for a feedback call."""
    return (session.get(SurveyResponse, response_id)
            or session.get(FeedbackCallRequest, response_id))


def case_with_response(*, session: Session, case_id: str) -> tuple[Case, CaseOrigin] | None:
    case = session.get(Case, case_id)
    if case is None:
        return None
    response = origin_of(session=session, response_id=case.response_id)
    assert response is not None, "a case always has its response"
    return case, response


def has_conversation(case: Case, origin: CaseOrigin) -> bool:
    """An anonymous employee's case: no one to call, but a conversation through their link."""
    return isinstance(origin, SurveyResponse) and stays_anonymous(case.program, origin.meta)


def timeline_of(*, session: Session, case_id: str) -> list[TimelineEntry]:
    return list(session.exec(
        select(TimelineEntry).where(TimelineEntry.case_id == case_id)
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    ).all())


def case_public(*, session: Session, case_id: str) -> CasePublic | None:
    # The timeline first: each statement sees what was committed when it ran, and a step
    # changes the case row with its timeline entry, so a case read after its timeline is at
    # least as new (a timeline showing "assigned" never comes with a case lacking its assignee).
    timeline = timeline_of(session=session, case_id=case_id)
    found = case_with_response(session=session, case_id=case_id)
    if found is None:
        return None
    case, response = found
    return CasePublic(
        case_id=case.id, status=case.status, program=case.program, score=case.score,
        origin="feedback_call" if isinstance(response, FeedbackCallRequest) else "score",
        category=category_of(case.score) if case.score is not None else None,
        comment=response.comment,
        respondent={"id": response.respondent_id, "name": response.name,
                    "email": response.email, "phone": response.phone,
                    "language": response.language, "segment": response.segment},
        **({} if isinstance(response, FeedbackCallRequest)
           else {"source": response.source, "tool": response.tool}),
        team=case.team_id,
        assignee=AssigneePublic(name=case.assignee_name, email=case.assignee_email)
        if case.assignee_email and case.assignee_name else None,
        opened_at=case.opened_at, callback_due_at=case.callback_due_at, attempts=case.attempts,
        root_cause=case.root_cause, resolved_at=case.resolved_at,
        resurvey_score=case.resurvey_score, recovered=case.recovered, closed_at=case.closed_at,
        timeline=[TimelineEntryPublic(at=e.at, actor=e.actor, kind=e.kind, detail=e.detail)
                  for e in timeline],
        relay=has_conversation(case, response),
    )


class CaseAnswer(NamedTuple):
    """A member's answer to the respondent's email, in the thread of that email."""

    text: str
    thread_subject: str | None  # "Re: <their subject>"
    in_reply_to: str | None  # the Message-ID of the email answered
    references: tuple[str, ...]


def answer_in_thread(*, session: Session, case_id: str, message_id: int) -> CaseAnswer | None:
    """A member's answer, in the thread of the respondent's latest email before it."""
    answer = session.get(CaseMessage, message_id)
    if answer is None or answer.case_id != case_id:
        return None
    replies = session.exec(select(CaseMessage).where(
        CaseMessage.case_id == case_id, CaseMessage.direction == "in",
        CaseMessage.kind == "reply", col(CaseMessage.id) < message_id)
        .order_by(col(CaseMessage.id))).all()
    latest = replies[-1] if replies else None
    subject = None
    if latest is not None and latest.subject:
        subject = (latest.subject if latest.subject.lower().startswith("re:")
                   else f"Re: {latest.subject}")
    return CaseAnswer(text=answer.text, thread_subject=subject,
                      in_reply_to=latest.message_id if latest else None,
                      references=tuple(r.message_id for r in replies))


def messages_of(*, session: Session, case_id: str) -> list[CaseMessage]:
    """The emails between the respondent and the case, oldest first."""
    return list(session.exec(select(CaseMessage).where(CaseMessage.case_id == case_id)
                             .order_by(col(CaseMessage.at), col(CaseMessage.id))).all())
