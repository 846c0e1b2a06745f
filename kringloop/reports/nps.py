"""Reports that close the loop: NPS per team, segment or week with small groups hidden, each
team's loop health, and how adopted customers score (queries and arithmetic, no web).

Decisions a reader of the figures should know:
- Only first answers count toward NPS. A re-survey answer (`source == "resurvey"`) is asked at a
  different moment, of detractors only, after we called them: counting it would flatter the
  score. Re-surveys are used for recovery in the loop health.
- NPS and percentages are whole numbers from the exact counts, halves away from zero
  (+12.5 becomes +13, -12.5 becomes -13). NPS is not "rounded % promoters - rounded %
  detractors", which can be one off.
- A response belongs to the team that owns it: the team its case went to, and for a response
  without a case (most are promoters and passives) the team today's routing rules would give it
  (an adopted customer to the adopter's team). So a team's NPS covers everyone it is there for,
  not only the people it called.
- Days, ISO weeks and calendar months are UTC days, weeks and months.
- A group with fewer answers than the organisation's minimum (k) is hidden, and so are more
  groups, smallest first, until the hidden ones together have at least k answers: the overall
  minus the groups shown is what the hidden ones add up to.
- Every figure is over the answers its reader may see: a member's (their teams' answers, in
  every grouping, the overall and the trend), an admin's (all). Two members of different teams
  see disjoint answers, so neither view can be subtracted from the other. What a report by team
  hides is decided on all teams, as an admin sees it, and a member's overall (in any grouping)
  is hidden, with all its groups, when their team is hidden there: otherwise a team hidden only
  to protect a smaller one (complementary suppression) would be the member's overall, and the
  admin's total minus the teams shown minus it would be the small team. An admin's figure for a
  segment or week minus one team's figure for it is the other teams' share, which may be under
  k: that needs an admin's view, who reads every team's figures, and is accepted.
- eNPS (program "employee") cannot be subtracted at all: a report covers exactly one calendar
  month, never a range of days ((11-12 March) - (11 March) would be one colleague), each month is
  hidden on its own, and it is grouped by department (segment) only, since a second way of
  splitting the same month could single out a department hidden for being small. Its loop rows
  are the cases of that month's answers, left out for a team whose answers are hidden.
  Only a month that has ended is shown: one still in progress grows as answers come in, and
  what it showed yesterday and shows today would differ by the few answers in between. The
  figures of a finished month no longer change.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar, get_args

from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from kringloop.cases.adoptions import adoptions_of
from kringloop.cases.models import Case, TimelineEntry
from kringloop.mail.models import OutboxMessage
from kringloop.org.organisation import Organisation
from kringloop.org.routing import team_for
from kringloop.reports.schemas import (
    AdoptedCustomer,
    AdoptedReport,
    AdoptedScore,
    AdopterReport,
    GroupBy,
    HiddenFigures,
    HiddenGroup,
    LoopHealth,
    LoopReport,
    NpsCounts,
    NpsGroup,
    NpsReport,
    ReportProgram,
    RootCauseCount,
)
from kringloop.responses.models import SurveyResponse, category_of

RESURVEY = "resurvey"  # the source of a re-survey answer
EMPLOYEE = "employee"  # the eNPS program: one month, one grouping
Key = TypeVar("Key", bound=Hashable)

ONE_MONTH = ("an eNPS report covers one whole calendar month (give the month as YYYY-MM), never a "
             "range of days: two reports over overlapping days could be subtracted to single out "
             "a colleague")
FINISHED_MONTH = ("an eNPS month is read once it has ended: until then it grows as answers "
                  "come in, and comparing it from one day to the next would show who answered")
ONE_GROUPING = ("eNPS is grouped by department (segment) only: splitting the same month a second "
                "way, by team or by week, could single out a colleague in a department that is "
                "hidden for being small")


class ReportRefused(ValueError):
    """A report that could single someone out (or makes no sense), refused before any figure is
    read; `field` names what was asked for, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @property
    def message(self) -> str:
        return f"{self.field}: {self.reason}"


# NPS arithmetic ---------------------------------------------------------------------------------

