"""The team's open cases: a lead filters them, reassigns one or all of a member's, and marks a
colleague absent; a member of the team sees today's callbacks, to lend a hand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kringloop.cases import team_cases
from kringloop.cases.absences import team_day
from kringloop.cases.schemas import ReassignmentOutcome, TeamCaseStatus
from kringloop.cases.team_cases import TeamCaseFilters
from kringloop.database import session_for
from kringloop.org.access import Principal
from kringloop.org.organisation import LoyaltyTeam
from kringloop.refusal import Refused
from kringloop.services import Services
from kringloop.web.deps import PageUser, ServicesDep
from kringloop.web.pages.rendering import (
    csrf_refusal,
    local_path,
    page,
    posted,
    problem,
    sla_clock,
)

router = APIRouter(include_in_schema=False)

FILTERS = ("assignee", "status", "overdue", "program", "due")


def _filters(team: LoyaltyTeam, services: Services, asked: dict[str, str]) -> dict[str, str]:
    """The list's filters as asked; an unknown value simply counts as no filter."""
    value = {name: asked.get(name, "") for name in FILTERS}
    return {
        "assignee": value["assignee"] if value["assignee"] in {m.email for m in team.members}
        else "",
        "status": value["status"] if value["status"] in get_args(TeamCaseStatus) else "",
        "overdue": value["overdue"] if value["overdue"] in ("yes", "no") else "",
        "program": value["program"] if value["program"] in services.org.programs else "",
        "due": value["due"] if value["due"] == "today" else "",
    }


def _filters_of(shown: dict[str, str]) -> TeamCaseFilters:
    return TeamCaseFilters(
        assignee=shown["assignee"] or None, status=shown["status"] or None,  # type: ignore[arg-type]
        overdue={"yes": True, "no": False}.get(shown["overdue"]),
        program=shown["program"] or None, due_today=shown["due"] == "today")


def absence_days(absences: dict[str, date], principal: Principal) -> dict[str, str]:
    """Until when each absent colleague is away, written out in the reader's language."""
    return {email: format_date(day, "EEE d MMM", locale=principal.language)
            for email, day in absences.items()}


def list_url(team: LoyaltyTeam, shown: dict[str, str]) -> str:
    """Where the list with these filters is: the page a form returns to."""
    query = urlencode({k: v for k, v in shown.items() if v})
    return f"/teams/{team.id}/cases" + (f"?{query}" if query else "")


def _list_page(request: Request, services: Services, principal: Principal, team: LoyaltyTeam,
               asked: dict[str, str], *, status_code: int = 200,
               outcome: dict[str, Any] | None = None,
               refusal: tuple[str, Refused] | None = None, values: dict[str, str] | None = None,
               ) -> HTMLResponse:
    """The list as the reader may see it; after a refusal (which form, and why) `values`
    refills that form."""
    lead = principal.leads(team.id)
    shown = _filters(team, services, asked)
    if not lead:
        shown["due"] = "today"
    now = datetime.now(UTC)
    filters = team_cases.visible_filters(principal, team, _filters_of(shown))
    with session_for(services.engine) as session:
        listing = team_cases.team_case_list(session=session, team=team, now=now, filters=filters)
    return page(
        request, services, principal, "team_cases.html", status_code=status_code,
        team=team, listing=listing, lead=lead, filters=shown, back=list_url(team, shown),
        filtered=any(v for k, v in shown.items() if lead or k != "due"),
        members={m.email: m for m in listing.members},
        absent=absence_days({m.email: m.absent_until for m in listing.members
                             if m.absent_until}, principal),
        programs=list(services.org.programs), statuses=get_args(TeamCaseStatus),
        clocks={item.case_id: sla_clock(due_at=item.callback_due_at, finished=False,
                                        called_back=not item.awaiting_callback, now=now)
                for item in listing.items},
        today=team_day(team, now).isoformat(),
        outcome=outcome or request.session.pop("team_outcome", None),
        refusal=refusal[1] if refusal else None, refusal_form=refusal[0] if refusal else None,
        values=values or {})


@router.get("/teams/{team_id}/cases")
def team_case_list(team_id: str, request: Request, services: ServicesDep, principal: PageUser
                   ) -> HTMLResponse:
    """Every open case of the team for its lead; today's callbacks for its members."""
    try:
        team = team_cases.team_in_reach(services, principal, team_id)
    except Refused:
        return problem(request, services, principal, "not_found", 404)
    return _list_page(request, services, principal, team, dict(request.query_params))


