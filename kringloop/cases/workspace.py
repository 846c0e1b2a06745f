"""What the workspace shows: a member's queue and a team's board (queries, no web)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from math import ceil
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from kringloop.cases.models import Case, CaseOrigin, FeedbackCallRequest
from kringloop.cases.queries import ACTIVE_STATUSES
from kringloop.cases.schemas import (
    MemberLoad,
    QueueItem,
    QueuePage,
    QueueStatus,
    Recognition,
    ScoreBand,
    TeamBoard,
)
from kringloop.org.organisation import LoyaltyTeam
from kringloop.responses.models import SurveyResponse

PAGE_SIZE = 25
BANDS: dict[str, tuple[int, int]] = {"0-3": (0, 3), "4-6": (4, 6), "7-10": (7, 10)}


def awaiting_callback():  # type: ignore[no-untyped-def]
    """An open case whose callback nobody has tried yet."""
    return and_(col(Case.first_attempt_at).is_(None), col(Case.status).in_(ACTIVE_STATUSES))


def callback_overdue(now: datetime):  # type: ignore[no-untyped-def]
    """A callback not yet made whose time has passed: overdue, wherever the workspace says so
    (not while the case waits on the respondent: its clock is stopped)."""
    return and_(awaiting_callback(), col(Case.callback_due_at) < now, Case.status != "waiting")


def _with_origin(*conditions):  # type: ignore[no-untyped-def]
    """Cases with what opened them: a survey response or a feedback-call request."""
    return (select(Case, SurveyResponse, FeedbackCallRequest)
            .outerjoin(SurveyResponse, Case.response_id == SurveyResponse.id)
            .outerjoin(FeedbackCallRequest, Case.response_id == FeedbackCallRequest.id)
            .where(*conditions))


def _item(case: Case, response: CaseOrigin, now: datetime) -> QueueItem:
    awaiting = case.first_attempt_at is None and case.status in ACTIVE_STATUSES
    return QueueItem(
        case_id=case.id, status=case.status, program=case.program, score=case.score,
        team=case.team_id, respondent_name=response.name,
        comment=(response.comment or "")[:160] or None, callback_due_at=case.callback_due_at,
        awaiting_callback=awaiting,
        overdue=bool(awaiting and case.status != "waiting" and case.callback_due_at
                     and case.callback_due_at < now))


def queue_statements(
    *, email: str, status: QueueStatus = "active", program: str | None = None,
    band: ScoreBand | None = None,
) -> tuple[SelectOfScalar[int], Select[tuple[Case, SurveyResponse, FeedbackCallRequest]]]:
    """What a member's queue asks the database: how many of their cases match, and those
    cases with what opened them, callbacks still to make first, soonest due first (unpaged)."""
    conditions = [Case.assignee_email == email]
    if status == "active":
        conditions.append(col(Case.status).in_(ACTIVE_STATUSES))
    else:
        conditions.append(Case.status == status)
    if program:
        conditions.append(Case.program == program)
    if band:
        low, high = BANDS[band]
        conditions.append(col(Case.score).between(low, high))
    counting = select(func.count()).select_from(Case).where(*conditions)
    listing = _with_origin(*conditions).order_by(
        case((awaiting_callback(), 0), else_=1), col(Case.callback_due_at), col(Case.id))
    return counting, listing


def queue_of(
    *, session: Session, email: str, now: datetime, status: QueueStatus = "active",
    program: str | None = None, band: ScoreBand | None = None, page: int = 1,
) -> QueuePage:
    """A member's cases, a page at a time: callbacks still to make first, soonest due first."""
    counting, listing = queue_statements(email=email, status=status, program=program, band=band)
    total = session.exec(counting).one()
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = session.exec(listing.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return QueuePage(items=[_item(c, r or f, now) for c, r, f in rows], total=total, page=page,
                     pages=pages)


def _on_time(since: datetime, until: datetime):  # type: ignore[no-untyped-def]
    return and_(col(Case.first_attempt_at) >= since, col(Case.first_attempt_at) < until,
                col(Case.first_attempt_at) <= col(Case.callback_due_at))


def _recognition(session: Session, team: LoyaltyTeam, since: datetime, until: datetime
                 ) -> list[Recognition]:
    """Who called back on time and whose customers came back, between two moments."""
    on_time = dict(session.exec(
        select(Case.assignee_email, func.count()).where(
            Case.team_id == team.id, _on_time(since, until)).group_by(Case.assignee_email)
    ).all())
    recovered = dict(session.exec(
        select(Case.assignee_email, func.count()).where(
            Case.team_id == team.id, col(Case.recovered).is_(True),
            col(Case.closed_at) >= since, col(Case.closed_at) < until)
        .group_by(Case.assignee_email)
    ).all())
    board = [Recognition(name=m.name, email=m.email, on_time_callbacks=on_time.get(m.email, 0),
                         recovered=recovered.get(m.email, 0)) for m in team.members]
    return sorted(board, key=lambda r: (-r.recovered, -r.on_time_callbacks, r.name))


def end_of_day(team: LoyaltyTeam, now: datetime) -> datetime:
    """When the team's day ends (midnight on its clock): what is due before then is due today."""
    zone = ZoneInfo(team.time_zone)
    return datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), zone)


