"""The case loop in simulated time: SLAs over weekends and holidays, reminders, escalation."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from tests.conftest import Kringloop, body_of

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
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
