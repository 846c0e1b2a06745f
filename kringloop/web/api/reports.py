"""Reports as JSON: NPS with small groups hidden, the loop's health per team, adopted customers.

Admins see the whole organisation. Everyone else sees their own teams' answers only, in every
grouping, the overall included, and their own teams' loop health; the employee program (eNPS)
only admins and the people team, one calendar month at a time, by department. Team figures only,
never per person: scores are for learning, not for blame.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from kringloop.database import session_for
from kringloop.org.access import Principal, adopter_scope, may_report_on, team_scope
from kringloop.refusal import Refused
from kringloop.reports.adopted import adopted_report
from kringloop.reports.loop_health import loop_report
from kringloop.reports.nps import nps_report
from kringloop.reports.periods import EMPLOYEE, ReportRefused, report_grouping, report_period
from kringloop.reports.schemas import AdoptedReport, GroupBy, LoopReport, NpsReport, ReportProgram
from kringloop.services import Services
from kringloop.web.deps import ApiCaller, ServicesDep

router = APIRouter(prefix="/api/reports", tags=["reports"])

First = Annotated[date | None, Query(
    alias="from", description="first day (UTC), inclusive; refused for eNPS")]
Last = Annotated[date | None, Query(
    alias="to", description="last day (UTC), inclusive; refused for eNPS")]
MonthAsked = Annotated[str | None, Query(
    alias="month", description="one calendar month (UTC), YYYY-MM, instead of from/to; eNPS "
    "reports always cover one that has ended, the last one when none is given",
    examples=["2026-11"])]


@contextmanager
def refused_as_422() -> Iterator[None]:
    """A report the rules refuse, answered as 422 naming the parameter and saying why."""
    try:
        yield
    except ReportRefused as refused:
        raise Refused(422, refused.message, field=refused.field) from None


def check_program(services: Services, caller: Principal, program: str) -> None:
    if program not in services.org.programs:
        raise Refused(404, f"program: {program} is not run in this organisation",
                       field="program")
    if not may_report_on(services.org, caller, program):
        raise Refused(403, "program: eNPS reports are for admins and the people team",
                       field="program")


def today() -> date:
    return datetime.now(UTC).date()


@router.get("/nps", response_model=NpsReport)
def nps(
    services: ServicesDep, caller: ApiCaller, first: First = None, last: Last = None,
    month: MonthAsked = None, program: ReportProgram = "customer",
    group_by: Annotated[GroupBy | None, Query(
        description="team, segment or week (default team); eNPS: segment only")] = None,
) -> NpsReport:
    """NPS (% promoters - % detractors, whole numbers, halves away from zero) overall and per
    team, segment or ISO week, over the answers the caller may see: an admin's the whole
    organisation's, anyone else's their own teams' only (`scope` names them), the overall
    included. A group with fewer answers than the organisation's `report_min_group_size` (k) is
    `{"key", "hidden": true}`, and if the hidden groups together have fewer than k answers, the
    smallest group shown is hidden too, so none can be worked out from the overall. A caller
    whose team the report by team hides (to protect a smaller team) gets their overall and
    every group hidden. Re-survey answers do not count.

    eNPS (`program=employee`, admins and the people team) covers exactly one calendar month
    that has ended (`month`; the last one when none is given) and is grouped by department
    (`segment`) only: `from`/`to`, a month still running and `group_by=team` or `week` are
    refused (422), since two reports over overlapping days, a month read again as it grows, or
    two ways of splitting one month could be subtracted to single out a colleague."""
    check_program(services, caller, program)
    with refused_as_422():
        window = report_period(program=program, today=today(), first=first, last=last,
                               month=month)
        grouping = report_grouping(program=program, group_by=group_by)
    with session_for(services.engine) as session:
        return nps_report(session=session, org=services.org, program=program,
                          group_by=grouping, window=window, visible_teams=team_scope(caller))


@router.get("/loop", response_model=LoopReport)
def loop(
    services: ServicesDep, caller: ApiCaller, first: First = None, last: Last = None,
    month: MonthAsked = None, program: ReportProgram | None = None,
) -> LoopReport:
    """Per program and team, for cases opened in the period: callbacks within the SLA, median
    hours to first contact and to resolution, escalations, resolved, re-survey answers,
    recovered detractors, root causes (most frequent first). A caller who is not an admin gets
    their own teams' rows.

    Employee rows cover one calendar month that has ended (`month`, else the last one; each row
    says its `month`): the cases of that month's answers, and a team's row is left out when its
    answers that month are hidden (fewer than k), since its case count would tell how many of
    those few were detractors. With `program=employee`, `from`/`to` are refused (422); with no
    program, `from`/`to` cover the other programs and leave the employee rows out."""
    if program is not None:
        check_program(services, caller, program)
    programs = [p for p in services.org.programs if may_report_on(services.org, caller, p)
                and program in (None, p)]
    ranged = first is not None or last is not None
    with refused_as_422():
        # A range of days never reaches employee rows: asked with a program, it is refused.
        periods = {p: report_period(program=p, today=today(), first=first, last=last,
                                    month=month)
                   for p in programs if p != EMPLOYEE or program == EMPLOYEE or not ranged}
    with session_for(services.engine) as session:
        return LoopReport(rows=[
            row for p, window in periods.items()
            for row in loop_report(session=session, org=services.org, programs=[p],
                                   now=datetime.now(UTC), window=window,
                                   visible_teams=team_scope(caller)).rows])


@router.get("/adopted", response_model=AdoptedReport)
def adopted(
    services: ServicesDep, caller: ApiCaller, first: First = None, last: Last = None,
) -> AdoptedReport:
    """Per colleague who adopted customers, each customer's scores in the period, oldest first.
    A lead sees their team's adopters; anyone else their own adopted customers."""
    with refused_as_422():
        window = report_period(program="customer", today=today(), first=first, last=last)
    with session_for(services.engine) as session:
        return adopted_report(session=session, org=services.org, window=window,
                              adopters=adopter_scope(services.org, caller))