def _due_today(session: Session, team: LoyaltyTeam, now: datetime, *, limit: int | None = None
               ) -> list[tuple[Case, CaseOrigin]]:
    """Callbacks not yet made that are due before the team's day ends (overdue ones too)."""
    rows = session.exec(
        _with_origin(Case.team_id == team.id, awaiting_callback(),
                     col(Case.callback_due_at) < end_of_day(team, now))
        .order_by(col(Case.callback_due_at)).limit(limit)
    ).all()
    return [(c, r or f) for c, r, f in rows]


def callbacks_due_by(*, session: Session, team: LoyaltyTeam, now: datetime
                     ) -> dict[str, list[QueueItem]]:
    """Per member: their callbacks due today or overdue (the morning digest)."""
    due: dict[str, list[QueueItem]] = {}
    for case_row, origin in _due_today(session, team, now):
        if case_row.assignee_email:
            due.setdefault(case_row.assignee_email, []).append(_item(case_row, origin, now))
    return due


def last_week_spotlight(*, session: Session, team: LoyaltyTeam, now: datetime
                        ) -> tuple[list[Recognition], int]:
    """Last week's top three (those with something to show) and the detractors won back: the
    team board's spotlight and the Monday email's."""
    zone = ZoneInfo(team.time_zone)
    today = now.astimezone(zone).date()
    week_start = datetime.combine(today - timedelta(days=today.weekday() + 7), time(0), zone)
    week = _recognition(session, team, week_start, week_start + timedelta(days=7))
    return ([r for r in week if r.recovered or r.on_time_callbacks][:3],
            sum(r.recovered for r in week))


def team_board(*, session: Session, team: LoyaltyTeam, now: datetime) -> TeamBoard:
    zone = ZoneInfo(team.time_zone)
    end_of_today = end_of_day(team, now)
    month_start = datetime.combine(now.astimezone(zone).date().replace(day=1), time(0), zone)

    open_cases = col(Case.status).in_(ACTIVE_STATUSES)
    loads = session.exec(
        select(Case.assignee_email, func.count(),
               func.sum(case((callback_overdue(now), 1), else_=0)))
        .where(Case.team_id == team.id, open_cases).group_by(Case.assignee_email)
    ).all()
    by_member = {email: (count, int(overdue or 0)) for email, count, overdue in loads}
    members = [MemberLoad(name=m.name, email=m.email, open=by_member.get(m.email, (0, 0))[0],
                          overdue=by_member.get(m.email, (0, 0))[1]) for m in team.members]
    spotlight, recovered = last_week_spotlight(session=session, team=team, now=now)
    return TeamBoard(
        team=team.id, team_name=team.name, members=members,
        due_today=[_item(c, o, now) for c, o in _due_today(session, team, now, limit=50)],
        leaderboard=_recognition(session, team, month_start, end_of_today),
        spotlight=spotlight, spotlight_recovered=recovered,
    )
