"""A case's steps without Temporal: each email composed from the case as it stands, the colleague
who gets the case, the callback's deadline; and the activities doing them never hold the
worker's event loop while the database works."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.cases import CaseActivities
from activities.digests import DigestActivities
from activities.erasure import ErasureActivities
from activities.mail import MailActivities
from kringloop.cases import emails, steps
from kringloop.cases.messages import (
    ActionRecord,
    AssignRequest,
    CallbackRequest,
    CaseEmail,
    CaseInput,
    TeamMorningRequest,
    TimelineRecord,
)
from kringloop.cases.models import Case, FeedbackCallRequest
from kringloop.database import session_for
from kringloop.mail.delivery import Recipient
from kringloop.org.business_hours import add_business_hours
from kringloop.org.organisation import Organisation
from kringloop.privacy.messages import RetentionRequest
from kringloop.responses.models import SurveyResponse
from kringloop.settings import Settings
from tests.support.people import BRAM

pytestmark = pytest.mark.office_hours  # these tests count the team's working hours

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam
TEAM = "particulier"
NOOR = "noor.hendriks@fietsenwinkel.example"


def a_response(n: int = 1, *, email: str | None = "sem@example.nl") -> SurveyResponse:
    return SurveyResponse(id=f"steps-{n}", program="customer", score=3, category="detractor",
                          comment="De fiets was een week te laat.", name="Sem Bakker",
                          email=email, language="nl", answered_at=T0, received_at=T0)


def a_resolved_case(n: int = 1) -> Case:
    return Case(id=f"case-steps-{n}", response_id=f"steps-{n}", program="customer", score=3,
                status="resolved", team_id=TEAM, assignee_email=NOOR,
                assignee_name="Noor Hendriks", opened_at=T0,
                callback_due_at=T0 + timedelta(days=1), attempts=1,
                action_taken="Een nieuwe fiets bezorgd.",
                resolution_message="Sorry voor het lange wachten.")


def at(moment: datetime) -> ActivityEnvironment:
    """Activities run as the server scheduled them at `moment`."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(environment.info, scheduled_time=moment)
    return environment


# --- composing a case's emails: pure functions of the case, its origin and the organisation ----

def test_the_closing_email_tells_the_respondent_what_was_done_and_replies_reach_the_assignee(
    org: Organisation, settings: Settings,
) -> None:
    case, response = a_resolved_case(), a_response()
    letter = emails.compose(kind="closing", case=case, origin=response, org=org,
                            settings=settings)

    assert letter.to == Recipient("Sem Bakker", "sem@example.nl", "nl")
    assert letter.reply_to == NOOR
    email = letter.render(emails.template_for("closing", response))
    assert "Een nieuwe fiets bezorgd." in email.text
    assert "Sorry voor het lange wachten." in email.text
    assert email.subject.startswith("Sem")
    links = dict(letter.context["score_links"])  # type: ignore[call-overload]
    assert sorted(links) == list(range(11))
    assert all(link.startswith(f"{settings.base_url}/r/") for link in links.values())


def test_a_respondent_without_an_address_gets_no_email_but_the_lead_still_hears(
    org: Organisation, settings: Settings,
) -> None:
    case, response = a_resolved_case(), a_response(email=None)
    with pytest.raises(emails.NoAddress):
        emails.compose(kind="closing", case=case, origin=response, org=org, settings=settings)

    escalation = emails.compose(kind="escalation", case=case, origin=response, org=org,
                                settings=settings)
    lead = org.team(TEAM).lead
    assert escalation.to == Recipient(lead.name, lead.email, lead.language)
    assert escalation.reply_to is None and escalation.context["lead_name"] == lead.name


def test_a_reminder_goes_to_the_member_working_the_case(
    org: Organisation, settings: Settings,
) -> None:
    letter = emails.compose(kind="reminder", case=a_resolved_case(), origin=a_response(),
                            org=org, settings=settings, reassigned=True)
    assert letter.to.email == NOOR and letter.reply_to is None
    assert letter.context["member_name"] == "Noor Hendriks"
    assert letter.context["reassigned"] is True


