"""The callback promise in the team's working time, as a lead lives it over a weekend and a
public holiday: reminder, escalation, one colleague, then the lead, told once; no email to the
team at night; the case stays overdue; waiting on the respondent stops the clock."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import holidays
import pytest
from sqlmodel import col, select

from kringloop.cases import flows
from kringloop.cases.messages import RESPONDENT_KINDS, CallbackBooking
from kringloop.cases.models import TimelineEntry
from kringloop.cases.workspace import team_board
from kringloop.database import session_for
from tests.support.kringloop import Kringloop
from tests.support.mail import body_of
from tests.support.working_days import AMSTERDAM, next_weekday_at

ANNA = {"id": "klant-9001", "name": "Anna de Vries", "email": "anna@example.nl", "language": "nl"}
QUARTER = timedelta(minutes=15)
pytestmark = pytest.mark.office_hours
DUTCH = holidays.country_holidays("NL", years=range(2026, 2040))


def worked(moment: datetime) -> bool:
    """Independent oracle: is this instant inside Dutch office hours (Mon-Fri 09-17)?"""
    local = moment.astimezone(AMSTERDAM)
    return local.isoweekday() <= 5 and local.date() not in DUTCH and time(9) <= local.time() < \
        time(17)


def working_time_after(start: datetime, hours: float) -> datetime:
    """Walk quarter-hours from the first working moment, counting the working ones."""
    moment = start
    if not worked(moment):
        moment = moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)
        while not worked(moment):
            moment += QUARTER
    left = round(hours * 4)
    while left:
        if worked(moment):
            left -= 1
        moment += QUARTER
    return moment


def near(moment: datetime, expected: datetime) -> bool:
    """The same moment, give or take the second an activity takes to be scheduled."""
    return abs(moment - expected) < timedelta(seconds=1)


def evening_before_a_weekday_holiday(after: datetime) -> datetime:
    """20:00 on the working day before the next Dutch public holiday on a weekday."""
    day = after.astimezone(AMSTERDAM).date() + timedelta(days=2)
    while not (day in DUTCH and day.isoweekday() <= 5
               and (day - timedelta(days=1)).isoweekday() <= 5
               and day - timedelta(days=1) not in DUTCH):
        day += timedelta(days=1)
    return datetime.combine(day - timedelta(days=1), time(20), AMSTERDAM)


def staff_emails(kringloop: Kringloop, case_id: str) -> list[tuple[str, datetime, str]]:
    """(kind, when it went, to whom) for every email the case sent, in order."""
    with session_for(kringloop.engine) as session:
        rows = session.exec(select(TimelineEntry).where(
            TimelineEntry.case_id == case_id, TimelineEntry.kind == "email_sent")
            .order_by(col(TimelineEntry.at))).all()
    return [(row.key.split(":")[-3], row.at, row.detail) for row in rows]


async def test_a_missed_callback_over_a_holiday_weekend_never_mails_the_team_at_night(
    simulated: Kringloop, keep_history: Any,
) -> None:
    now = await simulated.env.get_current_time()
    evening = evening_before_a_weekday_holiday(now)
    await simulated.env.sleep(evening - now)

    posted = await simulated.post_response("clock-1", 2, respondent=ANNA)
    case_id = posted["case_id"]
    case = await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    opened = datetime.fromisoformat(case["opened_at"])
    promised = datetime.fromisoformat(case["callback_due_at"])
    first = case["assignee"]
    team = simulated.org.team(case["team"])
    policy = simulated.org.programs["customer"]
    assert near(promised, working_time_after(opened, 24))

    # Three weeks pass and nobody calls.
    for _ in range(21 * 4):
        await simulated.env.sleep(timedelta(hours=6))
    await simulated.case_when(case_id, lambda c: c["assignee"]["email"] == team.lead.email)

    sent = staff_emails(simulated, case_id)
    print(f"\nopened {opened.astimezone(AMSTERDAM):%a %d %b %H:%M}, promised "
          f"{promised.astimezone(AMSTERDAM):%a %d %b %H:%M} (Amsterdam)")
    for kind, at, to in sent:
        print(f"  {at.astimezone(AMSTERDAM):%a %d %b %H:%M}  {kind:<16} {to}")
    to_team = [(kind, at) for kind, at, _ in sent if kind not in RESPONDENT_KINDS]
    assert [kind for kind, _ in to_team] == [
        "assignment", "reminder", "escalation", "assignment", "assignment"]
    night = [(kind, at.astimezone(AMSTERDAM)) for kind, at in to_team if not worked(at)]
    assert night == [], "an email reached the team outside its working hours"

    moments = dict(zip(["assigned", "reminded", "escalated", "colleague", "lead"],
                       [at for _, at in to_team], strict=True))
    # The case came in at 20:00: its assignment waits for the next opening, after the holiday.
    assert near(moments["assigned"], working_time_after(opened, 0))
    assert moments["assigned"].astimezone(AMSTERDAM).time().replace(microsecond=0) == time(9)
    # Four working hours before the promise, the member is reminded; at it, the lead is told
    # (a promise at closing time is told at the next opening).
    assert near(working_time_after(moments["reminded"], policy.reminder_before_hours), promised)
    assert near(moments["escalated"], working_time_after(promised, 0))
    # A colleague gets the grace period in working time; then the lead owns the case.
    handed_over = working_time_after(promised, policy.escalation_grace_hours)
    assert near(moments["colleague"], working_time_after(handed_over, 0))
    taken_over = working_time_after(handed_over, policy.escalation_grace_hours)
    assert near(moments["lead"], working_time_after(taken_over, 0))

    case = await simulated.case(case_id)
    assert case["assignee"]["email"] == team.lead.email
    assert case["assignee"]["email"] != first["email"]
    # The time promised to the respondent does not move: the case stays overdue.
    assert datetime.fromisoformat(case["callback_due_at"]) == promised
    kinds = [kind for kind, _ in simulated.timeline(case_id)]
    print(f"  timeline entries after three weeks: {len(kinds)}")
    assert kinds.count("escalated") == 1 and kinds.count("reassigned") == 2
    assert len(kinds) <= 20, kinds

    # Anna hears who calls her now, and by when: once per change, a day apart, in the daytime.
    notes = [at for kind, at, _ in sent if kind == "promise_changed"]
    assert len(notes) == 2 and all(worked(at) for at in notes)
    # A day after the first was queued; each email's moment is when its sending began, a few
    # milliseconds later, so the two moments may lie a hair under a day apart.
    assert notes[1] - notes[0] >= timedelta(days=1, seconds=-1)
    assert near(notes[0], moments["colleague"])
    assert kinds.count("promised") == 3, "the acknowledgement's promise and two new ones"
    handed_to = next(detail for kind, detail in simulated.timeline(case_id)
                     if kind == "reassigned").removeprefix("to ").split(" (was")[0]
    first_note = simulated.smtp.to(ANNA["email"], "promise_changed")[0]
    assert handed_to in body_of(first_note)
    with session_for(simulated.engine) as session:
        board = team_board(session=session, team=team, now=await simulated.env.get_current_time())
    overdue = {m.email: m.overdue for m in board.members}
    print(f"  board overdue: {overdue}")
    assert overdue[team.lead.email] == 1

    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "communication", "action_taken": "Teruggebeld door de teamleider",
        "message": "Sorry dat het zo lang duurde."})
    assert answer.status_code == 200, answer.text
    await keep_history(simulated, case_id, "case_working_hours_lead_takes_over")


def working_hours_between(start: datetime, end: datetime) -> float:
    """Independent oracle: count the working quarter-hours from `start` to `end` (both taken
    to their quarter-hour: the test's moments lie a few milliseconds past one)."""

    def quarter(moment: datetime) -> datetime:
        return moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)

    moment, end, quarters = quarter(start), quarter(end), 0
    while moment < end:
        quarters += worked(moment)
        moment += QUARTER
    return quarters / 4