def _chosen(form: dict[str, str], field: str) -> str:
    """A colleague picked in the form; none picked is refused (nobody is chosen for you)."""
    if not form.get(field, "").strip():
        raise Refused(422, f"{field}: choose a colleague", field=field)
    return form[field]


def _said(kind: str, outcome: ReassignmentOutcome | None = None, *, member: str = "",
          until: str = "") -> dict[str, Any]:
    """What the page says afterwards: what was done (for which member), how many cases moved,
    and which stayed and why."""
    return {"kind": kind, "member": member, "until": until,
            "moved": len(outcome.moved) if outcome else 0,
            "refused": [r.model_dump() for r in outcome.refused] if outcome else []}


# What a form does for the team: given the team and the form, what the page says afterwards.
Action = Callable[[LoyaltyTeam, dict[str, str]], Awaitable[dict[str, Any]]]


async def _act(request: Request, services: Services, principal: Principal, team_id: str,
               form: dict[str, str], form_name: str, perform: Action) -> Response:
    """The form's action for the team (after its CSRF check), then back to the list it came
    from: with what it did (303), or with what was refused and the form as it was filled in."""
    if refused := csrf_refusal(request, services, principal, form):
        return refused
    try:
        team = team_cases.team_in_reach(services, principal, team_id)
    except Refused:
        return problem(request, services, principal, "not_found", 404)
    back = local_path(form.get("back"), f"/teams/{team.id}/cases")
    asked = dict(parse_qsl(urlsplit(back).query))
    try:
        team_cases.lead_only(principal, team)
        said = await perform(team, form)
    except Refused as error:
        if error.status_code == 404:
            return problem(request, services, principal, "not_found", 404)
        return await run_in_threadpool(_list_page, request, services, principal, team, asked,
                                       status_code=error.status_code,
                                       refusal=(form_name, error), values=form)
    if said.get("refused"):  # the page itself says which stayed and why
        return await run_in_threadpool(_list_page, request, services, principal, team, asked,
                                       status_code=200 if said["moved"] else 409,
                                       outcome=said)
    request.session["team_outcome"] = said
    return RedirectResponse(back, status_code=303)


@router.post("/teams/{team_id}/reassignments")
async def reassign(team_id: str, request: Request, services: ServicesDep, principal: PageUser
                   ) -> Response:
    """One case (`case_id`), or every open case of `from_member`, to `to_member`."""

    async def perform(team: LoyaltyTeam, form: dict[str, str]) -> dict[str, Any]:
        to_member = _chosen(form, "to_member")
        moving: Awaitable[ReassignmentOutcome]
        if form.get("case_id"):
            moving = team_cases.reassign_case(services, principal, team, case_id=form["case_id"],
                                              to_member=to_member)
        else:
            moving = team_cases.reassign_all(
                services, principal, team, from_member=_chosen(form, "from_member"),
                to_member=to_member, now=datetime.now(UTC))
        return _said("reassigned", await moving)

    form = await posted(request)
    return await _act(request, services, principal, team_id, form,
                      "reassign-case" if form.get("case_id") else "reassign-all", perform)


@router.post("/teams/{team_id}/absences")
async def mark_absent(team_id: str, request: Request, services: ServicesDep,
                      principal: PageUser) -> Response:
    """`member` is away until `until`: their callbacks due meanwhile go to colleagues."""

    async def perform(team: LoyaltyTeam, form: dict[str, str]) -> dict[str, Any]:
        try:
            until = date.fromisoformat(form.get("until", ""))
        except ValueError:
            raise Refused(422, "until: give the last day away as a date",
                          field="until") from None
        absence = await team_cases.mark_member_absent(
            services, principal, team, member_email=_chosen(form, "member"), until=until,
            now=datetime.now(UTC))
        return _said("absent", absence.handed_over, member=absence.member,
                     until=until.isoformat())

    return await _act(request, services, principal, team_id, await posted(request), "absence",
                      perform)


@router.post("/teams/{team_id}/absences/end")
async def end_absence(team_id: str, request: Request, services: ServicesDep,
                      principal: PageUser) -> Response:
    """`member` is back: routing counts on them again."""

    async def perform(team: LoyaltyTeam, form: dict[str, str]) -> dict[str, Any]:
        member = _chosen(form, "member")
        await run_in_threadpool(team_cases.end_member_absence, services, principal, team,
                                member_email=member)
        return _said("back", member=member.strip().lower())

    return await _act(request, services, principal, team_id, await posted(request),
                      "absence-end", perform)