def test_a_feedback_call_is_acknowledged_as_the_request_for_a_call_it_was(
    org: Organisation, settings: Settings,
) -> None:
    request = FeedbackCallRequest(
        id="call-1", rejection_id="rejection-1", name="Lotte de Wit", email="lotte@example.nl",
        phone="0612345678", language="nl", vacancy_title="Fietsenmaker",
        recruiter_email="thijs.willems@fietsenwinkel.example", requested_at=T0)
    case = Case(id="case-call-1", response_id="call-1", program="candidate", team_id="werving",
                opened_at=T0)
    assert emails.template_for("acknowledgement", request) == "feedback_call"
    assert emails.template_for("acknowledgement", a_response()) == "acknowledgement"
    letter = emails.compose(kind="acknowledgement", case=case, origin=request, org=org,
                            settings=settings)
    assert letter.context["vacancy_title"] == "Fietsenmaker"
    assert letter.context["phone"] == "0612345678"


# --- assigning and scheduling ------------------------------------------------------------------

def busy(engine: Engine, org: Organisation, *, except_for: str, cases_each: int) -> None:
    """Every member of the team has open cases, but one."""
    with session_for(engine) as session:
        n = 100
        for member in org.team(TEAM).members:
            if member.email == except_for:
                continue
            for _ in range(cases_each):
                n += 1
                session.add(a_response(n))
                session.add(Case(id=f"case-steps-{n}", response_id=f"steps-{n}",
                                 program="customer", score=3, status="assigned", team_id=TEAM,
                                 assignee_email=member.email, assignee_name=member.name,
                                 assigned_at=T0, opened_at=T0))
        session.commit()


def test_the_least_loaded_colleague_gets_the_case_unless_someone_is_asked_for(
    engine: Engine, org: Organisation,
) -> None:
    busy(engine, org, except_for=NOOR, cases_each=2)
    request = AssignRequest(case_id="case-steps-1", team_id=TEAM, step="assigned",
                            actor="kringloop", reason="assigned")
    with session_for(engine) as session:
        def chosen(asked: AssignRequest) -> str:
            return steps.choose_assignee(session=session, org=org, request=asked, now=T0).email

        assert chosen(request) == NOOR
        assert chosen(dataclasses.replace(request, exclude_email=NOOR)) != NOOR
        assert chosen(dataclasses.replace(request, preferred_email=BRAM)) == BRAM


def test_the_callback_is_due_within_the_sla_in_the_teams_working_hours(
    org: Organisation,
) -> None:
    request = CallbackRequest(case_id="case-steps-1", team_id=TEAM, score=3,
                              program="customer", step="callback")
    friday_afternoon = datetime(2026, 11, 6, 15, tzinfo=UTC)
    due, hours = steps.callback_due(org=org, request=request, opened_at=friday_afternoon)
    assert hours == org.programs["customer"].sla_hours_for(3)
    assert due == add_business_hours(org.team(TEAM), friday_afternoon, hours)
    assert due.date() > friday_afternoon.date() + timedelta(days=2), "not over the weekend"
    demo, _ = steps.callback_due(org=org, request=request, opened_at=friday_afternoon,
                                 time_scale=60)
    assert demo - friday_afternoon == (due - friday_afternoon) / 60


def test_routing_retried_after_its_commit_gives_the_same_plan(
    engine: Engine, org: Organisation,
) -> None:
    """A worker killed after the routing was stored but before it reported: Temporal runs the
    step again, and the case must go on with the plan it had, not fail on every attempt."""
    with session_for(engine) as session:
        session.add(a_response())
        session.commit()
    steps.open_case(engine=engine, case=CaseInput(response_id="steps-1", program="customer",
                                                  score=3), now=T0)
    first = steps.plan_case(engine=engine, org=org, case_id="case-steps-1", now=T0)
    again = steps.plan_case(engine=engine, org=org, case_id="case-steps-1", now=T0)

    assert again == first and again.team_id == TEAM
    with session_for(engine) as session:
        case = session.get(Case, "case-steps-1")
    assert case is not None and case.team_id == TEAM


