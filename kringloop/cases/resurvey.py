"""The re-survey's answer: the respondent's new score (and comment) after the loop was closed,
kept once as an answer of its own (`source == "resurvey"`) beside the one that opened the
case. The first answer counts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from kringloop.cases.models import Case, CaseOrigin
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse, category_of


def resurvey_answer_id(case: Case) -> str:
    return f"resurvey-{case.response_id}"[:128]


def resurvey_answer_of(engine: Engine, case: Case) -> SurveyResponse | None:
    with session_for(engine) as session:
        return session.get(SurveyResponse, resurvey_answer_id(case))


def resurvey_answer(engine: Engine, case: Case, origin: CaseOrigin, *, score: int,
                    comment: str | None) -> tuple[SurveyResponse, bool]:
    """The answer kept for the case's re-survey, and whether it is this one (the first)."""
    with session_for(engine) as session:
        answer = session.get(SurveyResponse, resurvey_answer_id(case))
        if answer is not None:
            return answer, False
        now = datetime.now(UTC)
        answer = SurveyResponse(
            id=resurvey_answer_id(case), program=case.program, score=score,
            category=category_of(score), comment=comment, language=origin.language,
            segment=origin.segment, respondent_id=origin.respondent_id, answered_at=now,
            received_at=now, source="resurvey", resurvey_of=case.id)
        session.add(answer)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # an answer posted at the same moment: that one counts
            earlier = session.get(SurveyResponse, resurvey_answer_id(case))
            assert earlier is not None
            return earlier, False
    return answer, True
