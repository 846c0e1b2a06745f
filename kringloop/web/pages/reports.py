"""The report page: an NPS trend drawn as SVG on the server (per week; eNPS per month), the loop's
health per team, adopted customers; and the same figures as CSV files.

Every member sees it, not only leads: a self-steering team steers on its own figures, and only
those: a member's figures, headline and trend are their own teams' answers (admins see the whole
organisation). They are team figures, never per person, so nobody is put on the spot for a score.
eNPS is shown one calendar month at a time, by department, with a trend of months each hidden on
its own (kringloop/reports/__init__.py says why).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import StringIO
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from kringloop.database import session_for
from kringloop.org.access import Principal, adopter_scope, may_report_on, team_scope
from kringloop.org.organisation import Organisation
from kringloop.reports.adopted import adopted_report
from kringloop.reports.loop_health import loop_report
from kringloop.reports.nps import nps_report
from kringloop.reports.periods import EMPLOYEE, Month, Window, groupings_for, last_finished_month
from kringloop.reports.rows import LOOP_COLUMNS, NPS_COLUMNS, loop_rows, nps_rows
from kringloop.reports.schemas import GroupBy, ReportProgram
from kringloop.services import Services
from kringloop.web.deps import PageUser, ServicesDep
from kringloop.web.pages.rendering import page, problem
from kringloop.web.pages.templates import LANGUAGES
from kringloop.web.pages.trend_chart import (
    monthly_columns,
    monthly_groups,
    trend_chart,
    weekly_columns,
)

router = APIRouter(include_in_schema=False)

TREND_MONTHS = 12  # the eNPS trend: the chosen month and the eleven before it


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
def reports(request: Request, services: ServicesDep, principal: PageUser,
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
    # A day as the reader's team counts it (an answer late in the evening is that day's).
    zone = ZoneInfo(next((t.time_zone for t in org.teams if t.id in principal.team_ids),
                         "Europe/Amsterdam"))
    return page(
        request, services, principal, "reports.html", active="reports", filters=filters,
        scope_names=None if grouped.scope is None else [
            team_names.get(team, team) for team in grouped.scope],
        programs=reportable_programs(org, principal), group_bys=groupings_for(filters.program),
        nps=grouped, trend=trend, chart=chart, health=loop.rows,
        adopted=adopted.adopters if adopted else [],
        team_names=team_names,
        decimal=lambda value: format_decimal(value, format="#,##0.0", locale=locale),
        day=lambda moment: format_date(moment.astimezone(zone), "d MMM yyyy", locale=locale),
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
def report_csv(table: str, request: Request, services: ServicesDep,
               principal: PageUser, query: ReportQueryDep) -> Response:
    """The NPS table or the loop-health table as the page shows them, as a CSV file."""
    filters = filters_of(services, principal, query)
    if filters is None or table not in CSV_TABLES:
        return problem(request, services, principal, "not_found", 404)
    with session_for(services.engine) as session:
        name, columns, rows = CSV_TABLES[table](session, services, principal, filters)
    return csv_file(name, columns, rows)
