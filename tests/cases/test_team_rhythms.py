"""Team rhythms from Temporal Schedules: a morning digest on working days, a Monday spotlight.

The workflows run on the time-skipping server for a given day, as the schedule would start them
that morning (the server's own clock leaps ahead whenever it idles, so the day is explicit)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import holidays
import pytest
from temporalio.client import Client

from kringloop.cases.messages import TeamMorningRequest
from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse
from kringloop.runtime.schedules import ensure_team_schedules
from tests.support.kringloop import Kringloop
from tests.support.mail import body_of
from tests.support.working_days import AMSTERDAM
from workflows.digest import DailyDigestWorkflow, WeeklySpotlightWorkflow

pytestmark = pytest.mark.office_hours  # these tests count the team's working hours

DUTCH = holidays.country_holidays("NL")
TEAM = "zakelijk"


def next_morning(*, holiday: bool, weekday: int | None = None) -> datetime:
    """08:00 Amsterdam on the next weekday that is (or is not) a Dutch public holiday."""
    day = datetime.now(UTC).astimezone(AMSTERDAM).date() + timedelta(days=1)
    while not (day.isoweekday() <= 5 and (day in DUTCH) == holiday
               and (weekday is None or day.isoweekday() == weekday)):
        day += timedelta(days=1)
    return datetime.combine(day, time(8), AMSTERDAM)


def add_case(live: Kringloop, n: int, assignee: str, due: datetime, *, name: str,
             recovered: bool | None = None, closed_at: datetime | None = None,
             attempted_at: datetime | None = None) -> None:
    now = datetime.now(UTC)
    with session_for(live.engine) as session:
        session.add(SurveyResponse(id=f"rhythm-{n}", program="customer", score=2,
                                   category="detractor", name=name, language="nl",
                                   answered_at=now, received_at=now, case_id=f"case-rhythm-{n}"))
        session.add(Case(id=f"case-rhythm-{n}", response_id=f"rhythm-{n}", program="customer",
                         score=2, status="closed" if closed_at else "assigned", team_id=TEAM,
                         assignee_email=assignee, assignee_name="x", opened_at=due - timedelta(
                             days=2), callback_due_at=due, first_attempt_at=attempted_at,
                         recovered=recovered, closed_at=closed_at))
        session.commit()


async def run(simulated: Kringloop, workflow: object, workflow_id: str, morning: datetime
              ) -> int:
    return await simulated.env.client.execute_workflow(  # type: ignore[no-any-return]
        workflow, TeamMorningRequest(TEAM, morning.date().isoformat()), id=workflow_id,
        task_queue=simulated.settings.task_queue)


async def test_members_with_callbacks_due_or_overdue_get_a_morning_digest(
    simulated: Kringloop,
) -> None:
    morning = next_morning(holiday=False)
    team = simulated.org.team(TEAM)
    joost, fatima, pieter = [m.email for m in team.members if m.role == "member"][:3]
    add_case(simulated, 1, joost, morning + timedelta(hours=7), name="Bakkerij Jansen")
    add_case(simulated, 2, fatima, morning - timedelta(hours=20), name="Fietskoerier BV")
    add_case(simulated, 3, pieter, morning + timedelta(days=1, hours=3), name="Later BV")

    sent = await run(simulated, DailyDigestWorkflow.run, "digest-test-1", morning)

    assert sent == 2
    [joosts] = simulated.smtp.to(joost, "digest")
    assert "Bakkerij Jansen" in body_of(joosts) and "Vandaag terugbellen" in body_of(joosts)
    [fatimas] = simulated.smtp.to(fatima, "digest")
    assert "Fietskoerier BV" in body_of(fatimas) and "al gebeld" in body_of(fatimas)
    assert not simulated.smtp.to(pieter, "digest")
    # The same morning run again (a retry, a second schedule fire) sends nothing new.
    assert await run(simulated, DailyDigestWorkflow.run, "digest-test-2", morning) == 2
    assert len(simulated.smtp.to(joost, "digest")) == 1


async def test_no_digest_on_a_public_holiday(simulated: Kringloop) -> None:
    holiday = next_morning(holiday=True)
    member = simulated.org.team(TEAM).members[1].email
    add_case(simulated, 4, member, holiday + timedelta(hours=3), name="Feestdag BV")
    assert await run(simulated, DailyDigestWorkflow.run, "digest-holiday", holiday) == 0
    assert not simulated.smtp.received


async def test_monday_spotlight_thanks_colleagues_for_last_weeks_work(
    simulated: Kringloop,
) -> None:
    monday = next_morning(holiday=False, weekday=1).replace(hour=9)
    team = simulated.org.team(TEAM)
    star = next(m for m in team.members if m.role == "member")
    last_week = monday - timedelta(days=4)
    add_case(simulated, 5, star.email, last_week + timedelta(hours=5), name="Teruggewonnen BV",
             recovered=True, closed_at=last_week + timedelta(hours=6),
             attempted_at=last_week + timedelta(hours=1))

    assert await run(simulated, WeeklySpotlightWorkflow.run, "spotlight-test", monday) == len(
        team.members)
    for member in team.members:
        [spotlight] = simulated.smtp.to(member.email, "spotlight")
        text = body_of(spotlight)
        thanks = "1 keer op tijd teruggebeld" if member.language == "nl" else "1 callback on time"
        assert star.name in text and thanks in text
        assert "worst" not in text.lower() and "slechtst" not in text.lower()


async def test_after_a_quiet_week_the_spotlight_stays_silent(simulated: Kringloop) -> None:
    monday = next_morning(holiday=False, weekday=1).replace(hour=9)
    team = simulated.org.team(TEAM)
    member = next(m for m in team.members if m.role == "member")
    # Work last week, but nothing to thank anyone for: a callback made late, nobody won back.
    last_week = monday - timedelta(days=4)
    add_case(simulated, 6, member.email, last_week, name="Te Laat BV",
             attempted_at=last_week + timedelta(hours=3))

    await run(simulated, WeeklySpotlightWorkflow.run, "spotlight-quiet", monday)

    assert [m for m in team.members if simulated.smtp.to(m.email, "spotlight")] == []


async def test_every_team_gets_its_schedules_once_in_its_own_time_zone(live: Kringloop) -> None:
    client: Client = live.env.client
    first = await ensure_team_schedules(client, live.org, live.settings.task_queue)
    again = await ensure_team_schedules(client, live.org, live.settings.task_queue)
    assert first == again and len(first) == 2 * len(live.org.teams)
    english = await client.get_schedule_handle("digest-english").describe()
    spec = english.schedule.spec
    assert spec.time_zone_name == "Europe/London"
    assert [r.start for r in spec.calendars[0].hour] == [8]
    assert [(r.start, r.end) for r in spec.calendars[0].day_of_week] == [(1, 5)]
    for schedule_id in first:
        await client.get_schedule_handle(schedule_id).delete()
