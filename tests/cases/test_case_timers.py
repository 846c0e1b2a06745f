"""The case loop in simulated time: SLAs over weekends and holidays, reminders, escalation."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import holidays
import pytest

from kringloop.database import session_for
from kringloop.mail.reply_addresses import case_for_token, token_in
from kringloop.org.organisation import LoyaltyTeam, ProgramPolicy
from tests.support.kringloop import Kringloop
from tests.support.mail import body_of
from tests.support.working_days import AMSTERDAM, next_weekday_at

pytestmark = pytest.mark.office_hours  # these tests count the team's working hours


@pytest.fixture(autouse=True)
async def on_a_tuesday_morning(simulated: Kringloop) -> None:
    """Every story here starts at 10:00 on a working Tuesday, whenever the suite runs."""
    now = await simulated.env.get_current_time()
    await simulated.env.sleep(next_weekday_at(now, 2, time(10)) - now)

ANNA = {"id": "klant-9001", "name": "Anna de Vries", "email": "anna@example.nl", "language": "nl"}


def next_eve_of_a_weekday_holiday(after: datetime) -> datetime:
    """15:00 on the working day before the next Dutch public holiday that falls on a weekday."""
    dutch = holidays.country_holidays("NL", years=range(after.year, after.year + 2))
    day = after.astimezone(AMSTERDAM).date() + timedelta(days=2)
    while not (day in dutch and day.isoweekday() <= 5
               and (day - timedelta(days=1)).isoweekday() <= 5
               and day - timedelta(days=1) not in dutch):
        day += timedelta(days=1)
    return datetime.combine(day - timedelta(days=1), time(15), AMSTERDAM)


def working_quarters_until(start: datetime, hours: int) -> datetime:
    """Independent oracle: walk quarter-hours, counting those inside Dutch working time."""
    dutch = holidays.country_holidays("NL", years=range(start.year, start.year + 2))
    # The case opens a few milliseconds after 15:00; whole quarter-hours keep the oracle exact.
    moment, left = start.astimezone(AMSTERDAM), hours * 4
    while left:
        local = moment.astimezone(AMSTERDAM)
        if local.isoweekday() <= 5 and local.date() not in dutch and 9 <= local.hour < 17:
            left -= 1
        moment += timedelta(minutes=15)
    return moment


async def test_callback_due_counts_business_hours_over_a_public_holiday_and_a_weekend(
    simulated: Kringloop,
) -> None:
    now = await simulated.env.get_current_time()
    eve = next_eve_of_a_weekday_holiday(now)
    await simulated.env.sleep(eve - now)

    # A score of 5 has a 48-business-hour SLA: six working days, so it spans a weekend too.
    posted = await simulated.post_response("holiday-1", 5, respondent=ANNA)
    case = await simulated.case_when(posted["case_id"], lambda c: c["callback_due_at"])

    due = datetime.fromisoformat(case["callback_due_at"])
    opened = datetime.fromisoformat(case["opened_at"])
    assert opened - eve < timedelta(minutes=1)
    assert due == working_quarters_until(opened, 48)
    assert due - opened > timedelta(days=8), "six working days plus a holiday and a weekend"
    ack = await simulated.smtp.wait_for(2)
    acknowledgement = simulated.smtp.to("anna@example.nl", "acknowledgement")
    assert acknowledgement, ack
    local_due = due.astimezone(AMSTERDAM)
    assert f"{local_due:%H:%M}" in body_of(acknowledgement[0])


def simulated_team(simulated: Kringloop, team_id: str) -> LoyaltyTeam:
    return simulated.org.team(team_id)


def simulated_policy(simulated: Kringloop) -> ProgramPolicy:
    return simulated.org.programs["customer"]


def kinds(simulated: Kringloop, case_id: str) -> list[str]:
    return [kind for kind, _ in simulated.timeline(case_id)]


async def test_a_callback_made_in_time_stops_reminders_and_escalation(
    simulated: Kringloop,
) -> None:
    posted = await simulated.post_response("in-time-1", 3, respondent=ANNA)
    case_id = posted["case_id"]
    case = await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    answer = await simulated.act(case_id, "callback-attempts",
                                 {"outcome": "reached", "note": "Goed gesprek"})
    assert answer.status_code == 200, answer.text
    await simulated.env.sleep(timedelta(days=14))
    assert not [m for m in simulated.smtp.received
                if m["X-Kringloop-Kind"] in ("reminder", "escalation")]
    assert "escalated" not in kinds(simulated, case_id)
    assert (await simulated.case(case_id))["assignee"] == case["assignee"]


async def test_unreachable_respondent_gets_a_we_tried_to_reach_you_email_then_the_loop_closes(
    simulated: Kringloop, keep_history: Any,
) -> None:
    posted = await simulated.post_response("unreachable-1", 1, respondent=ANNA)
    case_id = posted["case_id"]
    await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    for _ in range(3):
        answer = await simulated.act(case_id, "callback-attempts", {"outcome": "no_answer"})
        assert answer.status_code == 200, answer.text
    await simulated.smtp.wait_for(3)
    unreachable = simulated.smtp.to("anna@example.nl", "unreachable")
    assert len(unreachable) == 1
    # Her answer ("call me at five") comes back to the case, whoever has it by then.
    token = token_in(str(unreachable[0]["Reply-To"]))
    assert token is not None
    with session_for(simulated.engine) as session:
        assert case_for_token(session.connection(), token) == case_id

    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "communication", "action_taken": "Voicemail ingesproken en gemaild",
        "message": "We hebben je drie keer geprobeerd te bellen."})
    assert answer.status_code == 200, answer.text
    assert await simulated.finished(case_id) == "closed"
    closing = simulated.smtp.to("anna@example.nl", "closing")
    assert len(closing) == 1 and "drie keer" in body_of(closing[0])
    await keep_history(simulated, case_id, "case_unreachable_resurvey_unanswered")


async def test_resurvey_after_seven_days_records_the_recovery(
    simulated: Kringloop, keep_history: Any,
) -> None:
    posted = await simulated.post_response("recovery-1", 4, respondent=ANNA)
    case_id = posted["case_id"]
    await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    await simulated.act(case_id, "callback-attempts", {"outcome": "reached"})
    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "delivery-late", "action_taken": "Nieuwe fiets dezelfde dag bezorgd",
        "message": "Je nieuwe fiets staat klaar.\nSorry voor het wachten."})
    assert answer.status_code == 200, answer.text
    resolved_at = datetime.fromisoformat(answer.json()["resolved_at"])

    await simulated.env.sleep(timedelta(days=6, hours=23))
    assert not simulated.smtp.to("anna@example.nl", "resurvey"), "not before seven days"
    await simulated.env.sleep(timedelta(hours=2))
    await simulated.smtp.wait_for(4)
    [resurvey] = simulated.smtp.to("anna@example.nl", "resurvey")
    links = re.findall(r"http://kringloop\.test(/r/\S+)", body_of(resurvey))
    assert len(links) == 11
    for link in links:  # a mail scanner opens every link: that records no score
        assert (await simulated.api.get(link)).status_code == 200
    assert (await simulated.case(case_id))["resurvey_score"] is None
    clicked = await simulated.api.post(links[9], data={"score": "9"})
    assert clicked.status_code == 200 and ">9<" in clicked.text

    assert await simulated.finished(case_id) == "closed"
    case = await simulated.case(case_id)
    assert case["resurvey_score"] == 9 and case["recovered"] is True
    assert datetime.fromisoformat(case["closed_at"]) - resolved_at >= timedelta(days=7)
    # A second answer does not change the recorded one.
    again = await simulated.api.post(links[2], data={"score": "2"})
    assert again.status_code == 200
    assert (await simulated.case(case_id))["resurvey_score"] == 9
    await keep_history(simulated, case_id, "case_resolved_resurveyed_recovered")
