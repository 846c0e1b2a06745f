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
- Days and ISO weeks are UTC days and weeks.
- Hiding small groups protects a report from being read (or subtracted) on its own; it does not
  stop someone from subtracting two reports over different periods. That is why eNPS, where it
  matters most, is only for admins and the people team.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from kringloop.adoptions import adoptions_of
from kringloop.models import (
    AdoptedCustomer,
    AdoptedReport,
    AdoptedScore,
    AdopterReport,
    Case,
    GroupBy,
    HiddenFigures,
    HiddenGroup,
    LoopHealth,
    LoopReport,
    NpsCounts,
    NpsGroup,
    NpsReport,
    OutboxMessage,
    ReportProgram,
    RootCauseCount,
    SurveyResponse,
    TimelineEntry,
    category_of,
)
from kringloop.org import Organisation
from kringloop.routing import team_for

RESURVEY = "resurvey"  # the source of a re-survey answer
Key = TypeVar("Key", bound=Hashable)


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
    """The groups to hide: each with fewer than `min_size` answers; and when that is exactly one
    group while the overall is shown, also the smallest other group (complementary
    suppression), or the hidden one would be the overall minus the groups shown."""
    if overall < min_size:
        return set(sizes)  # no group is larger than the whole
    hidden = {key for key, n in sizes.items() if n < min_size}
    shown = [key for key in sizes if key not in hidden]
    if len(hidden) == 1 and shown:
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

    def conditions(self, column: Any) -> list[Any]:
        found = [col(column) >= self.since] if self.since else []
        return found + ([col(column) < self.until] if self.until else [])


ALL_TIME = Window()


def week_of(moment: datetime) -> str:
    """The ISO week, e.g. 2026-W48 (sorts as text in time order)."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


# NPS per group ----------------------------------------------------------------------------------

def owning_team(org: Organisation, *, program: str, segment: str | None, language: str | None,
                respondent_id: str | None, adopted: Mapping[str, str]) -> str:
    """The team today's routing rules give a response (the adopter's for an adopted customer;
    `adopted` maps customers to their adopters)."""
    adopter = adopted.get(respondent_id or "") if program == "customer" else None
    return team_for(org, program=program, segment=segment, language=language,
                    adopter_email=adopter).id


def _sort_key(org: Organisation, group_by: GroupBy) -> Any:
    order = {t.id: index for index, t in enumerate(org.teams)}
    if group_by == "team":
        return lambda key: (order.get(key, len(order)), key)
    return lambda key: (key is None, key or "")


def nps_report(
    *, session: Session, org: Organisation, program: ReportProgram, group_by: GroupBy,
    window: Window = ALL_TIME, visible_teams: Collection[str] | None = None,
) -> NpsReport:
    """NPS overall and per group. What to hide is decided on all groups, and only then are
    teams outside `visible_teams` left out: everyone sees the groups hidden that an admin sees,
    so two readers cannot put their views together to uncover a small group."""
    rows = session.exec(
        select(SurveyResponse.score, SurveyResponse.answered_at, SurveyResponse.segment,
               SurveyResponse.language, SurveyResponse.respondent_id, Case.team_id)
        .outerjoin(Case, col(Case.id) == col(SurveyResponse.case_id))
        .where(SurveyResponse.program == program, SurveyResponse.source != RESURVEY,
               *window.conditions(SurveyResponse.answered_at))
    ).all()
    # Only a report by team needs to know who owns an answer without a case.
    adopted = ({a.respondent_id: a.member for a in adoptions_of(session=session, org=org)}
               if group_by == "team" else {})
    scores: dict[str | None, list[int]] = defaultdict(list)
    for score, answered_at, segment, language, respondent_id, team_id in rows:
        if group_by == "week":
            key = week_of(answered_at)
        elif group_by == "segment":
            key = segment
        else:
            key = team_id or owning_team(org, program=program, segment=segment,
                                         language=language, respondent_id=respondent_id,
                                         adopted=adopted)
        scores[key].append(score)
    counts = {key: tally(values) for key, values in scores.items()}
    overall = tally(score for values in scores.values() for score in values)
    k = org.report_min_group_size
    hidden = hidden_groups({key: t.n for key, t in counts.items()}, overall=overall.n,
                           min_size=k)
    groups: list[NpsGroup | HiddenGroup] = [
        HiddenGroup(key=key, hidden=True) if key in hidden
        else NpsGroup(key=key, **_figures(counts[key]).model_dump(exclude={"hidden"}))
        for key in sorted(counts, key=_sort_key(org, group_by))
        if group_by != "team" or visible_teams is None or key in visible_teams]
    return NpsReport(
        program=program, group_by=group_by, min_group_size=k, groups=groups,
        overall=HiddenFigures(hidden=True) if overall.n < k else _figures(overall))


# Loop health ------------------------------------------------------------------------------------

def _median_hours(durations: list[timedelta]) -> float | None:
    """Computed here rather than in SQL: the same on SQLite and PostgreSQL."""
    if not durations:
        return None
    return round(statistics.median(d.total_seconds() for d in durations) / 3600, 1)


def _health(program: str, team: str | None, cases: list[Any], resurveyed: set[str],
            now: datetime) -> LoopHealth:
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
                     sorted(causes.items(), key=lambda item: (-item[1], item[0]))])


def loop_report(
    *, session: Session, org: Organisation, programs: Collection[str], now: datetime,
    window: Window = ALL_TIME, visible_teams: Collection[str] | None = None,
) -> LoopReport:
    """Per program and team, for the cases opened in the window."""
    opened = [col(Case.program).in_(list(programs)), *window.conditions(Case.opened_at)]
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
        grouped[(case.program, case.team_id)].append(case)
    program_order = {p: index for index, p in enumerate(org.programs)}
    team_order = {t.id: index for index, t in enumerate(org.teams)}
    return LoopReport(rows=[
        _health(program, team, grouped[(program, team)], resurveyed, now)
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