async def test_an_unknown_case_fails_for_good_instead_of_retrying_forever(
    engine: Engine, org: Organisation, settings: Settings,
) -> None:
    cases = CaseActivities(engine=engine, org=org)
    with pytest.raises(ApplicationError) as unknown:
        await at(T0).run(cases.plan_case, "case-nobody")
    assert unknown.value.type == "UnknownCase" and unknown.value.non_retryable
    with pytest.raises(ApplicationError) as no_response:
        await at(T0).run(cases.open_case, CaseInput(response_id="nobody", program="customer",
                                                    score=2))
    assert no_response.value.type == "UnknownResponse" and no_response.value.non_retryable

    with session_for(engine) as session:
        session.add(a_response(email=None))
        session.add(a_resolved_case())
        session.commit()
    mail = MailActivities(engine=engine, org=org, settings=settings)
    with pytest.raises(ApplicationError) as nobody:
        await at(T0).run(mail.send_case_email, CaseEmail(
            case_id="case-steps-1", kind="closing", key="case-steps-1:closing:1"))
    assert nobody.value.type == "NoAddress" and nobody.value.non_retryable


# --- the worker's event loop stays free ---------------------------------------------------------

def connections_taken(engine: Engine) -> tuple[list[str], Callable[[], None]]:
    """Where the engine's connections are taken: on the event loop's thread, or off it."""
    taken: list[str] = []

    def checkout(*_: object) -> None:
        try:
            asyncio.get_running_loop()
            taken.append("event loop")
        except RuntimeError:
            taken.append("thread")

    event.listen(engine, "checkout", checkout)
    return taken, lambda: event.remove(engine, "checkout", checkout)


async def test_a_case_is_opened_planned_assigned_and_recorded_without_holding_the_event_loop(
    engine: Engine, org: Organisation, settings: Settings, tmp_path: Path,
) -> None:
    with session_for(engine) as session:
        session.add(a_response())
        session.commit()
    cases = CaseActivities(engine=engine, org=org)
    digests = DigestActivities(engine=engine, org=org, settings=settings)
    erasure = ErasureActivities(engine=engine, outbox=tmp_path)
    taken, stop = connections_taken(engine)
    try:
        await at(T0).run(cases.open_case, CaseInput(response_id="steps-1", program="customer",
                                                    score=3))
        plan = await at(T0).run(cases.plan_case, "case-steps-1")
        await at(T0).run(cases.schedule_callback, CallbackRequest(
            case_id="case-steps-1", team_id=plan.team_id, score=3, program="customer",
            step="callback"))
        member = await at(T0).run(cases.assign_member, AssignRequest(
            case_id="case-steps-1", team_id=plan.team_id, step="assigned", actor="kringloop",
            reason="assigned"))
        await at(T0).run(cases.record_action, ActionRecord(
            case_id="case-steps-1", step="attempt-1", kind="callback_attempt",
            actor=member.name, outcome="reached"))
        await at(T0).run(cases.record_timeline, TimelineRecord(
            case_id="case-steps-1", step="closed", actor="kringloop", kind="closed",
            status="closed"))
        assert await at(T0).run(cases.record_resurvey, "case-steps-1", 9)
        await at(T0).run(digests.plan_team_morning, TeamMorningRequest(plan.team_id))
        await at(T0).run(erasure.purge_expired_personal_data, RetentionRequest(months=24))
    finally:
        stop()

    assert taken and set(taken) == {"thread"}
    with session_for(engine) as session:
        case = session.get(Case, "case-steps-1")
    assert case is not None and case.assignee_email == member.email
    assert case.status == "closed" and case.recovered


async def test_the_event_loop_keeps_ticking_while_the_database_is_locked_by_another_writer(
    engine: Engine, org: Organisation,
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    with session_for(engine) as session:
        session.add(a_response())
        session.add(a_resolved_case())
        session.commit()
    locked, release = threading.Event(), threading.Event()

    def another_writer() -> None:  # the web app, or a retention purge, writing meanwhile
        connection = sqlite3.connect(engine.url.database or "", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(5)
        connection.execute("COMMIT")
        connection.close()

    writer = threading.Thread(target=another_writer)
    writer.start()
    await asyncio.to_thread(locked.wait, 5)
    cases = CaseActivities(engine=engine, org=org)
    step = asyncio.create_task(at(T0).run(cases.record_timeline, TimelineRecord(
        case_id="case-steps-1", step="note-1", actor="Noor Hendriks", kind="note",
        detail="Teruggebeld")))
    latest = 0.0
    for _ in range(50):  # 0.5 s of 10 ms ticks while the step waits for the lock
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        latest = max(latest, time.perf_counter() - start - 0.01)
    release.set()
    await step
    writer.join()
    assert latest < 0.25, f"the event loop stood still for {latest:.2f} s"
