"""A team's open cases as JSON, and the lead's moves: reassign a member's cases, mark absences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import EmailStr

from kringloop.cases import team_cases
from kringloop.cases.schemas import (
    AbsenceIn,
    AbsencePublic,
    ReassignmentOutcome,
    TeamCaseList,
    TeamCaseStatus,
    TeamReassignIn,
)
from kringloop.cases.team_cases import TeamCaseFilters
from kringloop.database import session_for
from kringloop.org.organisation import Program
from kringloop.refusal import Refused
from kringloop.web.deps import ApiCaller, ServicesDep

router = APIRouter(prefix="/api/teams", tags=["teams"])


@router.get("/{team_id}/cases", response_model=TeamCaseList)
def team_case_list(
    team_id: str, services: ServicesDep, caller: ApiCaller,
    assignee: EmailStr | None = None,
    status_: Annotated[TeamCaseStatus | None, Query(alias="status")] = None,
    overdue: bool | None = None,
    program: Program | None = None,
    due: Annotated[str | None, Query(pattern="^today$")] = None,
) -> TeamCaseList:
    """The team's open cases, callbacks to make first, with each colleague's load and absence.
    Its lead sees them all; a member of the team the callbacks due today (`due=today`)."""
    team = team_cases.team_in_reach(services, caller, team_id)
    if program is not None and program not in services.org.programs:
        raise Refused(422, f"program: {program} is not run in this organisation", field="program")
    filters = TeamCaseFilters(assignee=assignee.lower() if assignee else None, status=status_,
                              overdue=overdue, program=program, due_today=due == "today")
    with session_for(services.engine) as session:
        return team_cases.team_case_list(
            session=session, team=team, now=datetime.now(UTC),
            filters=team_cases.visible_filters(caller, team, filters))


@router.post("/{team_id}/reassignments", response_model=ReassignmentOutcome)
async def reassign_all(team_id: str, body: TeamReassignIn, services: ServicesDep,
                       caller: ApiCaller) -> ReassignmentOutcome:
    """Every open case of `from_member` to `to_member` (someone ill, or leaving); a case that
    refuses (closed meanwhile) is listed with its reason, the others move."""
    team = team_cases.team_in_reach(services, caller, team_id)
    return await team_cases.reassign_all(services, caller, team, from_member=body.from_member,
                                         to_member=body.to_member, now=datetime.now(UTC))


@router.put("/{team_id}/members/{member}/absence", response_model=AbsencePublic)
async def mark_absent(team_id: str, member: str, body: AbsenceIn, services: ServicesDep,
                      caller: ApiCaller) -> AbsencePublic:
    """The member is away until `until` (inclusive, the team's time zone): routing passes them
    over, and their callbacks due before they are back go to colleagues."""
    team = team_cases.team_in_reach(services, caller, team_id)
    return await team_cases.mark_member_absent(services, caller, team, member_email=member,
                                               until=body.until, now=datetime.now(UTC))


@router.delete("/{team_id}/members/{member}/absence", status_code=status.HTTP_204_NO_CONTENT)
def end_absence(team_id: str, member: str, services: ServicesDep, caller: ApiCaller
                ) -> Response:
    """The member is back: routing counts on them again."""
    team = team_cases.team_in_reach(services, caller, team_id)
    team_cases.end_member_absence(services, caller, team, member_email=member)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
