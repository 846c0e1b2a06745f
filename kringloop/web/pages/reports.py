"""The report page: an NPS trend drawn as SVG on the server (per week; eNPS per month), the loop's
health per team, adopted customers; and the same figures as CSV files.

Every member sees it, not only leads: a self-steering team steers on its own figures, and only
those: a member's figures, headline and trend are their own teams' answers (admins see the whole
organisation). They are team figures, never per person, so nobody is put on the spot for a score.
eNPS is shown one calendar month at a time, by department, with a trend of months each hidden on
its own (kringloop/reports.py says why).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from math import ceil
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from kringloop.database import session_for
from kringloop.org.access import Principal, adopter_scope, may_report_on, team_scope
from kringloop.org.organisation import Organisation
from kringloop.reports.nps import (
    EMPLOYEE,
    LOOP_COLUMNS,
    NPS_COLUMNS,
    Month,
    Window,
    adopted_report,
    groupings_for,
    last_finished_month,
    loop_report,
    loop_rows,
    nps_report,
    nps_rows,
    week_of,
)
from kringloop.reports.schemas import (
    GroupBy,
    HiddenFigures,
    HiddenGroup,
    NpsCounts,
    NpsGroup,
    NpsReport,
    ReportProgram,
)
from kringloop.services import Services
from kringloop.web.deps import PageUser, ServicesDep
from kringloop.web.pages.rendering import page, problem
from kringloop.web.pages.templates import LANGUAGES

router = APIRouter(include_in_schema=False)

TREND_MONTHS = 12  # the eNPS trend: the chosen month and the eleven before it


# The trend chart --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One week or month of the trend: its figures, hidden ones, or None without any answer."""

    key: str
    label: str  # under the axis
    figures: NpsCounts | HiddenFigures | None


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    key: str
    nps: int
    n: int


@dataclass(frozen=True)
class Gap:
    """A week or month without a point: hidden (too few answers to show) or without answers."""

    x: float
    key: str
    hidden: bool


@dataclass(frozen=True)
class TrendChart:
    unit: Literal["week", "month"]
    width: int
    height: int
    left: int
    top: int
    plot_width: float
    plot_height: float
    step: float
    points: list[Point]
    lines: list[str]  # one polyline per run of columns shown; a gap breaks the line
    gaps: list[Gap]
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, int]]
    first: str | None
    last: str | None


def _monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def weekly_columns(weekly: NpsReport) -> list[Column]:
    """One column per ISO week from the first to the last week with answers."""
    keys = [g.key for g in weekly.groups if g.key]
    by_week = {g.key: g for g in weekly.groups}
    columns: list[Column] = []
    if keys:
        monday, last = _monday(min(keys)), _monday(max(keys))
        while monday <= last:
            week = week_of(datetime(monday.year, monday.month, monday.day, tzinfo=UTC))
            group = by_week.get(week)
            columns.append(Column(key=week, label=week.split("-W")[1].lstrip("0"), figures=(
                None if group is None else HiddenFigures(hidden=True)
                if isinstance(group, HiddenGroup) else NpsCounts(**group.model_dump(
                    exclude={"key"})))))
            monday += timedelta(days=7)
    return columns


def monthly_columns(months: list[tuple[Month, NpsReport]], label: Callable[[Month], str]
                    ) -> list[Column]:
    """One column per month, each month's own overall; none before the first with answers."""
    columns = [Column(key=str(month), label=label(month),
                      figures=report.overall if report.groups else None)
               for month, report in months]
    while columns and columns[0].figures is None:
        columns.pop(0)
    return columns


