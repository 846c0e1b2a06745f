"""Cases as the loyalty team works them: one straight in the database, as the workflow leaves it
once assigned, or one from a customer a member has adopted, posted and followed until it is
assigned and acknowledged; and a callback's deadline moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse
from tests.support.intake import unique
from tests.support.kringloop import Kringloop
from tests.support.people import ADOPTED_BY, SANNE

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday


def add_case(engine: Engine, n: int, *, assignee: str = SANNE, score: int = 3,
             due_in: timedelta = timedelta(hours=5), attempted: bool = False,
             status: str = "assigned", program: str = "customer", recovered: bool | None = None,
             closed_at: datetime | None = None) -> str:
    """Case number `n` as the workflow leaves it once assigned (to Sanne unless another),
    straight in the database with its survey response."""
    with session_for(engine) as session:
        session.add(SurveyResponse(
            id=f"q-{n}", program=program, score=score, category="detractor", name=f"Klant {n}",
            language="nl", answered_at=NOW, received_at=NOW, case_id=f"case-q-{n}"))
        session.add(Case(
            id=f"case-q-{n}", response_id=f"q-{n}", program=program, score=score, status=status,
            team_id="zakelijk", assignee_email=assignee, assignee_name="x", assigned_at=NOW,
            opened_at=NOW - timedelta(hours=1), callback_due_at=NOW + due_in,
            first_attempt_at=NOW - timedelta(minutes=5) if attempted else None,
            recovered=recovered, closed_at=closed_at))
        session.commit()
    return f"case-q-{n}"


async def case_for(live: Kringloop, member: str, score: int = 4, **respondent: Any
                   ) -> dict[str, Any]:
    """A case from a customer `member` has adopted, once it is assigned and acknowledged."""
    comment = respondent.pop("comment", "Fiets te laat")
    who = {"id": ADOPTED_BY[member], "name": "Anna Visser", "email": "anna@example.nl",
           "language": "nl", **respondent}
    posted = await live.post_response(unique("page"), score, respondent=who, comment=comment)
    return await live.case_when(posted["case_id"], lambda c: c["assignee"] and [
        e["kind"] for e in c["timeline"]].count("email_sent") == 2)


def move_callback(live: Kringloop, case_id: str, due_at: datetime) -> None:
    with session_for(live.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.callback_due_at = due_at
        session.add(case)
        session.commit()
