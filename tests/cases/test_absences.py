"""A colleague away (ill, on leave) until a date: new cases pass them by until their last day is
over, and their callbacks due before they are back go to present colleagues at once, the
absence on each case's timeline."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from kringloop.cases import steps
from kringloop.cases.absences import mark_absent
from kringloop.cases.messages import AssignRequest
from kringloop.cases.team_cases import handover_while_away
from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.org.routing import choose_member
from tests.support.cases import NOW, add_case, case_for, move_callback
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.people import BRAM, JOOST, SANNE

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MARIEKE = "marieke.devries@fietsenwinkel.example"  # lead of Zakelijk & Lease
NOOR = "noor.hendriks@fietsenwinkel.example"  # Particulieren


def on(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), AMSTERDAM).astimezone(UTC)


def test_new_cases_pass_an_absent_colleague_by_until_their_last_day_is_over(
    engine: Engine, org: Organisation,
) -> None:
    team = org.team("zakelijk")
    request = AssignRequest(case_id="case-q-1", team_id="zakelijk", step="assign-1")
    last_day = date(2026, 11, 26)
    with session_for(engine) as session:
        first_choice = steps.choose_assignee(session=session, org=org, request=request, now=NOW)
        mark_absent(session=session, team=team, member_email=first_choice.email, until=last_day,
                    set_by=MARIEKE, now=NOW)
        while_away = [steps.choose_assignee(session=session, org=org, request=request,
                                            now=moment)
                      for moment in (NOW, on(last_day, 8), on(last_day, 23))]
        back = steps.choose_assignee(session=session, org=org, request=request,
                                     now=on(last_day + timedelta(days=1), 0))

    assert first_choice.email not in {m.email for m in while_away}
    assert back == first_choice


def test_when_everyone_is_away_a_low_score_is_still_assigned(org: Organisation) -> None:
    team = org.team("zakelijk")
    everyone = {m.email for m in team.members}
    loads = {m.email: 3 for m in team.members} | {SANNE: 1}

    assert choose_member(team, open_cases=loads, last_assigned={}, absent=everyone).email == SANNE
    assert choose_member(team, open_cases=loads, last_assigned={},
                         absent=everyone - {JOOST}).email == JOOST


def test_the_callbacks_due_while_away_are_shared_among_present_colleagues(
    engine: Engine, org: Organisation,
) -> None:
    team = org.team("zakelijk")
    last_day = NOW.astimezone(AMSTERDAM).date() + timedelta(days=2)
    overdue = add_case(engine, 1, due_in=timedelta(hours=-3))
    tomorrow = add_case(engine, 2, due_in=timedelta(days=1))
    on_the_last_day = add_case(engine, 3, due_in=on(last_day, 16) - NOW)
    add_case(engine, 4, due_in=on(last_day + timedelta(days=1), 9) - NOW)  # when back
    add_case(engine, 5, due_in=timedelta(hours=2), attempted=True)  # called already
    others = [m.email for m in team.members if m.email != SANNE]
    away, present = others[:-2], others[-2:]
    with session_for(engine) as session:
        for email in away:
            mark_absent(session=session, team=team, member_email=email, until=last_day,
                        set_by=MARIEKE, now=NOW)
        moves = handover_while_away(session=session, team=team, member_email=SANNE,
                                    until=last_day, now=NOW)

    assert [case_id for case_id, _ in moves] == [overdue, tomorrow, on_the_last_day]
    assert {email for _, email in moves} == set(present)  # both lend a hand, nobody away


async def test_marking_a_colleague_absent_hands_their_due_callbacks_to_a_present_one(
    live: Kringloop,
) -> None:
    due_soon, due_later = await case_for(live, BRAM), await case_for(live, BRAM)
    now = datetime.now(UTC)
    today = now.astimezone(AMSTERDAM).date()
    move_callback(live, due_soon["case_id"], now + timedelta(hours=1))
    move_callback(live, due_later["case_id"], on(today + timedelta(days=10), 10))
    team = live.org.team("particulier")
    for other in team.members:  # everyone is away but Noor
        if other.email not in (BRAM, NOOR):
            answer = await live.api.put(f"/api/teams/particulier/members/{other.email}/absence",
                                        json={"until": str(today + timedelta(days=3))},
                                        headers=ADMIN)
            assert answer.status_code == 200, answer.text

    answer = await live.api.put(f"/api/teams/particulier/members/{BRAM}/absence",
                                json={"until": str(today + timedelta(days=1))}, headers=ADMIN)

    assert answer.status_code == 200, answer.text
    absence = answer.json()
    assert (absence["member"], absence["until"], absence["set_by"]) == (
        BRAM, str(today + timedelta(days=1)), "admin")
    assert absence["handed_over"] == {"moved": [due_soon["case_id"]], "refused": []}
    moved = await live.case(due_soon["case_id"])
    assert moved["assignee"]["email"] == NOOR
    reassigned = [e for e in moved["timeline"] if e["kind"] == "reassigned"]
    until = today + timedelta(days=1)
    assert [e["actor"] for e in reassigned] == [
        f"admin (Bram de Groot absent until {until})"]
    assert "was Bram de Groot" in reassigned[0]["detail"]
    assert (await live.case(due_later["case_id"]))["assignee"]["email"] == BRAM
    assert await _mailed(live, NOOR, "assignment")  # Noor is told


async def _mailed(live: Kringloop, email: str, kind: str) -> bool:
    """Whether `email` got a `kind` email (once the SMTP server has it)."""
    for _ in range(200):
        if live.smtp.to(email, kind):
            return True
        await asyncio.sleep(0.05)
    return False
