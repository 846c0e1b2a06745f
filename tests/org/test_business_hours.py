"""SLA arithmetic: a callback deadline counts only the team's working hours.

Expected values are worked out by hand in the comments (and, at the end, by an independent
brute-force oracle), never by calling the function under test.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from kringloop.org.business_hours import (
    add_business_hours,
    business_hours_between,
    subtract_business_hours,
)
from kringloop.org.organisation import LoyaltyTeam, Member
from tests.support.working_days import AMSTERDAM, LONDON

UTC = ZoneInfo("UTC")


def team(time_zone: str = "Europe/Amsterdam", holiday_country: str = "NL") -> LoyaltyTeam:
    """A team working 09:00-17:00, Monday to Friday."""
    return LoyaltyTeam(
        id="loyalty",
        name="Loyalty",
        time_zone=time_zone,
        holiday_country=holiday_country,
        working_hours=(time(9), time(17)),
        working_days=[1, 2, 3, 4, 5],
        members=[Member(name="Lea Lead", email="lea@winkel.example", role="lead")],
    )


DUTCH = team()
BRITISH = team("Europe/London", "GB")


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_deadline_is_given_in_utc() -> None:
    due = add_business_hours(DUTCH, ams(2026, 2, 3, 10, 0), 1)
    assert due.utcoffset() == timedelta(0)
    assert due == utc(2026, 2, 3, 10, 0)  # 11:00 Amsterdam (CET, UTC+1)


def test_a_24_hour_sla_over_christmas_skips_the_holidays_and_the_weekend() -> None:
    # Thu 24 Dec 2026 15:00: 2 h (15-17).  Fri 25 Dec: Christmas.  Sat 26 Dec: second Christmas
    # day, a Saturday anyway.  Sun 27: weekend.  Mon 28: 8 h (10 h).  Tue 29: 8 h (18 h).
    # Wed 30: 6 h (09-15) -> 24 h.  Wednesday 30 Dec 15:00 CET = 14:00 UTC.
    due = add_business_hours(DUTCH, ams(2026, 12, 24, 15, 0), 24)
    assert due == utc(2026, 12, 30, 14, 0)
    assert due.astimezone(AMSTERDAM) == ams(2026, 12, 30, 15, 0)


@pytest.mark.parametrize(
    ("arrives", "due"),
    [
        # Tuesday 3 Feb 2026 at 23:30: counting starts Wed 09:00, +2 h = Wed 11:00 CET.
        (ams(2026, 2, 3, 23, 30), utc(2026, 2, 4, 10, 0)),
        # Wednesday 4 Feb 2026 at 06:45, before opening: same day 09:00 + 2 h = 11:00 CET.
        (ams(2026, 2, 4, 6, 45), utc(2026, 2, 4, 10, 0)),
        # Saturday 7 Feb 2026 at 10:00: counting starts Mon 9 Feb 09:00, +2 h = 11:00 CET.
        (ams(2026, 2, 7, 10, 0), utc(2026, 2, 9, 10, 0)),
        # Friday 6 Feb 2026 exactly at closing time 17:00: Mon 9 Feb 11:00 CET.
        (ams(2026, 2, 6, 17, 0), utc(2026, 2, 9, 10, 0)),
        # Monday 2 Feb 2026 07:30 UTC is 08:30 in Amsterdam: before opening, so 11:00 CET.
        (utc(2026, 2, 2, 7, 30), utc(2026, 2, 2, 10, 0)),
        # Monday 2 Feb 2026 08:30 UTC is 09:30 in Amsterdam: open, so 11:30 CET.
        (utc(2026, 2, 2, 8, 30), utc(2026, 2, 2, 10, 30)),
    ],
    ids=["tuesday-night", "early-morning", "saturday", "friday-closing", "utc-before", "utc-open"],
)
def test_a_score_outside_working_hours_starts_counting_at_the_next_opening(
    arrives: datetime, due: datetime
) -> None:
    assert add_business_hours(DUTCH, arrives, 2) == due


def test_spring_forward_does_not_shift_working_hours() -> None:
    # Summer time starts Sunday 29 March 2026.  Fri 27 Mar 13:00 CET (12:00 UTC): 4 h to 17:00.
    # Mon 30 Mar 09:00 + 4 h = 13:00 CEST = 11:00 UTC (not 12:00 UTC).
    assert add_business_hours(DUTCH, ams(2026, 3, 27, 13, 0), 8) == utc(2026, 3, 30, 11, 0)
    # A full 8-hour day after the change is still 09:00-17:00 local: Mon 17:00 CEST = 15:00 UTC.
    assert add_business_hours(DUTCH, ams(2026, 3, 27, 17, 0), 8) == utc(2026, 3, 30, 15, 0)


def test_fall_back_does_not_shift_working_hours() -> None:
    # Winter time starts Sunday 25 October 2026.  Fri 23 Oct 13:00 CEST (11:00 UTC): 4 h.
    # Mon 26 Oct 09:00 + 4 h = 13:00 CET = 12:00 UTC.
    assert add_business_hours(DUTCH, ams(2026, 10, 23, 13, 0), 8) == utc(2026, 10, 26, 12, 0)
    # The Monday opens at 09:00 CET = 08:00 UTC, not an hour early or late.
    assert add_business_hours(DUTCH, ams(2026, 10, 24, 12, 0), 0.25) == utc(2026, 10, 26, 8, 15)


def test_summer_time_over_easter_2027() -> None:
    # Summer time starts Sunday 28 March 2027, which is also Easter Sunday.
    # Thu 25 Mar 16:00 CET (15:00 UTC): 1 h.  Fri 26 Mar: Good Friday.  Sat, Sun: weekend.
    # Mon 29 Mar: Easter Monday.  Tue 30 Mar 09:00 + 7 h = 16:00 CEST = 14:00 UTC.
    assert add_business_hours(DUTCH, ams(2027, 3, 25, 16, 0), 8) == utc(2027, 3, 30, 14, 0)


def test_kings_day_is_skipped() -> None:
    # Mon 26 Apr 2027 15:00 CEST (13:00 UTC): 2 h.  Tue 27 Apr: King's Day.
    # Wed 28 Apr 09:00 + 6 h = 15:00 CEST = 13:00 UTC.
    assert add_business_hours(DUTCH, ams(2027, 4, 26, 15, 0), 8) == utc(2027, 4, 28, 13, 0)


def test_a_london_team_has_boxing_day_off_the_dutch_team_works() -> None:
    # Boxing Day, Sat 26 Dec 2026, is observed in the UK on Monday 28 Dec; the Netherlands works.
    # Thu 24 Dec 2026 17:00: both teams have closed for the day.
    # Dutch: Mon 28 Dec 09:00-17:00 CET -> 17:00 CET = 16:00 UTC.
    # London: Mon 28 is a bank holiday -> Tue 29 Dec 17:00 GMT = 17:00 UTC.
    assert add_business_hours(DUTCH, ams(2026, 12, 24, 17, 0), 8) == utc(2026, 12, 28, 16, 0)
    london_start = datetime(2026, 12, 24, 17, 0, tzinfo=LONDON)
    assert add_business_hours(BRITISH, london_start, 8) == utc(2026, 12, 29, 17, 0)


def test_the_christmas_sla_in_london_ends_a_day_later() -> None:
    # Thu 24 Dec 2026 15:00 GMT: 2 h.  Fri 25 Christmas; weekend; Mon 28 Boxing Day (observed).
    # Tue 29: 8 h (10 h).  Wed 30: 8 h (18 h).  Thu 31 09:00 + 6 h = 15:00 GMT = 15:00 UTC.
    london_start = datetime(2026, 12, 24, 15, 0, tzinfo=LONDON)
    assert add_business_hours(BRITISH, london_start, 24) == utc(2026, 12, 31, 15, 0)
    # The same 24 hours in Amsterdam end on Wednesday (see the Christmas test above).
    assert add_business_hours(DUTCH, ams(2026, 12, 24, 15, 0), 24) == utc(2026, 12, 30, 14, 0)


# --- an independent oracle: count working quarter-hours one by one --------------------------------

QUARTER = timedelta(minutes=15)


def is_worked(moment: datetime, zone: ZoneInfo, public: holidays.HolidayBase) -> bool:
    """Whether the quarter-hour from `moment` is working time (Mon-Fri 09-17, no holiday)."""
    local = moment.astimezone(zone)
    return (local.isoweekday() in {1, 2, 3, 4, 5} and local.date() not in public
            and time(9) <= local.time() < time(17))


def oracle(start: datetime, hours: int, zone: ZoneInfo, public: holidays.HolidayBase) -> datetime:
    """Walk real (UTC) time in quarter-hours and count those that fall in working time."""
    needed = hours * 4
    moment = start.astimezone(UTC)
    while True:
        if is_worked(moment, zone, public):
            needed -= 1
            if needed == 0:
                return moment + QUARTER
        moment += QUARTER


@pytest.mark.parametrize(
    ("calendar", "zone", "country"),
    [(DUTCH, AMSTERDAM, "NL"), (BRITISH, LONDON, "GB")],
    ids=["amsterdam-nl", "london-gb"],
)
def test_random_deadlines_match_a_brute_force_count(
    calendar: LoyaltyTeam, zone: ZoneInfo, country: str
) -> None:
    rng = random.Random(20261224)
    public = holidays.country_holidays(country)
    first = utc(2026, 1, 1)
    quarters_in_two_years = (utc(2028, 1, 1) - first) // QUARTER
    mismatches = []
    for _ in range(200):
        start = first + rng.randrange(quarters_in_two_years) * QUARTER
        hours = rng.choice([8, 24, 48])
        expected = oracle(start, hours, zone, public)
        actual = add_business_hours(calendar, start, hours)
        if actual != expected:
            mismatches.append((start.isoformat(), hours, expected.isoformat(), actual.isoformat()))
    assert mismatches == []


def test_a_reminder_four_working_hours_before_a_monday_10_00_deadline_is_on_friday() -> None:
    # Mon 7 Dec 2026 10:00: one hour back to 09:00; Sat and Sun are not worked; Fri 4 Dec
    # gives the other three hours: 17:00 - 3 h = Friday 14:00 CET = 13:00 UTC.
    assert subtract_business_hours(DUTCH, ams(2026, 12, 7, 10, 0), 4) == utc(2026, 12, 4, 13, 0)


def test_no_working_time_lies_in_a_weekend_and_a_holiday() -> None:
    # Thu 24 Dec 2026 16:00 to Mon 28 Dec 10:00: one hour on Thursday, Christmas and the
    # weekend none, one on Monday.
    assert business_hours_between(DUTCH, ams(2026, 12, 24, 16, 0), ams(2026, 12, 28, 10, 0)) == 2
    assert business_hours_between(DUTCH, ams(2026, 12, 28, 10, 0), ams(2026, 12, 24, 16, 0)) == 0


@pytest.mark.parametrize(
    ("calendar", "zone", "country"),
    [(DUTCH, AMSTERDAM, "NL"), (BRITISH, LONDON, "GB")],
    ids=["amsterdam-nl", "london-gb"],
)
def test_going_back_and_measuring_agree_with_the_brute_force_count(
    calendar: LoyaltyTeam, zone: ZoneInfo, country: str
) -> None:
    """Going forward `hours` from a start and back again from the oracle's end meets the first
    working moment at or after the start; the working time between them is `hours`."""
    rng = random.Random(20261202)
    public = holidays.country_holidays(country)
    first = utc(2026, 1, 1)
    quarters_in_two_years = (utc(2028, 1, 1) - first) // QUARTER
    mismatches = []
    for _ in range(200):
        start = first + rng.randrange(quarters_in_two_years) * QUARTER
        hours = rng.choice([4, 8, 24])
        end = oracle(start, hours, zone, public)
        opening = start
        while not is_worked(opening, zone, public):
            opening += QUARTER
        if (subtract_business_hours(calendar, end, hours) != opening
                or business_hours_between(calendar, start, end) != hours):
            mismatches.append((start.isoformat(), hours))
    assert mismatches == []