def rounded_percent(part: int, whole: int) -> int | None:
    """100 x part / whole as a whole number, halves away from zero; None when whole is 0.
    In integers, so no float turns 12.5 into 12.4999."""
    if whole <= 0:
        return None
    magnitude = (200 * abs(part) + whole) // (2 * whole)
    return magnitude if part >= 0 else -magnitude


@dataclass(frozen=True)
class Tally:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> int | None:
        """% promoters - % detractors, from -100 to +100; None without answers."""
        return rounded_percent(self.promoters - self.detractors, self.n)


def tally(scores: Iterable[int]) -> Tally:
    counts = Counter(category_of(score) for score in scores)
    return Tally(counts["promoter"], counts["passive"], counts["detractor"])


def hidden_groups(sizes: Mapping[Key, int], *, overall: int, min_size: int) -> set[Key]:
    """The groups to hide: each with fewer than `min_size` answers; and when those together have
    fewer than `min_size`, also the smallest group shown (ties by key), because the overall minus
    the groups shown is what the hidden ones add up to (complementary suppression). Every shown
    group has at least `min_size` answers, so one more is always enough."""
    if overall < min_size:
        return set(sizes)  # no group is larger than the whole
    hidden = {key for key, n in sizes.items() if n < min_size}
    shown = [key for key in sizes if key not in hidden]
    if hidden and shown and sum(sizes[key] for key in hidden) < min_size:
        hidden.add(min(shown, key=lambda key: (sizes[key], str(key))))
    return hidden


def _figures(counts: Tally) -> NpsCounts:
    return NpsCounts(n=counts.n, promoters=counts.promoters, passives=counts.passives,
                     detractors=counts.detractors, nps=counts.nps)


# The period -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """From `since` (inclusive) to `until` (exclusive); either may be open."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def of_days(cls, first: date | None, last: date | None) -> Window:
        """The whole UTC days from `first` up to and including `last`."""
        return cls(datetime.combine(first, time(0), UTC) if first else None,
                   datetime.combine(last + timedelta(days=1), time(0), UTC) if last else None)

    @property
    def month(self) -> Month | None:
        """The calendar month this window is exactly, if it is one."""
        if self.since is None:
            return None
        month = Month.of(self.since.astimezone(UTC).date())
        return month if month.window == self else None

    def conditions(self, column: Any) -> list[Any]:
        found = [col(column) >= self.since] if self.since else []
        return found + ([col(column) < self.until] if self.until else [])


ALL_TIME = Window()


