"""Members away from their team (ill, on leave) until a date: routing passes them over while
they are, and the team's pages say so."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from kringloop.database import moment_column
from kringloop.org.organisation import LoyaltyTeam


class MemberAbsence(SQLModel, table=True):
    """A member away until `until` (inclusive, in the team's time zone); one per member and
    team: marking them absent again moves the date."""

    __tablename__ = "member_absence"

    team_id: str = Field(primary_key=True)
    member_email: str = Field(primary_key=True, max_length=254)
    until: date
    set_by: str = Field(max_length=254)
    set_at: datetime = moment_column(nullable=False)


def team_day(team: LoyaltyTeam, now: datetime) -> date:
    """The date it is now on the team's clock."""
    return now.astimezone(ZoneInfo(team.time_zone)).date()


def absences_in(*, session: Session, team: LoyaltyTeam, now: datetime) -> dict[str, date]:
    """The team's members who are away today, with the last day they are away."""
    rows = session.exec(select(MemberAbsence).where(
        MemberAbsence.team_id == team.id, col(MemberAbsence.until) >= team_day(team, now))).all()
    return {row.member_email: row.until for row in rows}


def mark_absent(*, session: Session, team: LoyaltyTeam, member_email: str, until: date,
                set_by: str, now: datetime) -> MemberAbsence:
    """`member_email` is away until `until`, as `set_by` said at `now`."""
    for _ in range(2):  # a colleague marking them at the same moment: then change theirs
        row = session.get(MemberAbsence, (team.id, member_email)) or MemberAbsence(
            team_id=team.id, member_email=member_email, until=until, set_by=set_by, set_at=now)
        row.until, row.set_by, row.set_at = until, set_by, now
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        break
    return row


def end_absence(*, session: Session, team: LoyaltyTeam, member_email: str) -> bool:
    """The member is back; False when they were not marked absent."""
    row = session.get(MemberAbsence, (team.id, member_email))
    if row is None:
        return False
    session.delete(row)
    session.commit()
    return True
