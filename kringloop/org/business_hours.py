"""Business-hours arithmetic: an SLA counts a team's working hours, not weekends or holidays."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    return day.isoweekday() in team.working_days and not (
        team.holiday_country
        and day in _holidays(team.holiday_country, team.holiday_subdivision, day.year))


def _working_periods(team: WorkingCalendar, day: date, step: int
                     ) -> Iterator[tuple[datetime, datetime]]:
    """The team's working periods (open, close) from `day` on: forwards (step 1) or back (-1)."""
    zone = ZoneInfo(team.time_zone)
    opens, closes = team.working_hours
    while True:
        if is_working_day(team, day):
            yield datetime.combine(day, opens, zone), datetime.combine(day, closes, zone)
        day += timedelta(days=step)


def subtract_business_hours(team: WorkingCalendar, end: datetime, hours: float) -> datetime:
    """The moment `hours` of the team's working time before `end` (aware, UTC out): when to
    remind someone so that they still have that much working time left."""
    if end.tzinfo is None or hours < 0:
        raise ValueError("end must be timezone-aware and hours not negative")
    remaining = timedelta(hours=hours)
    local = end.astimezone(ZoneInfo(team.time_zone))
    for day_open, day_close in _working_periods(team, local.date(), -1):
        finish = min(day_close, local)
        if finish > day_open:
            available = finish - day_open
            if remaining <= available:
                return (finish - remaining).astimezone(ZoneInfo("UTC"))
            remaining -= available
    raise AssertionError("unreachable: working periods never end")


def business_hours_between(team: WorkingCalendar, start: datetime, end: datetime) -> float:
    """How many of the team's working hours lie between `start` and `end` (0 if end is first)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    total = timedelta(0)
    local = start.astimezone(ZoneInfo(team.time_zone))
    for day_open, day_close in _working_periods(team, local.date(), 1):
        if day_open >= end:
            break
        total += max(min(day_close, end) - max(day_open, local), timedelta(0))
    return total / timedelta(hours=1)


def add_business_hours(team: WorkingCalendar, start: datetime, hours: float) -> datetime:
    """The moment `hours` of the team's working time have passed after `start` (aware, UTC out).

    Working hours are wall-clock times, so a daylight-saving change never shifts them.
    """
    if start.tzinfo is None or hours < 0:
        raise ValueError("start must be timezone-aware and hours not negative")
    remaining = timedelta(hours=hours)
    local = start.astimezone(ZoneInfo(team.time_zone))
    for day_open, day_close in _working_periods(team, local.date(), 1):
        begin = max(day_open, local)
        if begin < day_close:
            available = day_close - begin
            if remaining <= available:
                return (begin + remaining).astimezone(ZoneInfo("UTC"))
            remaining -= available
    raise AssertionError("unreachable: working periods never end")
