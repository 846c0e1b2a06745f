"""The respondent books their callback: the times offered are the assignee's free half hours in
the team's working time, never at night, at a weekend or on a public holiday, never a time the
assignee already promised someone else; and the booked time becomes the case's callback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from kringloop.cases.booking import Slot, free_slots, is_booked, offered_slots, record_booking
from kringloop.cases.messages import BookingRecord
from kringloop.cases.models import Case, TimelineEntry
from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from tests.support.cases import NOW, add_case
from tests.support.people import JOOST
from tests.support.working_days import AMSTERDAM, LONDON

pytestmark = pytest.mark.office_hours  # the example file's working hours, holidays and zones

# Monday 30 November 2026, 06:00 in Amsterdam: the whole working day is still ahead.
MONDAY_EARLY = datetime(2026, 11, 30, 6, 0, tzinfo=AMSTERDAM)


def local_starts(slots: list[Slot], zone: ZoneInfo = AMSTERDAM) -> list[str]:
    return [slot.start.astimezone(zone).strftime("%a %d %H:%M") for slot in slots]


def test_half_hours_inside_the_working_day_on_the_next_five_working_days(
    org: Organisation,
) -> None:
    slots = free_slots(org.team("particulier"), now=MONDAY_EARLY, taken=[])

    starts = local_starts(slots)
    assert starts[:3] == ["Mon 30 09:00", "Mon 30 09:30", "Mon 30 10:00"]
    assert "Mon 30 16:30" in starts and "Mon 30 17:00" not in starts
    assert len(slots) == 5 * 16, "sixteen half hours on each of five working days"
    assert starts[-1] == "Fri 04 16:30"
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)
    assert all(slot.start.tzinfo == UTC for slot in slots)


def test_nothing_sooner_than_two_hours_from_now(org: Organisation) -> None:
    ten_past_ten = datetime(2026, 11, 30, 10, 10, tzinfo=AMSTERDAM)

    slots = free_slots(org.team("particulier"), now=ten_past_ten, taken=[])

    assert local_starts(slots)[0] == "Mon 30 12:30"


def test_weekends_and_public_holidays_are_skipped(org: Organisation) -> None:
    # Christmas Eve 2026, a Thursday, after hours: Christmas Day (Friday) is a holiday in the
    # Netherlands, then comes the weekend; Boxing Day falls on the Saturday.
    christmas_eve = datetime(2026, 12, 24, 16, 0, tzinfo=AMSTERDAM)

    slots = free_slots(org.team("particulier"), now=christmas_eve, taken=[],
                       days=2)

    days = sorted({slot.start.astimezone(AMSTERDAM).date().isoformat() for slot in slots})
    assert days == ["2026-12-28", "2026-12-29"]


def test_a_time_the_assignee_promised_someone_else_is_not_offered(
    org: Organisation,
) -> None:
    other_call = datetime(2026, 11, 30, 10, 15, tzinfo=AMSTERDAM)

    slots = free_slots(org.team("particulier"), now=MONDAY_EARLY, taken=[other_call],
                       days=1)

    starts = local_starts(slots)
    assert "Mon 30 10:00" not in starts and "Mon 30 10:30" not in starts
    assert "Mon 30 09:30" in starts and "Mon 30 11:00" in starts


def test_times_are_the_teams_own_and_say_in_which_zone(
    org: Organisation,
) -> None:
    london = free_slots(org.team("english"), now=MONDAY_EARLY, taken=[], days=1)
    amsterdam = free_slots(org.team("particulier"), now=MONDAY_EARLY, taken=[], days=1)

    assert london[0].start == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert amsterdam[0].start == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert london[0].label("en") == "Mon 30 Nov 09:00 (Europe/London)"
    assert amsterdam[0].label("nl") == "ma 30 nov 09:00 (Europe/Amsterdam)"
    assert amsterdam[0].label("en") == "Mon 30 Nov 09:00 (Europe/Amsterdam)"
    assert local_starts(london, LONDON)[-1] == "Mon 30 16:30"


def test_the_assignees_open_cases_take_their_times_and_only_those(
    engine: Engine, org: Organisation,
) -> None:
    """NOW is Tuesday 24 November, 11:00 in Amsterdam; Sanne is due to call on other cases."""
    mine = add_case(engine, 1, due_in=timedelta(hours=4))  # 15:00, this case's own: offered
    add_case(engine, 2, due_in=timedelta(hours=3, minutes=15))  # 14:15: taken
    add_case(engine, 3, due_in=timedelta(hours=5), status="resolved")  # 16:00, done: offered
    add_case(engine, 4, due_in=timedelta(hours=4, minutes=30), assignee=JOOST)  # 15:30: offered
    with session_for(engine) as session:
        case = session.get(Case, mine)
    assert case is not None

    slots = offered_slots(engine=engine, org=org, case=case, now=NOW)

    starts = [s for s in local_starts(slots) if s.startswith("Tue 24")]
    assert "Tue 24 14:00" not in starts and "Tue 24 14:30" not in starts
    assert {"Tue 24 13:30", "Tue 24 15:00", "Tue 24 15:30", "Tue 24 16:00"} <= set(starts)


def test_a_booking_moves_the_callback_and_is_on_the_timeline_once(engine: Engine) -> None:
    case_id = add_case(engine, 1)
    at = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    record = BookingRecord(case_id=case_id, step="booking-1", at=at)
    with session_for(engine) as session:
        assert not is_booked(session=session, case_id=case_id)

    record_booking(engine=engine, record=record, now=NOW)
    record_booking(engine=engine, record=record, now=NOW + timedelta(seconds=5))  # a retry

    with session_for(engine) as session:
        case = session.get(Case, case_id)
        entries = session.exec(select(TimelineEntry).where(
            TimelineEntry.kind == "callback_booked")).all()
        assert is_booked(session=session, case_id=case_id)
    assert case is not None and case.callback_due_at == at
    assert [(e.actor, e.key, e.at) for e in entries] == [("respondent", "booking-1", NOW)]
    assert "2026-11-26 09:30 UTC" in entries[0].detail


def test_booking_again_moves_the_callback_again(engine: Engine) -> None:
    case_id = add_case(engine, 1)
    first = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    second = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)

    record_booking(engine=engine, record=BookingRecord(case_id, "booking-1", first), now=NOW)
    record_booking(engine=engine, record=BookingRecord(case_id, "booking-2", second), now=NOW)

    with session_for(engine) as session:
        case = session.get(Case, case_id)
        booked = session.exec(select(TimelineEntry.key).where(
            TimelineEntry.kind == "callback_booked")).all()
    assert case is not None and case.callback_due_at == second
    assert sorted(booked) == ["booking-1", "booking-2"]
