"""Each team's loop health: how soon it calls back, resolves and wins back the people behind the
cases opened in a period."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from kringloop.cases.models import Case, TimelineEntry
from kringloop.mail.models import OutboxMessage
from kringloop.org.organisation import Organisation
from kringloop.reports.nps import (
    RESURVEY,
    first_answers,
    hidden_groups,
    month_column,
    rounded_percent,
)
from kringloop.reports.periods import ALL_TIME, EMPLOYEE, ONE_MONTH, Month, ReportRefused, Window
from kringloop.reports.schemas import LoopHealth, LoopReport, RootCauseCount
from kringloop.responses.models import SurveyResponse, category_of


def _median_hours(durations: list[timedelta]) -> float | None:
    """Computed here rather than in SQL: the same on SQLite and PostgreSQL."""
    if not durations:
        return None
    return round(statistics.median(d.total_seconds() for d in durations) / 3600, 1)


def _health(program: str, team: str | None, cases: list[Any], steps: dict[str, set[str]],
            now: datetime, month: Month | None) -> LoopHealth:
    # The callback deadline moves when an escalated case is reassigned, so a callback before
    # the stored deadline counts as within the SLA only if the case never escalated.
    decided = [c for c in cases if c.first_attempt_at or c.escalations
               or (c.callback_due_at and c.callback_due_at <= now)]
    within = sum(1 for c in decided if c.first_attempt_at and c.callback_due_at
                 and c.first_attempt_at <= c.callback_due_at and not c.escalations)
    resolved = [c for c in cases if c.resolved_at]
    answered = [c for c in cases if c.resurvey_score is not None]
    sent = sum(1 for c in cases if c.id in steps["resurvey_sent"] or c.resurvey_score is not None)
    base = [c for c in answered if c.score is not None and category_of(c.score) == "detractor"]
    recovered = sum(1 for c in base if category_of(c.resurvey_score) != "detractor")
    causes = Counter(c.root_cause for c in resolved if c.root_cause)
    return LoopHealth(
        program=program, team=team, cases_opened=len(cases), contacted_within_sla=within,
        sla_decided=len(decided), pct_within_sla=rounded_percent(within, len(decided)),
        median_hours_to_first_contact=_median_hours(
            [c.first_attempt_at - c.opened_at for c in cases if c.first_attempt_at]),
        median_hours_to_resolution=_median_hours([c.resolved_at - c.opened_at for c in resolved]),
        sla_breaches=sum(1 for c in cases if c.escalations),
        waited_on_respondent=sum(1 for c in cases if c.id in steps["paused"]),
        reopened=sum(1 for c in cases if c.id in steps["reopened"]), resolved=len(resolved),
        pct_resolved=rounded_percent(len(resolved), len(cases)), resurveys_sent=sent,
        resurveys_answered=len(answered),
        resurvey_response_rate=rounded_percent(len(answered), sent),
        recovery_base=len(base), recovered=recovered,
        recovery_rate=rounded_percent(recovered, len(base)),
        root_causes=[RootCauseCount(root_cause=cause, cases=count) for cause, count in
                     sorted(causes.items(), key=lambda item: (-item[1], item[0]))],
        month=str(month) if month else None)


def _employee_teams_shown(session: Session, org: Organisation, month: Window) -> set[str]:
    """The teams whose eNPS loop rows may be shown for the month: a row's cases are detractors
    among the team's answers, so it goes where those answers would be hidden."""
    given = first_answers(session=session, org=org, program=EMPLOYEE, window=month,
                          with_team=True)
    sizes = Counter(a.team for a in given if a.team)
    return set(sizes) - hidden_groups(sizes, overall=len(given),
                                      min_size=org.report_min_group_size)


def loop_report(
    *, session: Session, org: Organisation, programs: Collection[str], now: datetime,
    window: Window = ALL_TIME, visible_teams: Collection[str] | None = None,
) -> LoopReport:
    """Per program and team, for the cases opened in the window. eNPS rows only for a calendar
    month (ReportRefused otherwise): the cases of that month's answers, a team's row left out
    when its answers that month are hidden (fewer than k, or hidden to protect another team)."""
    if EMPLOYEE in programs and window.month is None:
        raise ReportRefused("month", ONE_MONTH)
    others = [p for p in programs if p != EMPLOYEE]
    in_period = [and_(col(Case.program).in_(others), *window.conditions(Case.opened_at))
                 ] if others else []
    employee_teams: set[str] = set()
    if EMPLOYEE in programs:
        # By the answer's month rather than the case's: the same answers whose count decides
        # whether the row may be shown.
        month_answers = select(SurveyResponse.id).where(
            SurveyResponse.program == EMPLOYEE, SurveyResponse.source != RESURVEY,
            *window.conditions(month_column(EMPLOYEE)))
        in_period.append(and_(Case.program == EMPLOYEE,
                              col(Case.response_id).in_(month_answers)))
        employee_teams = _employee_teams_shown(session, org, window)
    opened = [or_(*in_period) if in_period else false()]
    if visible_teams is not None:
        opened.append(col(Case.team_id).in_(list(visible_teams)))
    cases = session.exec(select(
        Case.id, Case.program, Case.team_id, Case.score, Case.opened_at, Case.callback_due_at,
        Case.first_attempt_at, Case.escalations, Case.resolved_at, Case.root_cause,
        Case.resurvey_score).where(*opened)).all()
    # The cases that took these steps; sent re-surveys also in the outbox (for cases from
    # before that step was recorded).
    steps: dict[str, set[str]] = defaultdict(set)
    for case_id, kind in session.exec(select(TimelineEntry.case_id, TimelineEntry.kind).join(
            Case, col(Case.id) == col(TimelineEntry.case_id)).where(
            col(TimelineEntry.kind).in_(("resurvey_sent", "paused", "reopened")), *opened)):
        steps[kind].add(case_id)
    steps["resurvey_sent"] |= {case_id for case_id in session.exec(
        select(OutboxMessage.case_id).join(Case, col(Case.id) == col(OutboxMessage.case_id))
        .where(OutboxMessage.kind == RESURVEY, *opened)).all() if case_id}
    grouped: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
    for case in cases:
        if case.program != EMPLOYEE or case.team_id in employee_teams:
            grouped[(case.program, case.team_id)].append(case)
    program_order = {p: index for index, p in enumerate(org.programs)}
    team_order = {t.id: index for index, t in enumerate(org.teams)}
    return LoopReport(rows=[
        _health(program, team, grouped[(program, team)], steps, now, window.month)
        for program, team in sorted(grouped, key=lambda pt: (
            program_order.get(pt[0], len(program_order)), pt[0],
            team_order.get(pt[1] or "", len(team_order)), pt[1] or ""))])
