"""The report page: an NPS trend per week drawn as SVG on the server, the loop's health per team,
adopted customers; and the same figures as CSV files.

Every member sees it, not only leads: a self-steering team steers on its own figures. They are
team figures, never per person, so nobody is put on the spot for a score.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from math import ceil
from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from kringloop.access import Principal, adopter_scope, may_report_on, team_scope
from kringloop.database import session_for
from kringloop.models import GroupBy, NpsGroup, NpsReport
from kringloop.org import Organisation
from kringloop.reports import (
    LOOP_COLUMNS,
    NPS_COLUMNS,
    Window,
    adopted_report,
    loop_report,
    loop_rows,
    nps_report,
    nps_rows,
    week_of,
)
from kringloop.web.deps import PageUser, Services, ServicesDep
from kringloop.web.page_templates import LANGUAGES
from kringloop.web.routes.pages import page, problem

router = APIRouter(include_in_schema=False)


# The trend chart --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    x: float
    y: float
    week: str
    nps: int
    n: int


@dataclass(frozen=True)
class Gap:
    """A week without a point: hidden (too few answers to show) or without any answer."""

    x: float
    week: str
    hidden: bool


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    left: int
    top: int
    plot_width: float
    plot_height: float
    step: float
    points: list[Point]
    lines: list[str]  # one polyline per run of weeks shown; a gap breaks the line
    gaps: list[Gap]
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, int]]
    first_week: str | None
    last_week: str | None


def _monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def trend_chart(weekly: NpsReport, *, width: int = 720, height: int = 280) -> TrendChart:
    """Where every week goes: NPS from -100 (bottom) to +100 (top), one column per ISO week
    from the first to the last week with answers."""
    left, right, top, bottom = 56, 16, 16, 56
    plot_width, plot_height = width - left - right, height - top - bottom
    keys = [g.key for g in weekly.groups if g.key]
    weeks: list[str] = []
    if keys:
        monday, last = _monday(min(keys)), _monday(max(keys))
        while monday <= last:
            weeks.append(week_of(datetime(monday.year, monday.month, monday.day, tzinfo=UTC)))
            monday += timedelta(days=7)
    by_week = {g.key: g for g in weekly.groups}
    step = plot_width / max(len(weeks), 1)

    def y(nps: float) -> float:
        return round(top + (100 - nps) * plot_height / 200, 1)

    points: list[Point] = []
    gaps: list[Gap] = []
    runs: list[list[Point]] = [[]]
    for index, week in enumerate(weeks):
        x = round(left + step * (index + 0.5), 1)
        group = by_week.get(week)
        if isinstance(group, NpsGroup) and group.nps is not None:
            point = Point(x=x, y=y(group.nps), week=week, nps=group.nps, n=group.n)
            points.append(point)
            runs[-1].append(point)
        else:
            gaps.append(Gap(x=x, week=week, hidden=group is not None))
            runs.append([])
    every = ceil(len(weeks) / 13) if weeks else 1
    return TrendChart(
        width=width, height=height, left=left, top=top, plot_width=plot_width,
        plot_height=plot_height, step=round(step, 1), points=points, gaps=gaps,
        lines=[" ".join(f"{p.x},{p.y}" for p in run) for run in runs if len(run) > 1],
        x_labels=[(round(left + step * (i + 0.5), 1), week.split("-W")[1].lstrip("0"))
                  for i, week in enumerate(weeks) if i % every == 0],
        y_ticks=[(y(v), v) for v in (100, 50, 0, -50, -100)],
        first_week=weeks[0] if weeks else None, last_week=weeks[-1] if weeks else None)


# Filters ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    program: str
    first: date | None
    last: date | None
    group_by: GroupBy

    @property
    def window(self) -> Window:
        return Window.of_days(self.first, self.last)

    def query(self, **changes: str) -> str:
        values = {"program": self.program, "from": self.first.isoformat() if self.first else "",
                  "to": self.last.isoformat() if self.last else "", "group_by": self.group_by}
        return urlencode({k: v for k, v in {**values, **changes}.items() if v})


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def reportable_programs(org: Organisation, principal: Principal) -> list[str]:
    """The programs the principal may read, their own team's program first."""
    allowed = [p for p in org.programs if may_report_on(org, principal, p)]
    own = {p for t in org.teams if t.id in principal.team_ids for r in t.routes
           for p in r.programs}
    return sorted(allowed, key=lambda p: p not in own)