@dataclass(frozen=True, order=True)
class Month:
    """One calendar month of UTC days, e.g. 2026-11: the only period an eNPS report covers."""

    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """A month written as YYYY-MM; ValueError for anything else."""
        found = re.fullmatch(r"(\d{4})-(\d{2})", text.strip(), re.ASCII)
        if not found or not 1 <= int(found[2]) <= 12 or not 1 <= int(found[1]) <= 9998:
            raise ValueError(f"{text} is not a month")
        return cls(int(found[1]), int(found[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.number - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.number, 1)

    @property
    def window(self) -> Window:
        return Window(datetime.combine(self.first_day, time(0), UTC),
                      datetime.combine(self.plus(1).first_day, time(0), UTC))


def week_of(moment: datetime) -> str:
    """The ISO week, e.g. 2026-W48 (sorts as text in time order)."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


# What a reader may ask for ----------------------------------------------------------------------

def groupings_for(program: str) -> tuple[GroupBy, ...]:
    """The groupings a program's NPS offers: eNPS one (by department), the others all."""
    return ("segment",) if program == EMPLOYEE else get_args(GroupBy)


def report_grouping(*, program: str, group_by: str | None) -> GroupBy:
    """The grouping asked for, or the program's first (by team; eNPS by department)."""
    offered = groupings_for(program)
    if group_by is None:
        return offered[0]
    if group_by not in offered:
        raise ReportRefused("group_by", ONE_GROUPING if program == EMPLOYEE
                            else f"{group_by} is not one of {', '.join(offered)}")
    return group_by  # type: ignore[return-value]  # one of `offered`


def report_period(*, program: str, today: date, first: date | None = None,
                  last: date | None = None, month: str | None = None) -> Window:
    """The period a report covers, from what its reader asked: eNPS exactly one calendar month
    that has ended (`month`, else the last one), never a range of days; the other programs the
    days from `first` to `last` (either may be open) or a `month`."""
    chosen = None
    if month:
        try:
            chosen = Month.parse(month)
        except ValueError:
            raise ReportRefused("month", f"{month} is not a month; give one as YYYY-MM, "
                                         "e.g. 2026-11") from None
    if program == EMPLOYEE:
        for field, given in (("from", first), ("to", last)):
            if given is not None:
                raise ReportRefused(field, ONE_MONTH)
        newest = last_finished_month(today)
        if chosen and chosen > newest:
            raise ReportRefused("month", f"{chosen} has not ended yet; {FINISHED_MONTH}")
        return (chosen or newest).window
    if chosen and (first or last):
        raise ReportRefused("month", "give either a month or from/to, not both")
    if chosen:
        return chosen.window
    if first and last and first > last:
        raise ReportRefused("from", "must not be after to")
    return Window.of_days(first, last)


def last_finished_month(today: date) -> Month:
    """The newest month an eNPS report may cover: the one before today's."""
    return Month.of(today).plus(-1)


def _employee_rules(program: str, group_by: GroupBy, window: Window) -> None:
    """Every eNPS figure passes here, however it was asked for (API, page, CSV, terminal)."""
    if program != EMPLOYEE:
        return
    if group_by != "segment":
        raise ReportRefused("group_by", ONE_GROUPING)
    if window.month is None:
        raise ReportRefused("month", ONE_MONTH)
    if window.month > last_finished_month(datetime.now(UTC).date()):
        raise ReportRefused("month", f"{window.month} has not ended yet; {FINISHED_MONTH}")


# NPS per group ----------------------------------------------------------------------------------

def owning_team(org: Organisation, *, program: str, segment: str | None, language: str | None,
                respondent_id: str | None, adopted: Mapping[str, str]) -> str:
    """The team today's routing rules give a response (the adopter's for an adopted customer;
    `adopted` maps customers to their adopters)."""
    adopter = adopted.get(respondent_id or "") if program == "customer" else None
    return team_for(org, program=program, segment=segment, language=language,
                    adopter_email=adopter).id


@dataclass(frozen=True)
class Answer:
    """A first answer as reports count it; `team` is its owning team, when asked for."""

    score: int
    answered_at: datetime
    segment: str | None
    team: str | None


def month_column(program: str) -> Any:
    """Which moment puts an answer in a period: when it was given; for eNPS when Kringloop
    received it, so that a month, once ended, never changes (an answer sent in late, dated in
    a finished month, would otherwise show as the difference between two readings)."""
    return SurveyResponse.received_at if program == EMPLOYEE else SurveyResponse.answered_at


def first_answers(*, session: Session, org: Organisation, program: str, window: Window,
                  with_team: bool) -> list[Answer]:
    """The program's first answers in the window (no re-surveys), with their owning teams if
    `with_team` (that takes routing every answer without a case)."""
    rows = session.exec(
        select(SurveyResponse.score, month_column(program), SurveyResponse.segment,
               SurveyResponse.language, SurveyResponse.respondent_id, Case.team_id)
        .outerjoin(Case, col(Case.id) == col(SurveyResponse.case_id))
        .where(SurveyResponse.program == program, SurveyResponse.source != RESURVEY,
               *window.conditions(month_column(program)))
    ).all()
    adopted = ({a.respondent_id: a.member for a in adoptions_of(session=session, org=org)}
               if with_team and program == "customer" else {})
    return [Answer(score=score, answered_at=answered_at, segment=segment, team=(
        team_id or owning_team(org, program=program, segment=segment, language=language,
                               respondent_id=respondent_id, adopted=adopted))
        if with_team else None)
        for score, answered_at, segment, language, respondent_id, team_id in rows]


def _sort_key(org: Organisation, group_by: GroupBy) -> Any:
    order = {t.id: index for index, t in enumerate(org.teams)}
    if group_by == "team":
        return lambda key: (order.get(key, len(order)), key)
    return lambda key: (key is None, key or "")


def _group_of(answer: Answer, group_by: GroupBy) -> str | None:
    if group_by == "week":
        return week_of(answer.answered_at)
    return answer.segment if group_by == "segment" else answer.team


def nps_report(
    *, session: Session, org: Organisation, program: ReportProgram, group_by: GroupBy,
    window: Window = ALL_TIME, visible_teams: Collection[str] | None = None,
) -> NpsReport:
    """NPS overall and per group, over the answers of `visible_teams` (None: all), with what to
    hide decided on those answers. A reader's team hidden in the report by team (decided on all
    teams, as an admin sees it) hides the reader's overall and every group with it. eNPS only
    for one calendar month, by department (ReportRefused otherwise)."""
    _employee_rules(program, group_by, window)
    scoped = visible_teams is not None
    given = first_answers(session=session, org=org, program=program, window=window,
                          with_team=group_by == "team" or scoped)
    k = org.report_min_group_size
    # What the report by team hides, decided on all teams as an admin sees it.
    hidden_teams = hidden_groups(Counter(a.team for a in given), overall=len(given),
                                 min_size=k) if scoped else set()
    mine = [a for a in given if visible_teams is None or a.team in visible_teams]
    scores: dict[str | None, list[int]] = defaultdict(list)
    for answer in mine:
        scores[_group_of(answer, group_by)].append(answer.score)
    counts = {key: tally(values) for key, values in scores.items()}
    overall = tally(answer.score for answer in mine)
    # Shown, the reader's overall would be their hidden team's figure, in any grouping.
    team_hidden = any(answer.team in hidden_teams for answer in mine)
    hidden: set[str | None] = set(counts) if team_hidden else hidden_groups(
        {key: t.n for key, t in counts.items()}, overall=overall.n, min_size=k)
    groups: list[NpsGroup | HiddenGroup] = [
        HiddenGroup(key=key, hidden=True) if key in hidden
        else NpsGroup(key=key, **_figures(counts[key]).model_dump(exclude={"hidden"}))
        for key in sorted(counts, key=_sort_key(org, group_by))]
    return NpsReport(
        program=program, group_by=group_by, min_group_size=k, groups=groups,
        overall=HiddenFigures(hidden=True) if overall.n < k or team_hidden
        else _figures(overall),
        scope=sorted(visible_teams, key=_sort_key(org, "team")) if scoped else None,
        month=str(window.month) if window.month else None)


# Loop health ------------------------------------------------------------------------------------

def _median_hours(durations: list[timedelta]) -> float | None:
    """Computed here rather than in SQL: the same on SQLite and PostgreSQL."""
    if not durations:
        return None
    return round(statistics.median(d.total_seconds() for d in durations) / 3600, 1)


def _health(program: str, team: str | None, cases: list[Any], resurveyed: set[str],
            now: datetime, month: Month | None) -> LoopHealth:
    # The callback deadline moves when an escalated case is reassigned, so a callback before
    # the stored deadline counts as within the SLA only if the case never escalated.
    decided = [c for c in cases if c.first_attempt_at or c.escalations
               or (c.callback_due_at and c.callback_due_at <= now)]
    within = sum(1 for c in decided if c.first_attempt_at and c.callback_due_at
                 and c.first_attempt_at <= c.callback_due_at and not c.escalations)
    resolved = [c for c in cases if c.resolved_at]
    answered = [c for c in cases if c.resurvey_score is not None]
    sent = sum(1 for c in cases if c.id in resurveyed or c.resurvey_score is not None)
    base = [c for c in answered if c.score is not None and category_of(c.score) == "detractor"]
    recovered = sum(1 for c in base if category_of(c.resurvey_score) != "detractor")
    causes = Counter(c.root_cause for c in resolved if c.root_cause)
    return LoopHealth(
        program=program, team=team, cases_opened=len(cases), contacted_within_sla=within,
        sla_decided=len(decided), pct_within_sla=rounded_percent(within, len(decided)),
        median_hours_to_first_contact=_median_hours(
            [c.first_attempt_at - c.opened_at for c in cases if c.first_attempt_at]),
        median_hours_to_resolution=_median_hours([c.resolved_at - c.opened_at for c in resolved]),
        sla_breaches=sum(1 for c in cases if c.escalations), resolved=len(resolved),
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
    # Sent re-surveys: on the timeline, or (cases from before that step was recorded) in the
    # outbox.
    resurveyed = set(session.exec(select(TimelineEntry.case_id).join(
        Case, col(Case.id) == col(TimelineEntry.case_id)).where(
        TimelineEntry.kind == "resurvey_sent", *opened)).all())
    resurveyed |= {case_id for case_id in session.exec(select(OutboxMessage.case_id).join(
        Case, col(Case.id) == col(OutboxMessage.case_id)).where(
        OutboxMessage.kind == RESURVEY, *opened)).all() if case_id}
    grouped: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
    for case in cases:
        if case.program != EMPLOYEE or case.team_id in employee_teams:
            grouped[(case.program, case.team_id)].append(case)
    program_order = {p: index for index, p in enumerate(org.programs)}
    team_order = {t.id: index for index, t in enumerate(org.teams)}
    return LoopReport(rows=[
        _health(program, team, grouped[(program, team)], resurveyed, now, window.month)
        for program, team in sorted(grouped, key=lambda pt: (
            program_order.get(pt[0], len(program_order)), pt[0],
            team_order.get(pt[1] or "", len(team_order)), pt[1] or ""))])


# Adopted customers ------------------------------------------------------------------------------

def adopted_report(
    *, session: Session, org: Organisation, window: Window = ALL_TIME,
    adopters: Collection[str] | None = None,
) -> AdoptedReport:
    """Per adopter, how each of their adopted customers scored in the window, oldest first.
    Not hidden below the minimum group size: these customers are known by name to the colleague
    who adopted them; they are not anonymous answers. Adopted in the organisation file or from a
    case page alike."""
    adoptions = [a for a in adoptions_of(session=session, org=org)
                 if adopters is None or a.member in adopters]
    rows = session.exec(
        select(SurveyResponse.respondent_id, SurveyResponse.name, SurveyResponse.score,
               SurveyResponse.answered_at)
        .where(col(SurveyResponse.respondent_id).in_([a.respondent_id for a in adoptions]),
               SurveyResponse.program == "customer", SurveyResponse.source != RESURVEY,
               *window.conditions(SurveyResponse.answered_at))
        .order_by(col(SurveyResponse.answered_at))).all() if adoptions else []
    names: dict[str, str] = {}
    history: dict[str, list[AdoptedScore]] = defaultdict(list)
    for respondent_id, name, score, answered_at in rows:
        names[respondent_id] = name or names.get(respondent_id, "")
        history[respondent_id].append(AdoptedScore(answered_at=answered_at, score=score,
                                                   category=category_of(score)))
    by_member: dict[str, list[AdoptedCustomer]] = defaultdict(list)
    for adoption in adoptions:
        scores = history.get(adoption.respondent_id, [])
        by_member[adoption.member].append(AdoptedCustomer(
            respondent_id=adoption.respondent_id, name=names.get(adoption.respondent_id) or None,
            scores=scores, latest=scores[-1].score if scores else None,
            change=scores[-1].score - scores[0].score if len(scores) > 1 else None))
    reports = []
    for email, customers in by_member.items():
        now = Counter(category_of(c.latest) for c in customers if c.latest is not None)
        reports.append(AdopterReport(
            name=org.member(email).name, email=email, team=org.team_of(email).id,
            customers=customers, promoters_now=now["promoter"], passives_now=now["passive"],
            detractors_now=now["detractor"]))
    return AdoptedReport(adopters=sorted(reports, key=lambda r: (r.name, r.email)))


# The same figures as rows: for CSV files and the terminal ---------------------------------------

NPS_COLUMNS = ("row", "key", "hidden", "n", "promoters", "passives", "detractors", "nps")
LOOP_COLUMNS = tuple(LoopHealth.model_fields)


def nps_rows(report: NpsReport) -> list[list[Any]]:
    """One row for the overall, then one per group; a hidden one has no counts."""
    def row(kind: str, key: str | None, figures: Any) -> list[Any]:
        values = figures.model_dump()
        return [kind, key, values["hidden"], *(values.get(c) for c in NPS_COLUMNS[3:])]
    return [row("overall", None, report.overall),
            *(row("group", group.key, group) for group in report.groups)]


def loop_rows(report: LoopReport) -> list[list[Any]]:
    """One row per program and team; root causes as "cause=count; ..." in Pareto order."""
    def cell(health: LoopHealth, column: str) -> Any:
        if column == "root_causes":
            return "; ".join(f"{rc.root_cause}={rc.cases}" for rc in health.root_causes)
        return getattr(health, column)
    return [[cell(health, column) for column in LOOP_COLUMNS] for health in report.rows]
