"""The re-survey's answer: the respondent's new score (and comment) after the loop was closed,
kept once as an answer of its own (`source == "resurvey"`) beside the one that opened the
case. The first answer counts. A case reopened by a still-low score asks once more, and that
round's first answer is kept beside the first round's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from kringloop.cases.models import Case, CaseOrigin
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse, category_of


def resurvey_answer_id(case: Case, *, again: bool = False) -> str:
    return f"resurvey-{'again-' if again else ''}{case.response_id}"[:128]


def _this_round(session: Session, case: Case) -> str:
    """The answer's id for the re-survey now asked: the second round's once the case was
    resolved again after the first round's answer."""
    first = session.get(SurveyResponse, resurvey_answer_id(case))
    again = (first is not None and case.resolved_at is not None
             and first.answered_at < case.resolved_at)
    return resurvey_answer_id(case, again=again)


def resurvey_answer_of(engine: Engine, case: Case) -> SurveyResponse | None:
    with session_for(engine) as session:
        return session.get(SurveyResponse, _this_round(session, case))


def resurvey_answer(engine: Engine, case: Case, origin: CaseOrigin, *, score: int,
                    comment: str | None) -> tuple[SurveyResponse, bool]:
    """The answer kept for the case's re-survey, and whether it is this one (the first)."""
    with session_for(engine) as session:
        answer_id = _this_round(session, case)
        answer = session.get(SurveyResponse, answer_id)
        if answer is not None:
            return answer, False
        now = datetime.now(UTC)
        answer = SurveyResponse(
            id=answer_id, program=case.program, score=score,
            category=category_of(score), comment=comment, language=origin.language,
            segment=origin.segment, respondent_id=origin.respondent_id, answered_at=now,
            received_at=now, source="resurvey", resurvey_of=case.id)
        session.add(answer)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # an answer posted at the same moment: that one counts
            earlier = session.get(SurveyResponse, answer_id)
            assert earlier is not None
            return earlier, False
    return answer, True
