"""The team board: where a lead can lend a hand today, and whom to thank for this month."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kringloop.cases.absences import absences_in
from kringloop.cases.workspace import team_board
from kringloop.database import session_for
from kringloop.web.deps import PageUser, ServicesDep
from kringloop.web.pages import team_cases
from kringloop.web.pages.rendering import page, problem, sla_clock

router = APIRouter(include_in_schema=False)


@router.get("/team")
def my_team(request: Request, services: ServicesDep, principal: PageUser) -> Response:
    """A lead goes to their team's board; an admin picks a team."""
    if principal.is_admin:
        return page(request, services, principal, "team_pick.html", teams=services.org.teams)
    led = sorted(t for t in principal.team_ids if principal.leads(t))
    if led:
        return RedirectResponse(f"/teams/{led[0]}", status_code=303)
    return problem(request, services, principal, "team_board_for_leads", 403)


@router.get("/teams/{team_id}")
def board(team_id: str, request: Request, services: ServicesDep, principal: PageUser
          ) -> HTMLResponse:
    team = next((t for t in services.org.teams if t.id == team_id), None)
    if team is None or not principal.sees_team(team_id):
        return problem(request, services, principal, "not_found", 404)
    if not principal.leads(team_id):
        return problem(request, services, principal, "team_board_for_leads", 403)
    now = datetime.now(UTC)
    with session_for(services.engine) as session:
        board = team_board(session=session, team=team, now=now)
        absent = absences_in(session=session, team=team, now=now)
    thanked = [r for r in board.leaderboard if r.on_time_callbacks or r.recovered]
    return page(
        request, services, principal, "team.html", board=board, team=team,
        clocks={item.case_id: sla_clock(due_at=item.callback_due_at, called_back=False,
                                        finished=False, now=now) for item in board.due_today},
        # Only those with something to thank them for: nobody else is named (a list of the
        # rest would single out the one without a thank-you).
        thanked=thanked, absent=team_cases.absence_days(absent, principal))

