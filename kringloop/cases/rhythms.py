"""The loyalty team's mornings: who gets a digest of callbacks due, and the digest's and the
weekly spotlight's emails (planned and composed here; the outbox sends them)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from kringloop.cases.messages import TeamMorning, TeamMorningRequest
from kringloop.cases.schemas import QueueItem
from kringloop.cases.workspace import callbacks_due_by, last_week_spotlight
from kringloop.database import session_for
from kringloop.mail.delivery import Recipient
from kringloop.mail.rendering import Email, render
from kringloop.org.business_hours import is_working_day
from kringloop.org.organisation import LoyaltyTeam, Organisation
from kringloop.settings import Settings

MORNING = time(8)


class MorningEmail(NamedTuple):
    """A member's digest or spotlight: its idempotency key, kind, recipient and context."""

    key: str
    kind: str
    to: Recipient
    context: dict[str, object]

    def render(self) -> Email:
        """The email in the member's language."""
        return render(self.kind, self.to.language, self.context | {"language": self.to.language})


def no_timeline(session: Session, status: str, detail: str) -> None:
    """Digests belong to no single case: the outbox row is their record."""


def morning_of(team: LoyaltyTeam, day: str | None, *, fired_at: datetime) -> datetime:
    """08:00 team time on `day`, or the moment the schedule fired."""
    if day is None:
        return fired_at
    return datetime.combine(date.fromisoformat(day), MORNING, ZoneInfo(team.time_zone))


def _due(engine: Engine, team: LoyaltyTeam, moment: datetime) -> dict[str, list[QueueItem]]:
    with session_for(engine) as session:
        return callbacks_due_by(session=session, team=team, now=moment)


def plan_team_morning(*, engine: Engine, org: Organisation, request: TeamMorningRequest,
                      fired_at: datetime) -> TeamMorning:
    """The team's day in its own time zone, whether the team works, and who has callbacks due."""
    team = org.team(request.team_id)
    moment = morning_of(team, request.day, fired_at=fired_at)
    today = moment.astimezone(ZoneInfo(team.time_zone)).date()
    due = _due(engine, team, moment)
    return TeamMorning(date=today.isoformat(), working_day=is_working_day(team, today),
                       members_with_callbacks=[m.email for m in team.members
                                               if due.get(m.email)],
                       all_members=[m.email for m in team.members])


def _greeting(org: Organisation, settings: Settings, team: LoyaltyTeam, member_email: str
              ) -> tuple[Recipient, dict[str, object]]:
    member = org.member(member_email)
    return Recipient(member.name, member.email, member.language), {
        "organisation": org.name, "time_zone": team.time_zone,
        "base_url": settings.base_url, "member_name": member.name,
        "team_name": team.name, "queue_url": f"{settings.base_url}/queue"}


def digest(*, engine: Engine, org: Organisation, settings: Settings, team_id: str,
           member_email: str, day: str, fired_at: datetime) -> MorningEmail:
    """The member's callbacks overdue and due today, on the team's morning of `day`."""
    team = org.team(team_id)
    to, context = _greeting(org, settings, team, member_email)
    mine = _due(engine, team, morning_of(team, day, fired_at=fired_at)).get(member_email, [])
    context |= {"overdue": [i for i in mine if i.overdue],
                "due_today": [i for i in mine if not i.overdue]}
    return MorningEmail(f"digest:{team_id}:{member_email}:{day}", "digest", to, context)


def spotlight_key(team_id: str, member_email: str, day: str) -> str:
    return f"spotlight:{team_id}:{member_email}:{day}"


def spotlight(*, engine: Engine, org: Organisation, settings: Settings, team_id: str,
              member_email: str, day: str, fired_at: datetime) -> MorningEmail | None:
    """Last week's good work in the team, for one member on the Monday morning of `day`; None
    after a week with nothing to say (no callback on time, nobody won back): an email saying
    so would only be noise."""
    team = org.team(team_id)
    to, context = _greeting(org, settings, team, member_email)
    with session_for(engine) as session:
        recognised, recovered = last_week_spotlight(
            session=session, team=team, now=morning_of(team, day, fired_at=fired_at))
    if not recognised and not recovered:
        return None
    context |= {"spotlight": recognised, "recovered": recovered}
    return MorningEmail(spotlight_key(team_id, member_email, day), "spotlight", to, context)
