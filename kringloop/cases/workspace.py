"""What the workspace shows: a member's queue (with each callback's next step, for a calling day)
and a team's board (queries, no web)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from math import ceil
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Subquery, and_, case, func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from kringloop.cases.models import Case, CaseOrigin, FeedbackCallRequest, TimelineEntry
from kringloop.cases.queries import ACTIVE_STATUSES, has_conversation
from kringloop.cases.schemas import (
    MemberLoad,
    QueueItem,
    QueuePage,
    QueueStatus,
    Recognition,
    ScoreBand,
    TeamBoard,
)
from kringloop.org.business_hours import add_business_hours
from kringloop.org.organisation import LoyaltyTeam, Organisation
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


def _with_origin(*conditions, among: Subquery | None = None):  # type: ignore[no-untyped-def]
    """Cases with what opened them: a survey response or a feedback-call request (only the
    cases whose ids `among` selects, if given)."""
    query = select(Case, SurveyResponse, FeedbackCallRequest)
    if among is not None:
        query = query.select_from(among).join(Case, col(Case.id) == among.c.id)
    return (query
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


def _queue_order():  # type: ignore[no-untyped-def]
    """Callbacks still to make first, soonest due first."""
    return case((awaiting_callback(), 0), else_=1), col(Case.callback_due_at), col(Case.id)


def queue_statements(
    *, email: str, status: QueueStatus = "active", program: str | None = None,
    band: ScoreBand | None = None,
) -> tuple[SelectOfScalar[int], SelectOfScalar[str]]:
    """What a member's queue asks the database: how many of their cases match, and their ids in
    the queue's order (unpaged); ix_case_queue answers both without reading the cases."""
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
    ordering = select(Case.id).where(*conditions).order_by(*_queue_order())
    return counting, ordering


def _queue_page(
    session: Session, *, email: str, status: QueueStatus, program: str | None,
    band: ScoreBand | None, page: int,
) -> tuple[list[tuple[Case, CaseOrigin]], int, int, int]:
    """One page of a member's cases with their origins; the total, the page and the pages."""
    counting, ordering = queue_statements(email=email, status=status, program=program,
                                          band=band)
    total = session.exec(counting).one()
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    # The page's ids first, then only their rows and origins: sorting every open case of the
    # member with its origin joined costs a lookup per case (thousands with a million cases).
    ids = ordering.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).subquery()
    rows = session.exec(_with_origin(among=ids).order_by(*_queue_order())).all()
    return [(c, r or f) for c, r, f in rows], total, page, pages


def queue_of(
    *, session: Session, email: str, now: datetime, status: QueueStatus = "active",
    program: str | None = None, band: ScoreBand | None = None, page: int = 1,
) -> QueuePage:
    """A member's cases, a page at a time: callbacks still to make first, soonest due first."""
    rows, total, page, pages = _queue_page(session, email=email, status=status,
                                           program=program, band=band, page=page)
    return QueuePage(items=[_item(c, o, now) for c, o in rows], total=total, page=page,
                     pages=pages)


# The calling day -------------------------------------------------------------------------------

# A callback nobody answered is tried again after a couple of working hours: another moment of
# the day, not straight away.
TRY_AGAIN_AFTER_HOURS = 2.0

NextStep = Literal["call", "try_again", "call_again", "find_number", "resolve",
                   "resolve_unreached", "waiting", "conversation", "none"]


@dataclass(frozen=True)
class CallPlan:
    """What a queue row tells the member about the callback: the attempts so far and the last
    one, the number to call, and the next step (`at`: try again after, or reached on)."""

    attempts: int
    last_attempt_at: datetime | None
    phone: str | None
    step: NextStep
    at: datetime | None = None
    days_from_today: int | None = None  # `at` on the team's calendar: 0 today, -1 yesterday
    weekday: int | None = None  # `at`'s day of the week on the team's clock, Monday 0
    clock: str | None = None  # `at`'s time of day on the team's clock, e.g. "14:00"


def _last_attempts(session: Session, case_ids: Sequence[str]
                   ) -> dict[str, tuple[datetime, str]]:
    """Per case its last callback attempt: when, and its outcome."""
    rows = session.exec(
        select(TimelineEntry.case_id, TimelineEntry.at, TimelineEntry.detail)
        .where(col(TimelineEntry.case_id).in_(case_ids), TimelineEntry.kind == "callback_attempt")
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    ).all()
    # The detail starts with the outcome ("no_answer: voicemail"); later rows replace earlier.
    return {case_id: (at, detail.partition(":")[0].strip()) for case_id, at, detail in rows}


def _step(case: Case, origin: CaseOrigin, last: tuple[datetime, str] | None, *,
          team: LoyaltyTeam | None, max_attempts: int, now: datetime
          ) -> tuple[NextStep, datetime | None]:
    """The next step for the case, and the moment it hangs on (if any)."""
    if case.status not in ACTIVE_STATUSES:
        return "none", None
    if case.status == "waiting":
        return "waiting", None
    if has_conversation(case, origin):
        return "conversation", None
    if case.reached_at is not None:
        return "resolve", case.reached_at
    if last is None:
        return "call", None
    if case.attempts >= max_attempts:
        return "resolve_unreached", None
    at, outcome = last
    if outcome == "wrong_number":
        return "find_number", None
    again = add_business_hours(team, at, TRY_AGAIN_AFTER_HOURS) if team else \
        at + timedelta(hours=TRY_AGAIN_AFTER_HOURS)
    return ("try_again", again) if again > now else ("call_again", None)


def _plan(case: Case, origin: CaseOrigin, last: tuple[datetime, str] | None, *,
          team: LoyaltyTeam | None, max_attempts: int, now: datetime) -> CallPlan:
    step, at = _step(case, origin, last, team=team, max_attempts=max_attempts, now=now)
    local = at.astimezone(ZoneInfo(team.time_zone if team else "Europe/Amsterdam")) \
        if at else None
    today = now.astimezone(local.tzinfo).date() if local else None
    return CallPlan(
        attempts=case.attempts, last_attempt_at=last[0] if last else None,
        phone=None if has_conversation(case, origin) else (origin.phone or None), step=step,
        at=at, days_from_today=(local.date() - today).days if local and today else None,
        weekday=local.weekday() if local else None,
        clock=f"{local:%H:%M}" if local else None)


def calling_queue(
    *, session: Session, org: Organisation, email: str, now: datetime,
    status: QueueStatus = "active", program: str | None = None, band: ScoreBand | None = None,
    page: int = 1,
) -> tuple[QueuePage, dict[str, CallPlan]]:
    """The member's queue as a calling day needs it: each case with its attempts so far, the
    number to call and the next step (call, try again after, resolve, wait, or answer in the
    conversation), by case id."""
    rows, total, page, pages = _queue_page(session, email=email, status=status,
                                           program=program, band=band, page=page)
    last = _last_attempts(session, [c.id for c, _ in rows]) if rows else {}
    teams = {team.id: team for team in org.teams}
    plans: dict[str, CallPlan] = {}
    for c, origin in rows:
        policy = org.programs.get(c.program)  # type: ignore[call-overload]
        plans[c.id] = _plan(c, origin, last.get(c.id), team=teams.get(c.team_id or ""),
                            max_attempts=policy.max_callback_attempts if policy else 3, now=now)
    return QueuePage(items=[_item(c, o, now) for c, o in rows], total=total, page=page,
                     pages=pages), plans


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
