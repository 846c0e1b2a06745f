"""A team's open cases as its lead works them: the list and its filters, each colleague's load,
and cases moved to colleagues at once (someone ill or leaving, or away until a date)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import case
from sqlmodel import Session, col, select

from kringloop.cases import flows
from kringloop.cases.absences import absences_in, end_absence, mark_absent, team_day
from kringloop.cases.actions import case_in_scope
from kringloop.cases.messages import Reassignment
from kringloop.cases.models import Case
from kringloop.cases.queries import ACTIVE_STATUSES, last_assignments, open_case_counts
from kringloop.cases.schemas import (
    AbsencePublic,
    AssigneePublic,
    ReassignmentOutcome,
    RefusedCase,
    TeamCaseItem,
    TeamCaseList,
    TeamCaseStatus,
    TeamMember,
)
from kringloop.cases.workspace import awaiting_callback, callback_overdue, end_of_day
from kringloop.database import session_for
from kringloop.org.access import Principal
from kringloop.org.organisation import LoyaltyTeam, Member
from kringloop.org.routing import choose_member
from kringloop.refusal import Refused
from kringloop.services import Services


@dataclass(frozen=True)
class TeamCaseFilters:
    """What the list is narrowed to; None (or False) is no filter."""

    assignee: str | None = None
    status: TeamCaseStatus | None = None
    overdue: bool | None = None
    program: str | None = None
    due_today: bool = False


# Who may do what -------------------------------------------------------------------------------

def team_in_reach(services: Services, principal: Principal, team_id: str) -> LoyaltyTeam:
    """The team, if the caller is in it (or an admin); otherwise 404: no one learns it exists."""
    team = next((t for t in services.org.teams if t.id == team_id), None)
    if team is None or not principal.sees_team(team_id):
        raise Refused(404, f"no team {team_id}")
    return team


def visible_filters(principal: Principal, team: LoyaltyTeam, filters: TeamCaseFilters
                    ) -> TeamCaseFilters:
    """A lead sees every open case; a member their team's callbacks due today, to lend a hand."""
    return filters if principal.leads(team.id) else replace(filters, due_today=True)


def lead_only(principal: Principal, team: LoyaltyTeam) -> None:
    """Moving cases and marking absences is the lead's (and an admin's): 403 for the rest."""
    if not principal.leads(team.id):
        raise Refused(403, "only the team lead can reassign cases or mark a colleague absent")


def _member(team: LoyaltyTeam, email: str, field: str) -> Member:
    found = next((m for m in team.members if m.email == email.strip().lower()), None)
    if found is None:
        raise Refused(422, f"{field}: {email} is not a member of {team.name}", field=field)
    return found


# The list -------------------------------------------------------------------------------------

def team_cases(*, session: Session, team: LoyaltyTeam, now: datetime,
               filters: TeamCaseFilters) -> list[TeamCaseItem]:
    """The team's open cases, callbacks still to make first, soonest due first."""
    awaiting = case((awaiting_callback(), True), else_=False)
    overdue = case((callback_overdue(now), True), else_=False)
    conditions = [Case.team_id == team.id, col(Case.status).in_(ACTIVE_STATUSES)]
    if filters.assignee:
        conditions.append(Case.assignee_email == filters.assignee)
    if filters.status:
        conditions.append(Case.status == filters.status)
    if filters.program:
        conditions.append(Case.program == filters.program)
    if filters.overdue is not None:
        conditions.append(overdue == filters.overdue)
    if filters.due_today:
        conditions += [awaiting_callback(), col(Case.callback_due_at) < end_of_day(team, now)]
    rows = session.exec(
        select(Case, awaiting, overdue).where(*conditions)
        .order_by(awaiting.desc(), col(Case.callback_due_at), col(Case.id))
    ).all()
    return [TeamCaseItem(
        case_id=c.id, program=c.program, score=c.score, status=c.status,
        assignee=AssigneePublic(name=c.assignee_name, email=c.assignee_email)
        if c.assignee_email and c.assignee_name else None,
        callback_due_at=c.callback_due_at, awaiting_callback=bool(waiting),
        overdue=bool(late), attempts=c.attempts) for c, waiting, late in rows]


def team_members(*, session: Session, team: LoyaltyTeam, now: datetime) -> list[TeamMember]:
    """Each colleague with their open cases, and until when they are away (if they are)."""
    loads = open_case_counts(session=session, emails=[m.email for m in team.members])
    away = absences_in(session=session, team=team, now=now)
    return [TeamMember(name=m.name, email=m.email, open=loads.get(m.email, 0),
                       absent_until=away.get(m.email)) for m in team.members]


def team_case_list(*, session: Session, team: LoyaltyTeam, now: datetime,
                   filters: TeamCaseFilters) -> TeamCaseList:
    """The list as the page and the API show it: the cases, and whom they could go to."""
    return TeamCaseList(team=team.id, team_name=team.name,
                        items=team_cases(session=session, team=team, now=now, filters=filters),
                        members=team_members(session=session, team=team, now=now))


# Moving cases to colleagues -----------------------------------------------------------------

