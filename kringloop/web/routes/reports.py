"""Reports as JSON: NPS with small groups hidden, the loop's health per team, adopted customers.

Admins see everything. Everyone else sees their own team's group in a report by team (other
teams are left out) and their own team's loop health; the employee program (eNPS) only the people
team. Team figures only, never per person: scores are for learning, not for blame.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from kringloop.access import Principal, adopter_scope, may_report_on, team_scope
from kringloop.database import session_for
from kringloop.models import AdoptedReport, GroupBy, LoopReport, NpsReport, ReportProgram
from kringloop.reports import (
    Window,
    adopted_report,
    loop_report,
    nps_report,
)
from kringloop.web.deps import ApiCaller, Services, ServicesDep
from kringloop.web.errors import ApiError

router = APIRouter(prefix="/api/reports", tags=["reports"])

First = Annotated[date | None, Query(alias="from", description="first day (UTC), inclusive")]
Last = Annotated[date | None, Query(alias="to", description="last day (UTC), inclusive")]


def window_of(first: date | None, last: date | None) -> Window:
    if first and last and first > last:
        raise ApiError(422, "from: must not be after to", field="from")
    return Window.of_days(first, last)


def check_program(services: Services, caller: Principal, program: str) -> None:
    if program not in services.org.programs:
        raise ApiError(404, f"program: {program} is not run in this organisation",
                       field="program")
    if not may_report_on(services.org, caller, program):
        raise ApiError(403, "program: eNPS reports are for admins and the people team",
                       field="program")


@router.get("/nps", response_model=NpsReport)
async def nps(
    services: ServicesDep, caller: ApiCaller, first: First = None, last: Last = None,
    program: ReportProgram = "customer", group_by: GroupBy = "team",
) -> NpsReport:
    """NPS (% promoters - % detractors, whole numbers, halves away from zero) overall and per
    team, segment or ISO week. A group with fewer answers than the organisation's
    `report_min_group_size` is `{"key", "hidden": true}`; if that leaves exactly one group
    hidden, the smallest other group is hidden too. Re-survey answers do not count."""
    check_program(services, caller, program)
    window = window_of(first, last)
    with session_for(services.engine) as session:
        return nps_report(session=session, org=services.org, program=program,
                          group_by=group_by, window=window, visible_teams=team_scope(caller))


@router.get("/loop", response_model=LoopReport)
async def loop(
    services: ServicesDep, caller: ApiCaller, first: First = None, last: Last = None,
    program: ReportProgram | None = None,
) -> LoopReport:
    """Per program and team, for cases opened in the period: callbacks within the SLA, median
    hours to first contact and to resolution, escalations, resolved, re-survey answers,
    recovered detractors, root causes (most frequent first)."""
    if program is not None:
        check_program(services, caller, program)
    programs = [p for p in services.org.programs if may_report_on(services.org, caller, p)
                and program in (None, p)]
    window = window_of(first, last)
    with session_for(services.engine) as session:
        return loop_report(session=session, org=services.org, programs=programs,
                           now=datetime.now(UTC), window=window,
                           visible_teams=team_scope(caller))


@router.get("/adopted", response_model=AdoptedReport)
async def adopted(
    services: ServicesDep, caller: ApiCaller, first: First = None, last: Last = None,
) -> AdoptedReport:
    """Per colleague who adopted customers, each customer's scores in the period, oldest first.
    A lead sees their team's adopters; anyone else their own adopted customers."""
    window = window_of(first, last)
    with session_for(services.engine) as session:
        return adopted_report(session=session, org=services.org, window=window,
                              adopters=adopter_scope(services.org, caller))