@dataclass(frozen=True)
class ReportQuery:
    """The report page's query string: the program, the period and the grouping asked for."""

    program: str = ""
    first: Annotated[str, Query(alias="from")] = ""
    to: str = ""
    group_by: str = "team"


ReportQueryDep = Annotated[ReportQuery, Depends()]


def filters_of(services: Services, principal: Principal, query: ReportQuery) -> Filters | None:
    """The filters asked for; unknown values count as no filter. None: a program not theirs."""
    programs = reportable_programs(services.org, principal)
    if query.program and query.program not in programs:
        return None
    start, end = _day(query.first), _day(query.to)
    if start and end and start > end:
        start, end = end, start
    group_by = query.group_by if query.group_by in get_args(GroupBy) else "team"
    return Filters(program=query.program or programs[0], first=start, last=end,
                   group_by=group_by)  # type: ignore[arg-type]


@router.get("/reports")
async def reports(request: Request, services: ServicesDep, principal: PageUser,
                  query: ReportQueryDep) -> HTMLResponse:
    filters = filters_of(services, principal, query)
    if filters is None:
        return problem(request, services, principal, "not_found", 404)
    org, window, teams = services.org, filters.window, team_scope(principal)
    with session_for(services.engine) as session:
        grouped = nps_report(session=session, org=org, program=filters.program,  # type: ignore[arg-type]
                             group_by=filters.group_by, window=window, visible_teams=teams)
        weekly = grouped if filters.group_by == "week" else nps_report(
            session=session, org=org, program=filters.program,  # type: ignore[arg-type]
            group_by="week", window=window)
        loop = loop_report(session=session, org=org, programs=[filters.program],
                           now=datetime.now(UTC), window=window, visible_teams=teams)
        adopted = adopted_report(session=session, org=org, window=window,
                                 adopters=adopter_scope(org, principal)) \
            if filters.program == "customer" else None
    locale = principal.language if principal.language in LANGUAGES else "nl"
    return page(
        request, services, principal, "reports.html", active="reports", filters=filters,
        programs=reportable_programs(org, principal), group_bys=get_args(GroupBy),
        nps=grouped, weekly=weekly, chart=trend_chart(weekly), health=loop.rows,
        adopted=adopted.adopters if adopted else [],
        team_names={t.id: t.name for t in org.teams},
        decimal=lambda value: format_decimal(value, format="#,##0.0", locale=locale),
        day=lambda moment: format_date(moment, "d MMM yyyy", locale=locale))


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


def _nps_table(session: Session, services: Services, principal: Principal, filters: Filters
               ) -> tuple[str, tuple[str, ...], list[list[Any]]]:
    report = nps_report(session=session, org=services.org, program=filters.program,  # type: ignore[arg-type]
                        group_by=filters.group_by, window=filters.window,
                        visible_teams=team_scope(principal))
    return f"nps-{filters.program}-by-{filters.group_by}.csv", NPS_COLUMNS, nps_rows(report)


def _loop_table(session: Session, services: Services, principal: Principal, filters: Filters
                ) -> tuple[str, tuple[str, ...], list[list[Any]]]:
    report = loop_report(session=session, org=services.org, programs=[filters.program],
                         now=datetime.now(UTC), window=filters.window,
                         visible_teams=team_scope(principal))
    return f"loop-{filters.program}.csv", LOOP_COLUMNS, loop_rows(report)


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
