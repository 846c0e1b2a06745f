"""The read model and records: survey responses, cases, their timeline, the email outbox, and
considerate rejections with their timeline and feedback-call requests."""

from __future__ import annotations

import math
import unicodedata
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, StrictInt
from pydantic import Field as ApiField
from sqlalchemy import JSON, Column, DateTime, Index, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

Category = Literal["detractor", "passive", "promoter"]
RESPONSE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"


def utcnow() -> datetime:
    return datetime.now(UTC)


def category_of(score: int) -> Category:
    if score <= 6:
        return "detractor"
    return "passive" if score <= 8 else "promoter"


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and always gives back aware datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UtcDateTime(), **kwargs))


class SurveyResponse(SQLModel, table=True):
    """One answer to an NPS question; the response id is the idempotency key."""

    __tablename__ = "survey_response"

    id: str = Field(primary_key=True, max_length=128)
    program: str = Field(index=True)
    score: int
    category: str
    comment: str | None = None
    respondent_id: str | None = Field(default=None, index=True)
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str
    segment: str | None = None
    answered_at: datetime = _when(nullable=False)
    received_at: datetime = _when(nullable=False)
    source: str = "api"
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    case_id: str | None = Field(default=None, index=True)
    resurvey_of: str | None = Field(default=None, index=True)


class Case(SQLModel, table=True):
    """A low score being worked by a loyalty team until the loop is closed."""

    # The member's queue: their cases by status, due callbacks first.
    __table_args__ = (Index("ix_case_queue", "assignee_email", "status", "callback_due_at"),)

    id: str = Field(primary_key=True, max_length=140)
    response_id: str = Field(index=True)
    program: str
    # The score that opened the case; none when the person asked for a call (a feedback call).
    score: int | None = None
    status: str = Field(default="open", index=True)
    team_id: str | None = Field(default=None, index=True)
    assignee_email: str | None = None
    assignee_name: str | None = None
    assigned_at: datetime | None = _when(nullable=True)
    opened_at: datetime = _when(nullable=False)
    callback_due_at: datetime | None = _when(nullable=True)
    first_attempt_at: datetime | None = _when(nullable=True)
    reached_at: datetime | None = _when(nullable=True)
    attempts: int = 0
    escalations: int = 0
    root_cause: str | None = None
    action_taken: str | None = None
    resolution_message: str | None = None
    resolved_at: datetime | None = _when(nullable=True)
    resurvey_score: int | None = None
    recovered: bool | None = None
    closed_at: datetime | None = _when(nullable=True)


