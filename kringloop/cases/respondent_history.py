"""The respondent on the case page: their earlier scores and cases, the emails they sent us,
and whether their address bounces or unsubscribed — newest first, and only what the reader may
see (cases of the reader's teams; never an anonymous answer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from kringloop.cases.models import Case, CaseMessage
from kringloop.mail.models import Suppression
from kringloop.mail.suppression import BOUNCED
from kringloop.org.access import Principal
from kringloop.responses.anonymity import stays_anonymous
from kringloop.responses.models import SurveyResponse

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class HistoryItem:
    """One thing in the respondent's history: a score (with its case, if one opened and the
    reader may see it), an email from them on a case, or their address's state."""

    at: datetime
    kind: str  # "score"; "reply", "auto_reply", "bounce" (an email); "bounced", "unsubscribed"
    case_id: str | None = None
    score: int | None = None
    program: str | None = None
    detail: str = ""
    current: bool = False  # this case's own answer or emails


def respondent_history(*, session: Session, principal: Principal, case: Case,
                       origin: SurveyResponse) -> list[HistoryItem]:
    """What Kringloop knows of the person behind `case`, newest first."""
    if stays_anonymous(case.program, origin.meta):
        return []  # an anonymous employee is never linked to anything else
    if origin.respondent_id:
        same_person = SurveyResponse.respondent_id == origin.respondent_id
    elif origin.email:
        same_person = col(SurveyResponse.email).ilike(origin.email)
    else:
        return []
    answers = session.exec(select(SurveyResponse).where(same_person)
                           .order_by(col(SurveyResponse.answered_at).desc())
                           .limit(HISTORY_LIMIT)).all()
    case_ids = {a.case_id for a in answers if a.case_id}
    cases = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(case_ids)))} \
        if case_ids else {}
    visible = {i for i, c in cases.items() if principal.sees_team(c.team_id)}
    items: list[HistoryItem] = []
    for answer in answers:
        if stays_anonymous(answer.program, answer.meta):
            continue
        if answer.case_id and answer.case_id not in visible:
            continue  # another team's case: not the reader's to see
        if not answer.case_id and answer.program != case.program:
            continue  # a score in another program says nothing to this team
        items.append(HistoryItem(at=answer.answered_at, kind="score", score=answer.score,
                                 program=answer.program, case_id=answer.case_id,
                                 current=answer.id == origin.id))
    if visible:
        for message in session.exec(select(CaseMessage).where(
                col(CaseMessage.case_id).in_(visible), CaseMessage.direction == "in")
                .order_by(col(CaseMessage.at).desc()).limit(HISTORY_LIMIT)):
            items.append(HistoryItem(at=message.at, kind=message.kind, case_id=message.case_id,
                                     detail=message.bounced_address or message.subject,
                                     current=message.case_id == case.id))
    addresses = {a.email.lower() for a in answers if a.email} | (
        {origin.email.lower()} if origin.email else set())
    if addresses:
        for row in session.exec(select(Suppression).where(
                or_(*(Suppression.email == a for a in addresses)))):
            items.append(HistoryItem(at=row.since, detail=row.email,
                                     kind="bounced" if row.reason == BOUNCED else "unsubscribed"))
    if all(item.current for item in items):
        return []  # only this case itself: nothing the reader does not see already
    return sorted(items, key=lambda item: item.at, reverse=True)[:HISTORY_LIMIT]
