"""The respondent on the case page: what Kringloop knows of the person behind the case, newest
first, and only what the reader may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from kringloop.cases.models import Case, CaseMessage
from kringloop.cases.respondent_history import respondent_history
from kringloop.database import session_for
from kringloop.mail.suppression import BOUNCED, suppress
from kringloop.org.access import Principal
from kringloop.responses.models import SurveyResponse

DAY = timedelta(days=1)
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
BRAM = Principal(email="bram@example.nl", name="Bram", role="member",
                 team_ids=frozenset({"particulier"}))


def answer(session: Any, number: int, score: int, *, ago: int, program: str = "customer",
           team: str | None = "particulier", respondent_id: str | None = "klant-1",
           email: str = "anna@example.nl", meta: dict[str, Any] | None = None) -> None:
    at = NOW - ago * DAY
    case_id = f"case-h{number}" if team else None
    session.add(SurveyResponse(id=f"h{number}", program=program, score=score,
                               category="detractor" if score <= 6 else "promoter",
                               respondent_id=respondent_id, email=email, name="Anna",
                               language="nl", answered_at=at, received_at=at, case_id=case_id,
                               meta=meta or {}))
    if case_id:
        session.add(Case(id=case_id, response_id=f"h{number}", program=program, score=score,
                         team_id=team, opened_at=at))


def history(engine: Engine, principal: Principal = BRAM) -> list[tuple[str, Any]]:
    with session_for(engine) as session:
        case = session.get(Case, "case-h1")
        origin = session.get(SurveyResponse, "h1")
        assert case is not None and origin is not None
        return [(item.kind, item.score if item.kind == "score" else item.detail)
                for item in respondent_history(session=session, principal=principal,
                                               case=case, origin=origin)]


def test_earlier_scores_cases_replies_and_a_bounce_newest_first(engine: Engine) -> None:
    with session_for(engine) as session:
        answer(session, 1, 3, ago=0)  # this case
        answer(session, 2, 9, ago=30, team=None)  # a promoter's score, no case
        answer(session, 3, 5, ago=60)  # an earlier case of the same team
        session.commit()
        session.add(CaseMessage(case_id="case-h3", direction="in", kind="reply",
                                message_id="<r@x>", sender="anna@example.nl",
                                subject="Re: We bellen je", at=NOW - 59 * DAY))
        suppress(session=session, email="anna@example.nl", reason=BOUNCED,
                 source="a delivery report", now=NOW - 10 * DAY)
        session.commit()

    assert history(engine) == [("score", 3), ("bounced", "anna@example.nl"), ("score", 9),
                               ("reply", "Re: We bellen je"), ("score", 5)]


def test_another_teams_case_and_an_anonymous_answer_stay_out(engine: Engine) -> None:
    with session_for(engine) as session:
        answer(session, 1, 3, ago=0)
        answer(session, 2, 2, ago=5, team="zakelijk")  # not Bram's team
        answer(session, 3, 1, ago=7, program="employee", team=None)  # anonymous eNPS
        answer(session, 4, 4, ago=9)
        session.commit()

    assert history(engine) == [("score", 3), ("score", 4)]
    lead_of_both = Principal(email="lead@example.nl", name="Lead", role="lead",
                             team_ids=frozenset({"particulier", "zakelijk"}))
    assert history(engine, lead_of_both) == [("score", 3), ("score", 2), ("score", 4)]


def test_without_a_respondent_id_the_email_finds_the_person(engine: Engine) -> None:
    with session_for(engine) as session:
        answer(session, 1, 3, ago=0, respondent_id=None)
        answer(session, 2, 6, ago=3, respondent_id=None, email="Anna@Example.nl")
        answer(session, 3, 6, ago=4, respondent_id=None, email="iemand@example.nl")
        session.commit()

    assert history(engine) == [("score", 3), ("score", 6)]


def test_nothing_but_this_case_shows_nothing(engine: Engine) -> None:
    with session_for(engine) as session:
        answer(session, 1, 3, ago=0)
        session.commit()

    assert history(engine) == []
