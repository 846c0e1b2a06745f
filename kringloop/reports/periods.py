"""The period and grouping a report covers, and what a reader may ask for: days, ISO weeks and
calendar months (UTC); eNPS one finished calendar month, by department (the package's docstring
says why)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, get_args

from sqlmodel import col

from kringloop.reports.schemas import GroupBy

EMPLOYEE = "employee"  # the eNPS program: one month, one grouping

ONE_MONTH = ("an eNPS report covers one whole calendar month (give the month as YYYY-MM), never a "
             "range of days: two reports over overlapping days could be subtracted to single out "
             "a colleague")
FINISHED_MONTH = ("an eNPS month is read once it has ended: until then it grows as answers "
                  "come in, and comparing it from one day to the next would show who answered")
ONE_GROUPING = ("eNPS is grouped by department (segment) only: splitting the same month a second "
                "way, by team or by week, could single out a colleague in a department that is "
                "hidden for being small")


class ReportRefused(ValueError):
    """A report that could single someone out (or makes no sense), refused before any figure is
    read; `field` names what was asked for, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @property
    def message(self) -> str:
        return f"{self.field}: {self.reason}"


# The period -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """From `since` (inclusive) to `until` (exclusive); either may be open."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def of_days(cls, first: date | None, last: date | None) -> Window:
        """The whole UTC days from `first` up to and including `last`."""
        return cls(datetime.combine(first, time(0), UTC) if first else None,
                   datetime.combine(last + timedelta(days=1), time(0), UTC) if last else None)

    @property
    def month(self) -> Month | None:
        """The calendar month this window is exactly, if it is one."""
        if self.since is None:
            return None
        month = Month.of(self.since.astimezone(UTC).date())
        return month if month.window == self else None

    def conditions(self, column: Any) -> list[Any]:
        found = [col(column) >= self.since] if self.since else []
        return found + ([col(column) < self.until] if self.until else [])


ALL_TIME = Window()


@dataclass(frozen=True, order=True)
class Month:
    """One calendar month of UTC days, e.g. 2026-11: the only period an eNPS report covers."""

    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """A month written as YYYY-MM; ValueError for anything else."""
        found = re.fullmatch(r"(\d{4})-(\d{2})", text.strip(), re.ASCII)
        if not found or not 1 <= int(found[2]) <= 12 or not 1 <= int(found[1]) <= 9998:
            raise ValueError(f"{text} is not a month")
        return cls(int(found[1]), int(found[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.number - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.number, 1)

    @property
    def window(self) -> Window:
        return Window(datetime.combine(self.first_day, time(0), UTC),
                      datetime.combine(self.plus(1).first_day, time(0), UTC))


def week_of(moment: datetime) -> str:
    """The ISO week, e.g. 2026-W48 (sorts as text in time order)."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


# What a reader may ask for ----------------------------------------------------------------------

def groupings_for(program: str) -> tuple[GroupBy, ...]:
    """The groupings a program's NPS offers: eNPS one (by department), the others all."""
    return ("segment",) if program == EMPLOYEE else get_args(GroupBy)


def report_grouping(*, program: str, group_by: str | None) -> GroupBy:
    """The grouping asked for, or the program's first (by team; eNPS by department)."""
    offered = groupings_for(program)
    if group_by is None:
        return offered[0]
    if group_by not in offered:
        raise ReportRefused("group_by", ONE_GROUPING if program == EMPLOYEE
                            else f"{group_by} is not one of {', '.join(offered)}")
    return group_by  # type: ignore[return-value]  # one of `offered`


def report_period(*, program: str, today: date, first: date | None = None,
                  last: date | None = None, month: str | None = None) -> Window:
    """The period a report covers, from what its reader asked: eNPS exactly one calendar month
    that has ended (`month`, else the last one), never a range of days; the other programs the
    days from `first` to `last` (either may be open) or a `month`."""
    chosen = None
    if month:
        try:
            chosen = Month.parse(month)
        except ValueError:
            raise ReportRefused("month", f"{month} is not a month; give one as YYYY-MM, "
                                         "e.g. 2026-11") from None
    if program == EMPLOYEE:
        for field, given in (("from", first), ("to", last)):
            if given is not None:
                raise ReportRefused(field, ONE_MONTH)
        newest = last_finished_month(today)
        if chosen and chosen > newest:
            raise ReportRefused("month", f"{chosen} has not ended yet; {FINISHED_MONTH}")
        return (chosen or newest).window
    if chosen and (first or last):
        raise ReportRefused("month", "give either a month or from/to, not both")
    if chosen:
        return chosen.window
    if first and last and first > last:
        raise ReportRefused("from", "must not be after to")
    return Window.of_days(first, last)


def last_finished_month(today: date) -> Month:
    """The newest month an eNPS report may cover: the one before today's."""
    return Month.of(today).plus(-1)


def check_employee_rules(program: str, group_by: GroupBy, window: Window) -> None:
    """Every eNPS figure passes here, however it was asked for (API, page, CSV, terminal)."""
    if program != EMPLOYEE:
        return
    if group_by != "segment":
        raise ReportRefused("group_by", ONE_GROUPING)
    if window.month is None:
        raise ReportRefused("month", ONE_MONTH)
    if window.month > last_finished_month(datetime.now(UTC).date()):
        raise ReportRefused("month", f"{window.month} has not ended yet; {FINISHED_MONTH}")