def trend_chart(columns: list[Column], *, unit: Literal["week", "month"] = "week",
                width: int = 720, height: int = 280) -> TrendChart:
    """Where every column goes: NPS from -100 (bottom) to +100 (top), one column per week or
    month."""
    left, right, top, bottom = 56, 16, 16, 56
    plot_width, plot_height = width - left - right, height - top - bottom
    step = plot_width / max(len(columns), 1)

    def y(nps: float) -> float:
        return round(top + (100 - nps) * plot_height / 200, 1)

    points: list[Point] = []
    gaps: list[Gap] = []
    runs: list[list[Point]] = [[]]
    for index, column in enumerate(columns):
        x = round(left + step * (index + 0.5), 1)
        figures = column.figures
        if isinstance(figures, NpsCounts) and figures.nps is not None:
            point = Point(x=x, y=y(figures.nps), key=column.key, nps=figures.nps, n=figures.n)
            points.append(point)
            runs[-1].append(point)
        else:
            gaps.append(Gap(x=x, key=column.key, hidden=figures is not None))
            runs.append([])
    every = ceil(len(columns) / 13) if columns else 1
    return TrendChart(
        unit=unit, width=width, height=height, left=left, top=top, plot_width=plot_width,
        plot_height=plot_height, step=round(step, 1), points=points, gaps=gaps,
        lines=[" ".join(f"{p.x},{p.y}" for p in run) for run in runs if len(run) > 1],
        x_labels=[(round(left + step * (i + 0.5), 1), column.label)
                  for i, column in enumerate(columns) if i % every == 0],
        y_ticks=[(y(v), v) for v in (100, 50, 0, -50, -100)],
        first=columns[0].key if columns else None, last=columns[-1].key if columns else None)


def monthly_groups(columns: list[Column]) -> list[NpsGroup | HiddenGroup]:
    """The eNPS trend's months as table rows: those with answers."""
    return [HiddenGroup(key=c.key, hidden=True) if isinstance(c.figures, HiddenFigures)
            else NpsGroup(key=c.key, **c.figures.model_dump(exclude={"hidden"}))
            for c in columns if c.figures is not None]


# Filters ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    program: ReportProgram
    first: date | None
    last: date | None
    group_by: GroupBy
    month: Month | None = None  # eNPS: always one month, never first and last

    @property
    def window(self) -> Window:
        return self.month.window if self.month else Window.of_days(self.first, self.last)

    def query(self, **changes: str) -> str:
        values = {"program": self.program, "from": self.first.isoformat() if self.first else "",
                  "to": self.last.isoformat() if self.last else "",
                  "month": str(self.month) if self.month else "", "group_by": self.group_by}
        return urlencode({k: v for k, v in {**values, **changes}.items() if v})


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def reportable_programs(org: Organisation, principal: Principal) -> list[ReportProgram]:
    """The programs the principal may read, their own team's program first."""
    allowed = [p for p in org.programs if may_report_on(org, principal, p)]
    own = {p for t in org.teams if t.id in principal.team_ids for r in t.routes
           for p in r.programs}
    return sorted(allowed, key=lambda p: p not in own)


@dataclass(frozen=True)
class ReportQuery:
    """The report page's query string: the program, the period (eNPS: the month) and the
    grouping asked for."""

    program: str = ""
    first: Annotated[str, Query(alias="from")] = ""
    to: str = ""
    month: str = ""
    group_by: str = "team"


ReportQueryDep = Annotated[ReportQuery, Depends()]


def filters_of(services: Services, principal: Principal, query: ReportQuery) -> Filters | None:
    """The filters asked for; unknown values count as no filter. None: a program not theirs.
    eNPS keeps to its rules whatever the address says: the month asked for once it has ended
    (else the last one that has), by
    department; a range of days or another grouping is not taken."""
    programs = reportable_programs(services.org, principal)
    if query.program and query.program not in programs:
        return None
    program = programs[programs.index(query.program)] if query.program else programs[0]
    groupings = groupings_for(program)
    group_by = query.group_by if query.group_by in groupings else groupings[0]
    if program == EMPLOYEE:
        newest = last_finished_month(datetime.now(UTC).date())
        try:
            month = min(Month.parse(query.month), newest)  # a month still running: not yet
        except ValueError:
            month = newest
        return Filters(program=program, first=None, last=None, group_by=group_by, month=month)
    start, end = _day(query.first), _day(query.to)
    if start and end and start > end:
        start, end = end, start
    return Filters(program=program, first=start, last=end, group_by=group_by)