async def reassign_each(services: Services, moves: Sequence[tuple[str, str]], *, actor: str
                        ) -> ReassignmentOutcome:
    """Each case to its colleague through the case's own reassign update; a case that refuses
    (closed meanwhile, already with that colleague) stays, with its reason. A few at a time:
    a member leaving may have many."""
    at_once = asyncio.Semaphore(8)

    async def move(case_id: str, email: str) -> str | None:
        try:
            async with at_once:
                await flows.take_action(services.temporal, case_id, flows.reassign,
                                        Reassignment(actor=actor, member_email=email))
        except Refused as refusal:
            return refusal.message
        return None

    refusals = await asyncio.gather(*(move(case_id, email) for case_id, email in moves))
    return ReassignmentOutcome(
        moved=[case_id for (case_id, _), refused in zip(moves, refusals, strict=True)
               if refused is None],
        refused=[RefusedCase(case_id=case_id, message=refused)
                 for (case_id, _), refused in zip(moves, refusals, strict=True) if refused])


def _open_cases_of(services: Services, team: LoyaltyTeam, email: str) -> list[str]:
    with session_for(services.engine) as session:
        return list(session.exec(select(Case.id).where(
            Case.team_id == team.id, Case.assignee_email == email,
            col(Case.status).in_(ACTIVE_STATUSES)).order_by(col(Case.id))).all())


def _away(services: Services, team: LoyaltyTeam, now: datetime) -> dict[str, date]:
    with session_for(services.engine) as session:
        return absences_in(session=session, team=team, now=now)


async def reassign_all(services: Services, principal: Principal, team: LoyaltyTeam, *,
                       from_member: str, to_member: str, now: datetime) -> ReassignmentOutcome:
    """Every open case of one member to a colleague: someone is ill, or leaving."""
    lead_only(principal, team)
    giver, taker = _member(team, from_member, "from_member"), _member(team, to_member, "to_member")
    if giver == taker:
        raise Refused(422, "to_member: choose a colleague other than the one the cases leave",
                      field="to_member")
    away = await asyncio.to_thread(_away, services, team, now)
    if taker.email in away:
        raise Refused(422, f"to_member: {taker.name} is absent until {away[taker.email]}",
                      field="to_member")
    cases = await asyncio.to_thread(_open_cases_of, services, team, giver.email)
    return await reassign_each(services, [(c, taker.email) for c in cases], actor=principal.name)


async def reassign_case(services: Services, principal: Principal, team: LoyaltyTeam, *,
                        case_id: str, to_member: str) -> ReassignmentOutcome:
    """One case of the team to a colleague, from the team's list."""
    lead_only(principal, team)
    taker = _member(team, to_member, "to_member")
    moving = await asyncio.to_thread(case_in_scope, services, principal, case_id)
    if moving.team_id != team.id:
        raise Refused(404, f"no case {case_id}")
    return await reassign_each(services, [(case_id, taker.email)], actor=principal.name)


# Absence --------------------------------------------------------------------------------------

def handover_while_away(*, session: Session, team: LoyaltyTeam, member_email: str, until: date,
                        now: datetime) -> list[tuple[str, str]]:
    """The absent member's callbacks due before they are back (or overdue already), each with
    the colleague routing would choose now: present, least loaded, the waiting shared fairly."""
    back = end_of_day(team, datetime.combine(until, time(12), ZoneInfo(team.time_zone)))
    due = session.exec(select(Case.id).where(
        Case.team_id == team.id, Case.assignee_email == member_email, awaiting_callback(),
        col(Case.callback_due_at) < back).order_by(col(Case.callback_due_at))
    ).all()
    emails = [m.email for m in team.members]
    loads = open_case_counts(session=session, emails=emails)
    waited = last_assignments(session=session, emails=emails)
    away = {*absences_in(session=session, team=team, now=now), member_email}
    moves = []
    for case_id in due:
        chosen = choose_member(team, open_cases=loads, last_assigned=waited,
                               exclude=member_email, absent=away)
        loads[chosen.email], waited[chosen.email] = loads.get(chosen.email, 0) + 1, now
        moves.append((case_id, chosen.email))
    return moves


def _mark(services: Services, principal: Principal, team: LoyaltyTeam, member: Member,
          until: date, now: datetime) -> tuple[datetime, list[tuple[str, str]]]:
    with session_for(services.engine) as session:
        row = mark_absent(session=session, team=team, member_email=member.email, until=until,
                          set_by=principal.email, now=now)
        return row.set_at, handover_while_away(session=session, team=team,
                                               member_email=member.email, until=until, now=now)


async def mark_member_absent(services: Services, principal: Principal, team: LoyaltyTeam, *,
                             member_email: str, until: date, now: datetime) -> AbsencePublic:
    """The member is away until `until` (inclusive): routing passes them over meanwhile, and
    their callbacks due before they are back go to colleagues, the absence on each timeline."""
    lead_only(principal, team)
    member = _member(team, member_email, "member")
    if until < team_day(team, now):
        raise Refused(422, f"until: {until} has passed; the absence ends today or later",
                      field="until")
    set_at, moves = await asyncio.to_thread(_mark, services, principal, team, member, until, now)
    outcome = await reassign_each(
        services, moves, actor=f"{principal.name} ({member.name} absent until {until})")
    return AbsencePublic(member=member.email, until=until, set_by=principal.email,
                         set_at=set_at, handed_over=outcome)


def end_member_absence(services: Services, principal: Principal, team: LoyaltyTeam, *,
                       member_email: str) -> None:
    """The member is back: routing counts on them again (their cases stay where they went)."""
    lead_only(principal, team)
    member = _member(team, member_email, "member")
    with session_for(services.engine) as session:
        end_absence(session=session, team=team, member_email=member.email)
