"""Activities for the morning digest and the weekly spotlight: who gets one, and sending it."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from kringloop.cases.messages import TeamMorning, TeamMorningRequest
from kringloop.cases.schemas import QueueItem
from kringloop.cases.workspace import callbacks_due_by, last_week_spotlight
from kringloop.database import session_for
from kringloop.mail.delivery import Recipient
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.mail.rendering import render
from kringloop.org.business_hours import is_working_day
from kringloop.org.organisation import LoyaltyTeam, Organisation
from kringloop.settings import Settings

MORNING = time(8)


def _no_timeline(session: Session, status: str, detail: str) -> None:
    """Digests belong to no single case: the outbox row is their record."""


def _morning_of(team: LoyaltyTeam, day: str | None) -> datetime:
    """08:00 team time on `day`, or the moment the schedule fired."""
    if day is None:
        return activity.info().scheduled_time
    return datetime.combine(date.fromisoformat(day), MORNING, ZoneInfo(team.time_zone))


class DigestActivities:
    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    def _due(self, team: LoyaltyTeam, moment: datetime) -> dict[str, list[QueueItem]]:
        with session_for(self.engine) as session:
            return callbacks_due_by(session=session, team=team, now=moment)

    @activity.defn
    async def plan_team_morning(self, request: TeamMorningRequest) -> TeamMorning:
        team = self.org.team(request.team_id)
        moment = _morning_of(team, request.day)
        today = moment.astimezone(ZoneInfo(team.time_zone)).date()
        due = self._due(team, moment)
        return TeamMorning(date=today.isoformat(), working_day=is_working_day(team, today),
                           members_with_callbacks=[m.email for m in team.members
                                                   if due.get(m.email)],
                           all_members=[m.email for m in team.members])

    def _context(self, team: LoyaltyTeam, member_email: str) -> tuple[Recipient, dict[str, object]]:
        member = self.org.member(member_email)
        return Recipient(member.name, member.email, member.language), {
            "organisation": self.org.name, "time_zone": team.time_zone,
            "base_url": self.settings.base_url, "member_name": member.name,
            "team_name": team.name, "queue_url": f"{self.settings.base_url}/queue"}

    @activity.defn
    async def send_digest(self, team_id: str, member_email: str, day: str) -> EmailReceipt:
        team = self.org.team(team_id)
        to, context = self._context(team, member_email)
        mine = self._due(team, _morning_of(team, day)).get(member_email, [])
        context |= {"overdue": [i for i in mine if i.overdue],
                    "due_today": [i for i in mine if not i.overdue]}
        return await send_once(
            Outgoing(key=f"digest:{team_id}:{member_email}:{day}", kind="digest", to=to),
            lambda: render("digest", to.language, context | {"language": to.language}),
            engine=self.engine, settings=self.settings, record=_no_timeline)

    @activity.defn
    async def send_spotlight(self, team_id: str, member_email: str, day: str) -> EmailReceipt:
        team = self.org.team(team_id)
        to, context = self._context(team, member_email)
        with session_for(self.engine) as session:
            spotlight, recovered = last_week_spotlight(session=session, team=team,
                                                       now=_morning_of(team, day))
        context |= {"spotlight": spotlight, "recovered": recovered}
        return await send_once(
            Outgoing(key=f"spotlight:{team_id}:{member_email}:{day}", kind="spotlight", to=to),
            lambda: render("spotlight", to.language, context | {"language": to.language}),
            engine=self.engine, settings=self.settings, record=_no_timeline)
