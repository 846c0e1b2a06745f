"""NPS per team, segment or week with small groups hidden: the arithmetic, the suppression and
the first answers it counts (the package's docstring says what a reader of the figures should
know)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from kringloop.cases.adoptions import adoptions_of
from kringloop.cases.models import Case
from kringloop.org.organisation import Organisation
from kringloop.org.routing import team_for
from kringloop.reports.periods import ALL_TIME, EMPLOYEE, Window, check_employee_rules, week_of
from kringloop.reports.schemas import (
    GroupBy,
    HiddenFigures,
    HiddenGroup,
    NpsCounts,
    NpsGroup,
    NpsReport,
    ReportProgram,
)
from kringloop.responses.models import SurveyResponse, category_of

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
    check_employee_rules(program, group_by, window)
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