class TimelineEntry(SQLModel, table=True):
    """One step on a case's audit trail: who did what, when."""

    __tablename__ = "timeline_entry"
    __table_args__ = (UniqueConstraint("case_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, foreign_key="case.id")
    key: str = Field(description="the workflow's idempotency key for this step")
    at: datetime = _when(nullable=False)
    actor: str
    kind: str
    detail: str = ""


class OutboxMessage(SQLModel, table=True):
    """Every email Kringloop means to send, recorded before sending so a retry never sends twice."""

    __tablename__ = "outbox_message"

    key: str = Field(primary_key=True, max_length=200)
    case_id: str | None = Field(default=None, index=True)
    kind: str
    recipient: str
    message_id: str
    status: str = "pending"
    tries: int = 0
    error: str | None = None
    created_at: datetime = _when(nullable=False)
    sent_at: datetime | None = _when(nullable=True)


class CustomerAdoption(SQLModel, table=True):
    """A customer a member adopted from a case page (seed 004's "adoptieklant"); their next
    cases go to that member. Adoptions in the organisation file come first."""

    __tablename__ = "customer_adoption"

    respondent_id: str = Field(primary_key=True, max_length=128)
    member_email: str = Field(index=True, max_length=254)
    adopted_at: datetime = _when(nullable=False)


# API shapes -------------------------------------------------------------------------------------

def control_characters_in(text: str, *, allow_newlines: bool = False) -> bool:
    """Whether `text` holds NUL or another control or format character, a lone surrogate, or
    (unless `allow_newlines`: then CR, LF and tab may be there) a line break of any kind."""
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    # Line and paragraph separators (U+2028, U+2029) break a line too: in an email subject
    # they would stop the email from being sent at all.
    refused = ("Cc", "Cf", "Cs") if allow_newlines else ("Cc", "Cf", "Cs", "Zl", "Zp")
    return any(unicodedata.category(ch) in refused and ch not in allowed for ch in text)


def _no_control_characters(value: str | None, *, allow_newlines: bool = False) -> str | None:
    """Refuse CR/LF (header injection) and other control characters in user text."""
    if value is not None and control_characters_in(value, allow_newlines=allow_newlines):
        raise ValueError("must not contain control characters (such as line breaks)")
    return value


PlainText = Annotated[str, AfterValidator(_no_control_characters)]
LongText = Annotated[str, AfterValidator(partial(_no_control_characters, allow_newlines=True))]


# Survey metadata is a few flat facts; hundreds of levels only serve to exhaust the stack.
MAX_META_DEPTH = 16


def _storable_meta(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """Survey metadata as JSON every database keeps: no NaN or Infinity (PostgreSQL's json
    refuses them), no NUL, other control characters or lone surrogates in a key or a value."""

    def unstorable(text: str) -> bool:
        return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\n\r"
                   for ch in text)

    def check(value: Any, where: str, depth: int = 0) -> None:
        if depth > MAX_META_DEPTH:
            raise ValueError(f"meta nests deeper than {MAX_META_DEPTH} levels")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number, not {value}")
        if isinstance(value, str) and unstorable(value):
            raise ValueError(f"{where} must not contain control characters")
        if isinstance(value, dict):
            for key, inner in value.items():
                if unstorable(key):
                    raise ValueError(f"a key in {where} must not contain control characters")
                check(inner, f"{where}.{key}", depth + 1)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                check(inner, f"{where}[{index}]", depth + 1)

    if meta is not None:
        check(meta, "meta")
    return meta


def _in_the_calendar(moment: datetime | None) -> datetime | None:
    """A moment that exists in UTC too (0001-01-01T00:00+14:00 does not)."""
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the calendar once converted to UTC") from None


class StrictShape(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RespondentIn(StrictShape):
    id: PlainText | None = ApiField(default=None, min_length=1, max_length=128)
    name: PlainText | None = ApiField(default=None, min_length=1, max_length=200)
    email: EmailStr | None = ApiField(default=None, max_length=254)
    phone: PlainText | None = ApiField(default=None, pattern=r"^\+?[0-9 ()./-]{6,30}$")
    language: Literal["nl", "en"] | None = None
    segment: PlainText | None = ApiField(default=None, min_length=1, max_length=64)


class ResponseCreate(StrictShape):
    """One survey answer as a survey tool posts it (also one line of a CSV import)."""

    response_id: str = ApiField(pattern=RESPONSE_ID_PATTERN, max_length=128)
    program: Literal["customer", "employee", "candidate"]
    score: StrictInt = ApiField(ge=0, le=10)
    comment: LongText | None = ApiField(default=None, max_length=10_000)
    respondent: RespondentIn | None = None
    answered_at: Annotated[AwareDatetime | None, AfterValidator(_in_the_calendar)] = None
    meta: Annotated[dict[str, Any] | None, AfterValidator(_storable_meta)] = None


class IntakeResult(BaseModel):
    response_id: str
    category: Category
    case_id: str | None
    conversation_url: str | None = ApiField(default=None, exclude_if=lambda url: url is None,
                                            description=(
        "Only for an anonymous employee's low score, and only in the answer that first "
        "received it: the employee's private link to read the team's replies and answer "
        "without revealing who they are. Shown once (e.g. on the survey tool's thank-you "
        "page) and never stored by Kringloop; valid for 180 days. Absent otherwise."))


class AssigneePublic(BaseModel):
    name: str
    email: str


class TimelineEntryPublic(BaseModel):
    at: datetime
    actor: str
    kind: str
    detail: str


class CasePublic(BaseModel):
    case_id: str
    status: str
    program: str
    # What opened the case: a low score, or an applicant asking for a feedback call (no score).
    origin: Literal["score", "feedback_call"] = "score"
    score: int | None
    category: Category | None
    comment: str | None
    respondent: dict[str, str | None]
    team: str | None
    assignee: AssigneePublic | None
    opened_at: datetime
    callback_due_at: datetime | None
    attempts: int
    root_cause: str | None
    resolved_at: datetime | None
    resurvey_score: int | None
    recovered: bool | None
    closed_at: datetime | None
    timeline: list[TimelineEntryPublic]
    # An anonymous employee's case: the team answers through the relay, not by phone.
    relay: bool = False


class CallbackAttemptIn(StrictShape):
    outcome: Literal["reached", "no_answer", "wrong_number"]
    note: LongText = ApiField(default="", max_length=5_000)


class NoteIn(StrictShape):
    text: LongText = ApiField(min_length=1, max_length=5_000)


class RelayMessageIn(NoteIn):
    """A message in an anonymous employee's conversation: the team's reply, or the employee's."""


class AdoptionIn(StrictShape):
    """Adopting the customer behind a case needs nothing more: the case says who they are."""


class ReassignIn(StrictShape):
    member: EmailStr


class ResolveIn(StrictShape):
    root_cause: PlainText = ApiField(min_length=1, max_length=64)
    action_taken: LongText = ApiField(min_length=1, max_length=2_000)
    message: LongText = ApiField(min_length=1, max_length=5_000)


# Sign-in records ---------------------------------------------------------------------------------

class Credential(SQLModel, table=True):
    """A member's password (argon2 hash), for password sign-in next to magic links."""

    email: str = Field(primary_key=True, max_length=254)
    password_hash: str
    updated_at: datetime = _when(nullable=False)


class ApiToken(SQLModel, table=True):
    """A personal token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=16)
    email: str = Field(index=True, max_length=254)
    token_hash: str = Field(unique=True, max_length=64)
    label: str = ""
    created_at: datetime = _when(nullable=False)
    last_used_at: datetime | None = _when(nullable=True)
    revoked_at: datetime | None = _when(nullable=True)


class MagicLink(SQLModel, table=True):
    """A one-time sign-in link: expires, and works once (only its SHA-256 is stored)."""

    __tablename__ = "magic_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(index=True, max_length=254)
    created_at: datetime = _when(nullable=False)
    expires_at: datetime = _when(nullable=False)
    used_at: datetime | None = _when(nullable=True)


class SignInSession(SQLModel, table=True):
    """A browser signed in to the workspace. Its cookie holds only a random secret (whose
    SHA-256 is stored here), so the session ends here: at sign-out, a password change, or when
    the organisation file no longer gives the person the standing they signed in with."""

    __tablename__ = "sign_in_session"

    secret_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(index=True, max_length=254)
    # Role and teams at sign-in (`Principal.standing`): any change ends the session.
    standing: str = Field(max_length=512)
    created_at: datetime = _when(nullable=False)
    expires_at: datetime = _when(nullable=False)
    ended_at: datetime | None = _when(nullable=True)


class HealthProbe(SQLModel, table=True):
    """One row that /health writes: a database that can no longer store anything (a full
    disk, a read-only file system) is reported before intake starts failing."""

    __tablename__ = "health_probe"

    id: int = Field(default=1, primary_key=True)
    checked_at: datetime = _when(nullable=False)


# Workspace shapes --------------------------------------------------------------------------------

ScoreBand = Literal["0-3", "4-6", "7-10"]
QueueStatus = Literal["active", "assigned", "escalated", "resolved", "closed"]


class QueueItem(BaseModel):
    case_id: str
    status: str
    program: str
    score: int | None
    team: str | None
    respondent_name: str | None
    comment: str | None
    callback_due_at: datetime | None
    awaiting_callback: bool
    overdue: bool


class QueuePage(BaseModel):
    items: list[QueueItem]
    total: int
    page: int
    pages: int


class MemberLoad(BaseModel):
    name: str
    email: str
    open: int
    overdue: int


class Recognition(BaseModel):
    name: str
    email: str
    on_time_callbacks: int
    recovered: int


class TeamBoard(BaseModel):
    team: str
    team_name: str
    members: list[MemberLoad]
    due_today: list[QueueItem]
    leaderboard: list[Recognition]
    spotlight: list[Recognition]
    spotlight_recovered: int


# Considerate rejections (the applicant loop; rules in kringloop/rejections.py) -------------------

RejectionStatus = Literal["scheduled", "sending", "sent", "cancelled", "failed"]
ApplicationStage = Literal["screening", "interview", "final"]


class Rejection(SQLModel, table=True):
    """One applicant not chosen for one vacancy, with the reasons they will read."""

    # A vacancy's rejections by status: the recruiter watches a batch go out.
    __table_args__ = (Index("ix_rejection_vacancy", "vacancy_id", "status"),)

    id: str = Field(primary_key=True, max_length=128)
    applicant_id: str = Field(index=True, max_length=64)
    applicant_name: str
    applicant_email: str
    language: str
    vacancy_id: str = Field(max_length=64)
    vacancy_title: str
    stage: str
    reasons: list[dict[str, str]] = Field(default_factory=list,
                                          sa_column=Column(JSON, nullable=False))
    recruiter_email: str
    created_by: str
    requested_send_at: datetime | None = _when(nullable=True)
    status: str = Field(default="scheduled", index=True)
    # Raised when a cancelled or refused rejection is sent again; part of the email's key.
    round: int = 1
    send_at: datetime | None = _when(nullable=True)
    sent_at: datetime | None = _when(nullable=True)
    cancelled_at: datetime | None = _when(nullable=True)
    error: str | None = None
    created_at: datetime = _when(nullable=False)
    # The vacancy's mailing workflow that sends it (`rejection_mailing`); None for a rejection
    # made before mailings existed, which its own RejectionWorkflow sends.
    mailing_id: str | None = Field(default=None, max_length=160)
    # The candidate-NPS survey: when it goes out, and then "sent", "skipped" or "failed".
    survey_at: datetime | None = _when(nullable=True)
    survey_status: str | None = None


class RejectionEvent(SQLModel, table=True):
    """One step on a rejection's timeline: scheduled, cancelled, sent, surveyed, answered."""

    __tablename__ = "rejection_event"
    __table_args__ = (UniqueConstraint("rejection_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    rejection_id: str = Field(index=True, foreign_key="rejection.id")
    key: str = Field(description="the step's idempotency key")
    at: datetime = _when(nullable=False)
    actor: str
    kind: str
    detail: str = ""


class FeedbackCallRequest(SQLModel, table=True):
    """An applicant asked for a short call about their rejection: what opens their case.

    It is not a survey response (there is no score), but it answers the same questions a case
    asks of its origin: who the person is, how to reach them, what they want to talk about.
    """

    __tablename__ = "feedback_call_request"

    id: str = Field(primary_key=True, max_length=128)
    rejection_id: str = Field(foreign_key="rejection.id", unique=True, max_length=128)
    respondent_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str
    comment: str | None = None
    vacancy_title: str
    recruiter_email: str
    requested_at: datetime = _when(nullable=False)
    case_id: str | None = None

    @property
    def segment(self) -> str | None:
        return None

    @property
    def meta(self) -> dict[str, Any]:
        return {}


# What a case was opened from: a survey response, or a request for a feedback call.
CaseOrigin = SurveyResponse | FeedbackCallRequest


class ApplicantIn(StrictShape):
    id: PlainText = ApiField(min_length=1, max_length=64)
    name: PlainText = ApiField(min_length=1, max_length=200)
    email: EmailStr = ApiField(max_length=254)
    language: Literal["nl", "en"]


class VacancyIn(StrictShape):
    id: PlainText = ApiField(min_length=1, max_length=64)
    title: PlainText = ApiField(min_length=1, max_length=200)


class ReasonIn(StrictShape):
    """A reason code from the candidate program, and the sentence the applicant will read."""

    code: PlainText = ApiField(max_length=64)
    sentence: LongText = ApiField(max_length=600)


class RejectionCreate(StrictShape):
    """One rejection as a recruiter (or their applicant tracking system) posts it.

    How many reasons, and whether they say something, is checked with the organisation's rules
    (`kringloop.rejections.rejection_refusal`) for a message a recruiter can act on.
    """

    applicant: ApplicantIn
    vacancy: VacancyIn
    stage: ApplicationStage
    reasons: list[ReasonIn] = ApiField(default_factory=list, max_length=20)
    recruiter: EmailStr | None = None
    send_at: Annotated[AwareDatetime | None, AfterValidator(_in_the_calendar)] = None


class RejectionBatch(StrictShape):
    """Many rejections for one vacancy. Items are checked one by one, so one bad line never
    holds back the others; an item may leave out `vacancy` when `vacancy_title` is given."""

    vacancy_title: PlainText | None = ApiField(default=None, min_length=1, max_length=200)
    items: list[dict[str, Any]] = ApiField(min_length=1, max_length=1000)


class RejectionReceipt(BaseModel):
    rejection_id: str
    status: RejectionStatus
    send_at: datetime | None


class BatchItemResult(BaseModel):
    index: int
    applicant_id: str | None
    accepted: bool
    rejection_id: str | None = None
    status: RejectionStatus | None = None
    send_at: datetime | None = None
    message: str | None = None
    field: str | None = None


class BatchResult(BaseModel):
    vacancy_id: str
    accepted: int
    refused: int
    results: list[BatchItemResult]


class ReasonOut(BaseModel):
    code: str
    sentence: str


class RejectionPublic(BaseModel):
    rejection_id: str
    status: RejectionStatus
    applicant: dict[str, str]
    vacancy: dict[str, str]
    stage: ApplicationStage
    reasons: list[ReasonOut]
    recruiter: AssigneePublic
    send_at: datetime | None
    sent_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    # Cases this rejection led to: a feedback call, a low candidate-NPS score.
    case_ids: list[str]
    timeline: list[TimelineEntryPublic]


# Reports (queries and arithmetic in kringloop/reports.py) ---------------------------------------

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
