"""Working days and time zones: the team's clocks, and a moment a test can count on being a
Dutch working day (so that it never meets a public holiday it did not ask for)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

from kringloop.org.organisation import Organisation
from kringloop.resources import EXAMPLE_ORG_FILE

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LONDON = ZoneInfo("Europe/London")


def dutch_working_day(day: date) -> bool:
    return day.isoweekday() <= 5 and day not in holidays.country_holidays("NL", years=day.year)


def next_weekday_at(after: datetime, isoweekday: int, at: time,
                    also_working: Callable[[date], bool] = lambda day: True) -> datetime:
    """The next `isoweekday` at `at` (Amsterdam) after `after`, a Dutch working day on which
    `also_working(day)` holds (so a test never meets a public holiday it did not ask for)."""
    day = after.astimezone(AMSTERDAM).date() + timedelta(days=1)
    while not (day.isoweekday() == isoweekday and dutch_working_day(day) and also_working(day)):
        day += timedelta(days=1)
    return datetime.combine(day, at, AMSTERDAM)


def round_the_clock(org: Organisation) -> Organisation:
    """The organisation with every team working all day, every day, holidays too: for tests
    about anything but working hours, which then pass at whatever hour they run."""
    always = {"working_days": [1, 2, 3, 4, 5, 6, 7], "holiday_country": "",
              "holiday_subdivision": None, "working_hours": (time(0), time.max)}
    return org.model_copy(update={"teams": [team.model_copy(update=always)
                                            for team in org.teams]})


def round_the_clock_org_file(folder: Path) -> Path:
    """The example organisation file with its teams working round the clock (as
    `round_the_clock` has them), for Kringloop started as a process by a test that is not about
    working hours."""
    text = EXAMPLE_ORG_FILE.read_text(encoding="utf-8")
    for field, always in (("working_hours", "[00:00:00, 23:59:59.999999]"),
                          ("working_days", "[1, 2, 3, 4, 5, 6, 7]"),
                          ("holiday_country", '""')):
        text = re.sub(rf"^{field} = .*$", f"{field} = {always}", text, flags=re.MULTILINE)
    text = re.sub(r"^holiday_subdivision = .*$", "", text, flags=re.MULTILINE)
    written = folder / "org-round-the-clock.toml"
    written.write_text(text, encoding="utf-8")
    return written