async def test_waiting_on_the_respondent_stops_the_clock_and_the_wait_moves_the_due_time(
    simulated: Kringloop, keep_history: Any,
) -> None:
    now = await simulated.env.get_current_time()
    await simulated.env.sleep(next_weekday_at(now, 2, time(10)) - now)
    posted = await simulated.post_response("clock-pause-1", 2, respondent=ANNA)
    case_id = posted["case_id"]
    case = await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    promised = datetime.fromisoformat(case["callback_due_at"])

    await simulated.env.sleep(timedelta(hours=3))
    answer = await simulated.act(case_id, "pause", {"reason": "Gevraagd wanneer bellen past"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "waiting"
    paused_at = await simulated.env.get_current_time()
    again = await simulated.act(case_id, "pause", {"reason": "nog eens"})
    assert again.status_code == 422 and again.json()["field"] == "reason"

    # A week passes, well beyond the promise: nobody is chased, nothing counts as overdue.
    await simulated.env.sleep(timedelta(days=7))
    kinds = [kind for kind, _ in simulated.timeline(case_id)]
    assert "escalated" not in kinds and "reassigned" not in kinds
    assert not [kind for kind, _, _ in staff_emails(simulated, case_id)
                if kind in ("reminder", "escalation")]
    team = simulated.org.team(case["team"])
    with session_for(simulated.engine) as session:
        board = team_board(session=session, team=team, now=await simulated.env.get_current_time())
    assert sum(m.overdue for m in board.members) == 0

    answer = await simulated.act(case_id, "resume", {})
    assert answer.status_code == 200, answer.text
    resumed_at = await simulated.env.get_current_time()
    moved = datetime.fromisoformat(answer.json()["callback_due_at"])
    waited = working_hours_between(paused_at, resumed_at)
    assert waited >= 35  # a working week, less what public holidays take
    assert near(moved, working_time_after(promised, waited))
    kinds = [kind for kind, _ in simulated.timeline(case_id)]
    assert kinds.count("paused") == 1 and kinds.count("resumed") == 1

    # The clock runs again from the new due time: the reminder comes before it.
    await simulated.env.sleep(moved - resumed_at + timedelta(minutes=1))
    await simulated.case_when(case_id, lambda c: c["status"] == "escalated")
    reminder = [at for kind, at, _ in staff_emails(simulated, case_id) if kind == "reminder"]
    assert len(reminder) == 1 and reminder[0] < moved
    await keep_history(simulated, case_id, "case_paused_resumed_escalated")


async def test_a_still_low_re_survey_reopens_the_case_once_to_the_lead(
    simulated: Kringloop, keep_history: Any,
) -> None:
    posted = await simulated.post_response("clock-reopen-1", 3, respondent=ANNA)
    case_id = posted["case_id"]
    case = await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    lead = simulated.org.team(case["team"]).lead

    async def call_resolve_and_answer(score: int) -> None:
        assert (await simulated.act(case_id, "callback-attempts",
                                    {"outcome": "reached"})).status_code == 200
        answer = await simulated.act(case_id, "resolve", {
            "root_cause": "delivery-late", "action_taken": "Nieuwe fiets bezorgd",
            "message": "Je nieuwe fiets staat klaar."})
        assert answer.status_code == 200, answer.text
        sent = len(simulated.smtp.to(ANNA["email"], "resurvey"))
        await simulated.env.sleep(timedelta(days=7, hours=1))
        await simulated.smtp.wait_for_kind(ANNA["email"], "resurvey", sent + 1)
        resurvey = simulated.smtp.to(ANNA["email"], "resurvey")[-1]
        link = re.findall(r"http://kringloop\.test(/r/\S+)", body_of(resurvey))[score]
        assert (await simulated.api.post(link, data={"score": str(score)})).status_code == 200

    await call_resolve_and_answer(2)
    case = await simulated.case_when(case_id, lambda c: c["assignee"]["email"] == lead.email)
    assert case["status"] == "assigned"
    assert "reopened" in [kind for kind, _ in simulated.timeline(case_id)]

    await call_resolve_and_answer(1)  # the second low score is recorded, not reopened
    assert await simulated.finished(case_id) == "closed"
    kinds = [kind for kind, _ in simulated.timeline(case_id)]
    assert kinds.count("reopened") == 1 and kinds.count("resurvey_answered") == 2
    assert (await simulated.case(case_id))["resurvey_score"] == 1
    await keep_history(simulated, case_id, "case_reopened_after_a_low_resurvey")


async def test_a_booked_time_becomes_the_promise_the_clock_counts_to(
    simulated: Kringloop,
) -> None:
    now = await simulated.env.get_current_time()
    await simulated.env.sleep(next_weekday_at(now, 2, time(10)) - now)
    posted = await simulated.post_response("clock-booked-1", 2, respondent=ANNA)
    case_id = posted["case_id"]
    case = await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    first_due = datetime.fromisoformat(case["callback_due_at"])
    slot = next_weekday_at(first_due, 1, time(14))  # Anna picks the Monday after, 14:00

    await flows.take_action(simulated.env.client, case_id, flows.book_callback,
                            CallbackBooking(at=slot))
    case = await simulated.case_when(
        case_id, lambda c: datetime.fromisoformat(c["callback_due_at"]) == slot)
    await simulated.smtp.wait_for_kind(ANNA["email"], "booking_confirmed", 1)
    await simulated.smtp.wait_for_kind(case["assignee"]["email"], "callback_booked", 1)

    # The first due time passes without a word: the promise is now the booked time.
    await simulated.env.sleep(first_due - await simulated.env.get_current_time()
                              + timedelta(hours=1))
    assert (await simulated.case(case_id))["status"] == "assigned"
    await simulated.env.sleep(slot - await simulated.env.get_current_time()
                              + timedelta(minutes=5))
    await simulated.case_when(case_id, lambda c: c["status"] == "escalated")
    sent = staff_emails(simulated, case_id)
    [reminded] = [at for kind, at, _ in sent if kind == "reminder"]
    assert near(working_time_after(reminded, 4), slot)
    assert "callback_booked" in [kind for kind, _ in simulated.timeline(case_id)]
