"""What the reports are made of, straight in the database: survey answers as intake stores them,
and cases at each point of closing the loop."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from kringloop.cases.models import Case, TimelineEntry
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday: ISO week 2026-W45
_ids = itertools.count(1)


def answers(engine: Engine, *scores: int, segment: str | None = None, language: str = "nl",
            at: datetime = T0, program: str = "customer", respondent_id: str | None = None,
            team: str | None = None, source: str = "api") -> list[str]:
    """Survey answers as intake stores them; with `team`, each has a case that went there."""
    made = []
    with session_for(engine) as session:
        for score in scores:
            response_id = f"r-{next(_ids)}"
            case_id = f"case-{response_id}" if team else None
            session.add(SurveyResponse(
                id=response_id, program=program, score=score, category="?", language=language,
                segment=segment, answered_at=at, received_at=at, source=source,
                respondent_id=respondent_id, case_id=case_id))
            if case_id:
                session.add(Case(id=case_id, response_id=response_id, program=program,
                                 score=score, team_id=team, opened_at=at))
            made.append(response_id)
        session.commit()
    return made


# eNPS is reported one calendar month at a time: a moment well inside one.
MARCH = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


def add_case(engine: Engine, name: str, *, team: str = "particulier", score: int = 3,
             opened: datetime = T0, due_after: timedelta | None = timedelta(hours=24),
             first_attempt_after: timedelta | None = None, escalations: int = 0,
             resolved_after: timedelta | None = None, root_cause: str | None = None,
             resurvey_score: int | None = None, resurvey_sent: bool = False,
             program: str = "customer") -> None:
    """Case `case-{name}`, opened at `opened`, as far along the loop as the times given say."""
    with session_for(engine) as session:
        session.add(Case(
            id=f"case-{name}", response_id=name, program=program, score=score, team_id=team,
            opened_at=opened, callback_due_at=opened + due_after if due_after else None,
            first_attempt_at=opened + first_attempt_after if first_attempt_after else None,
            escalations=escalations, root_cause=root_cause, resurvey_score=resurvey_score,
            resolved_at=opened + resolved_after if resolved_after else None,
            status="resolved" if resolved_after else "assigned"))
        if resurvey_sent:
            session.add(TimelineEntry(case_id=f"case-{name}", key="resurvey-sent",
                                      at=opened + timedelta(days=9), actor="kringloop",
                                      kind="resurvey_sent"))
        session.commit()
