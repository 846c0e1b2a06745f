"""The reports' shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from kringloop.responses.models import Category

ReportProgram = Literal["customer", "employee", "candidate"]


GroupBy = Literal["team", "segment", "week"]


class NpsCounts(BaseModel):
    """Answers in one group (or overall): NPS = % promoters - % detractors, a whole number."""

    hidden: Literal[False] = False
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: int | None


class NpsGroup(NpsCounts):
    # A team id, a segment (None: the survey tool sent none) or an ISO week ("2026-W48").
    key: str | None


class HiddenFigures(BaseModel):
    """Fewer answers than the organisation's minimum group size: no counts at all."""

    hidden: Literal[True]


class HiddenGroup(HiddenFigures):
    key: str | None


class NpsReport(BaseModel):
    program: ReportProgram
    group_by: GroupBy
    min_group_size: int
    overall: NpsCounts | HiddenFigures
    groups: list[NpsGroup | HiddenGroup]
    # Whose answers every figure (the overall too) covers: the reader's own teams, or None for
    # the whole organisation (admins).
    scope: list[str] | None = None
    # The calendar month (YYYY-MM, UTC) the report covers, when it is one; eNPS always is.
    month: str | None = None


class RootCauseCount(BaseModel):
    root_cause: str
    cases: int


class LoopHealth(BaseModel):
    """How well one team closes the loop in one program: team figures, never per person."""

    program: str
    team: str | None
    cases_opened: int
    # Callback made before the original deadline and the case never escalated.
    contacted_within_sla: int
    # Cases whose SLA is decided: called back, escalated, or past the deadline.
    sla_decided: int
    pct_within_sla: int | None
    median_hours_to_first_contact: float | None
    median_hours_to_resolution: float | None
    sla_breaches: int
    # Cases that waited on the respondent (their clock stopped), and cases a still-low
    # re-survey reopened.
    waited_on_respondent: int = 0
    reopened: int = 0
    resolved: int
    pct_resolved: int | None
    resurveys_sent: int
    resurveys_answered: int
    resurvey_response_rate: int | None
    # Detractor cases with a re-survey answer, and how many of them now score 7 or more.
    recovery_base: int
    recovered: int
    recovery_rate: int | None
    root_causes: list[RootCauseCount]
    # The calendar month (YYYY-MM, UTC) the row covers, when it is one; employee rows always are.
    month: str | None = None


class LoopReport(BaseModel):
    rows: list[LoopHealth]


class AdoptedScore(BaseModel):
    answered_at: datetime
    score: int
    category: Category


class AdoptedCustomer(BaseModel):
    respondent_id: str
    name: str | None
    scores: list[AdoptedScore]
    latest: int | None
    # Latest score minus the first in the period: how the relationship is going.
    change: int | None


class AdopterReport(BaseModel):
    name: str
    email: str
    team: str
    customers: list[AdoptedCustomer]
    # Each customer counted once, by their latest score in the period.
    promoters_now: int
    passives_now: int
    detractors_now: int


class AdoptedReport(BaseModel):
    adopters: list[AdopterReport]
