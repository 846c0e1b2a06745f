"""A calling day from the queue: each case with its attempts so far, the number to call and what
to do next (call, try again after, resolve, wait, answer in the conversation)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from kringloop.cases.models import Case, TimelineEntry
from kringloop.cases.workspace import CallPlan, calling_queue
from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.responses.models import SurveyResponse
from tests.support.cases import NOW, add_case
from tests.support.people import SANNE

# NOW is Tuesday 24 November 2026, 10:00 UTC: 11:00 in Amsterdam, where Zakelijk & Lease works.


def attempt(engine: Engine, case_id: str, at: datetime, outcome: str, *, note: str = "") -> None:
    """A callback attempt as the workflow records it: on the timeline and counted on the case."""
    with session_for(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        number = case.attempts + 1
        case.attempts = number
        case.first_attempt_at = case.first_attempt_at or at
        if outcome == "reached":
            case.reached_at = case.reached_at or at
        session.add(case)
        session.add(TimelineEntry(case_id=case_id, key=f"attempt-{number}", at=at, actor="Sanne",
                                  kind="callback_attempt",
                                  detail=outcome + (f": {note}" if note else "")))
        session.commit()


def with_phone(engine: Engine, n: int, phone: str) -> None:
    with session_for(engine) as session:
        response = session.get(SurveyResponse, f"q-{n}")
        assert response is not None
        response.phone = phone
        session.add(response)
        session.commit()


def plans(engine: Engine, org: Organisation) -> dict[str, CallPlan]:
    with session_for(engine) as session:
        _, found = calling_queue(session=session, org=org, email=SANNE, now=NOW)
    return found


def test_a_case_not_yet_called_says_call_with_the_number_to_dial(
    engine: Engine, org: Organisation,
) -> None:
    fresh = add_case(engine, 1)
    with_phone(engine, 1, "06 1234 5678")

    plan = plans(engine, org)[fresh]

    assert (plan.step, plan.attempts, plan.last_attempt_at) == ("call", 0, None)
    assert plan.phone == "06 1234 5678"


def test_no_answer_means_try_again_after_a_while_on_the_teams_clock(
    engine: Engine, org: Organisation,
) -> None:
    just_tried = add_case(engine, 1)
    attempt(engine, just_tried, NOW - timedelta(minutes=30), "no_answer", note="voicemail")
    tried_this_morning = add_case(engine, 2)
    attempt(engine, tried_this_morning, NOW - timedelta(hours=3), "no_answer")

    found = plans(engine, org)

    soon = found[just_tried]
    assert (soon.step, soon.attempts, soon.last_attempt_at) == (
        "try_again", 1, NOW - timedelta(minutes=30))
    # Two working hours after 10:30 in Amsterdam (the teams here work round the clock).
    assert (soon.clock, soon.days_from_today) == ("12:30", 0)
    assert found[tried_this_morning].step == "call_again"


def test_a_reached_respondent_is_next_resolved_and_the_day_is_named(
    engine: Engine, org: Organisation,
) -> None:
    reached = add_case(engine, 1)
    attempt(engine, reached, NOW - timedelta(days=1, hours=1), "no_answer")
    attempt(engine, reached, NOW - timedelta(days=4), "reached")  # Friday 20 November

    plan = plans(engine, org)[reached]

    assert (plan.step, plan.attempts) == ("resolve", 2)
    assert (plan.days_from_today, plan.weekday) == (-4, 4)
    assert plan.last_attempt_at == NOW - timedelta(days=1, hours=1)


def test_waiting_wrong_numbers_unreachable_and_anonymous_cases_say_what_comes_next(
    engine: Engine, org: Organisation,
) -> None:
    waiting = add_case(engine, 1, status="waiting")
    wrong = add_case(engine, 2)
    attempt(engine, wrong, NOW - timedelta(hours=1), "wrong_number")
    unreachable = add_case(engine, 3)
    for hours in (30, 20, 5):  # the program's three attempts, none reached
        attempt(engine, unreachable, NOW - timedelta(hours=hours), "no_answer")
    anonymous = add_case(engine, 4, program="employee")
    with_phone(engine, 4, "06 0000 0000")  # never shown: an anonymous employee is not called

    found = plans(engine, org)

    assert found[waiting].step == "waiting"
    assert found[wrong].step == "find_number"
    assert (found[unreachable].step, found[unreachable].attempts) == ("resolve_unreached", 3)
    assert (found[anonymous].step, found[anonymous].phone) == ("conversation", None)
