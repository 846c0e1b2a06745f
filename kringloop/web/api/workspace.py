"""The workspace as JSON: who I am, my queue, and a team's board."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from kringloop.cases.schemas import QueuePage, QueueStatus, ScoreBand, TeamBoard
from kringloop.cases.workspace import queue_of, team_board
from kringloop.database import session_for
from kringloop.org.organisation import Program
from kringloop.refusal import Refused
from kringloop.web.deps import ApiCaller, ServicesDep

router = APIRouter(prefix="/api", tags=["workspace"])


class Me(BaseModel):
    email: str
    name: str
    role: str
    teams: list[str]
    language: str


@router.get("/me", response_model=Me)
def me(caller: ApiCaller) -> Me:
    return Me(email=caller.email, name=caller.name, role=caller.role,
              teams=sorted(caller.team_ids), language=caller.language)


@router.get("/queue", response_model=QueuePage)
def my_queue(
    services: ServicesDep, caller: ApiCaller,
    status_: Annotated[QueueStatus, Query(alias="status")] = "active",
    # The organisation file's own type for a program: the filter cannot drift from what it may
    # hold. Which of them this organisation runs is only known at run time, so checked below.
    program: Program | None = None,
    band: ScoreBand | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> QueuePage:
    """My cases: callbacks still to make first, soonest due first; overdue ones marked."""
    if program is not None and program not in services.org.programs:
        raise Refused(422, f"program: {program} is not run in this organisation", field="program")
    with session_for(services.engine) as session:
        return queue_of(session=session, email=caller.email, now=datetime.now(UTC),
                        status=status_, program=program, band=band, page=page)


@router.get("/teams/{team_id}/board", response_model=TeamBoard)
def board(team_id: str, services: ServicesDep, caller: ApiCaller) -> TeamBoard:
    """Open and overdue per member, today's SLA risk, recognition for the month and the week."""
    if not caller.sees_team(team_id) or team_id not in {t.id for t in services.org.teams}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no team {team_id}")
    if not caller.leads(team_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the team board is for the team lead")
    with session_for(services.engine) as session:
        return team_board(session=session, team=services.org.team(team_id),
                          now=datetime.now(UTC))