@router.get("/reports")
async def reports(request: Request, services: ServicesDep, principal: PageUser,
                  query: ReportQueryDep) -> HTMLResponse:
    filters = filters_of(services, principal, query)
    if filters is None:
        return problem(request, services, principal, "not_found", 404)
    org, window, teams = services.org, filters.window, team_scope(principal)
    program = filters.program
    locale = principal.language if principal.language in LANGUAGES else "nl"
    with session_for(services.engine) as session:
        grouped = nps_report(session=session, org=org, program=program,
                             group_by=filters.group_by, window=window, visible_teams=teams)
        if filters.month:
            # Each month computed, and hidden, on its own: months never overlap.
            months = [filters.month.plus(back - TREND_MONTHS + 1) for back in range(TREND_MONTHS)]
            columns = monthly_columns(
                [(month, nps_report(session=session, org=org, program=program,
                                    group_by=filters.group_by, window=month.window,
                                    visible_teams=teams)) for month in months],
                lambda month: format_date(month.first_day, "LLL", locale=locale))
            trend = monthly_groups(columns)
            chart = trend_chart(columns, unit="month")
        else:
            weekly = grouped if filters.group_by == "week" else nps_report(
                session=session, org=org, program=program, group_by="week", window=window,
                visible_teams=teams)
            trend, chart = weekly.groups, trend_chart(weekly_columns(weekly))
        loop = loop_report(session=session, org=org, programs=[filters.program],
                           now=datetime.now(UTC), window=window, visible_teams=teams)
        adopted = adopted_report(session=session, org=org, window=window,
                                 adopters=adopter_scope(org, principal)) \
            if filters.program == "customer" else None
    team_names = {t.id: t.name for t in org.teams}
    return page(
        request, services, principal, "reports.html", active="reports", filters=filters,
        scope_names=None if grouped.scope is None else [
            team_names.get(team, team) for team in grouped.scope],
        programs=reportable_programs(org, principal), group_bys=groupings_for(filters.program),
        nps=grouped, trend=trend, chart=chart, health=loop.rows,
        adopted=adopted.adopters if adopted else [],
        team_names=team_names,
        decimal=lambda value: format_decimal(value, format="#,##0.0", locale=locale),
        day=lambda moment: format_date(moment, "d MMM yyyy", locale=locale),
        month_name=lambda key: format_date(Month.parse(key).first_day, "LLLL yyyy",
                                           locale=locale),
        newest_month=last_finished_month(datetime.now(UTC).date()))


# CSV exports ------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is made plain text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_file(name: str, columns: tuple[str, ...], rows: list[list[Any]]) -> Response:
    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _in_month(filters: Filters) -> str:
    return f"-{filters.month}" if filters.month else ""


def _nps_table(session: Session, services: Services, principal: Principal, filters: Filters
               ) -> tuple[str, tuple[str, ...], list[list[Any]]]:
    report = nps_report(session=session, org=services.org, program=filters.program,
                        group_by=filters.group_by, window=filters.window,
                        visible_teams=team_scope(principal))
    return (f"nps-{filters.program}{_in_month(filters)}-by-{filters.group_by}.csv", NPS_COLUMNS,
            nps_rows(report))


def _loop_table(session: Session, services: Services, principal: Principal, filters: Filters
                ) -> tuple[str, tuple[str, ...], list[list[Any]]]:
    report = loop_report(session=session, org=services.org, programs=[filters.program],
                         now=datetime.now(UTC), window=filters.window,
                         visible_teams=team_scope(principal))
    return f"loop-{filters.program}{_in_month(filters)}.csv", LOOP_COLUMNS, loop_rows(report)


CSV_TABLES = {"nps": _nps_table, "loop": _loop_table}


@router.get("/reports/{table}.csv")
async def report_csv(table: str, request: Request, services: ServicesDep,
                     principal: PageUser, query: ReportQueryDep) -> Response:
    """The NPS table or the loop-health table as the page shows them, as a CSV file."""
    filters = filters_of(services, principal, query)
    if filters is None or table not in CSV_TABLES:
        return problem(request, services, principal, "not_found", 404)
    with session_for(services.engine) as session:
        name, columns, rows = CSV_TABLES[table](session, services, principal, filters)
    return csv_file(name, columns, rows)
