"""Business-hours arithmetic: an SLA counts a team's working hours, not weekends or holidays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays


class WorkingCalendar(Protocol):
    """When people work: a loyalty team, or the humane send window of a rejection email."""

    @property
    def time_zone(self) -> str: ...
    @property
    def working_hours(self) -> tuple[time, time]: ...
    @property
    def working_days(self) -> Sequence[int]: ...
    @property
    def holiday_country(self) -> str: ...
    @property
    def holiday_subdivision(self) -> str | None: ...


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, years=year)


def is_working_day(team: WorkingCalendar, day: date) -> bool:
    return day.isoweekday() in team.working_days and day not in _holidays(
        team.holiday_country, team.holiday_subdivision, day.year
    )


def add_business_hours(team: WorkingCalendar, start: datetime, hours: float) -> datetime:
    """The moment `hours` of the team's working time have passed after `start` (aware, UTC out).

    Working hours are wall-clock times, so a daylight-saving change never shifts them.
    """
    if start.tzinfo is None or hours < 0:
        raise ValueError("start must be timezone-aware and hours not negative")
    zone = ZoneInfo(team.time_zone)
    remaining = timedelta(hours=hours)
    local = start.astimezone(zone)
    day = local.date()
    opens, closes = team.working_hours
    while True:
        if is_working_day(team, day):
            day_open = datetime.combine(day, opens, zone)
            day_close = datetime.combine(day, closes, zone)
            begin = max(day_open, local)
            if begin < day_close:
                available = day_close - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(ZoneInfo("UTC"))
                remaining -= available
        day += timedelta(days=1)
