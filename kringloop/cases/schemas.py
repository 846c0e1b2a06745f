"""The case API's and the workspace's shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, EmailStr
from pydantic import Field as ApiField

from kringloop.responses.models import Category
from kringloop.shapes import LongText, PlainText, StrictShape


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
    # Where the answer came in: "api", "import", or a survey tool's source (then `tool` is set).
    source: str | None = None
    tool: str | None = None
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


class AnswerIn(StrictShape):
    """An answer to the respondent's email: it goes out as an email in the same thread."""

    text: LongText = ApiField(min_length=1, max_length=10_000)


class PauseIn(StrictShape):
    """Waiting on the respondent: what they were asked for (information, a time to call)."""

    reason: LongText = ApiField(min_length=1, max_length=500)


class ResumeIn(StrictShape):
    """The clock runs again (the respondent answered, or the member stops waiting)."""


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


ScoreBand = Literal["0-3", "4-6", "7-10"]


QueueStatus = Literal["active", "assigned", "escalated", "waiting", "resolved", "closed"]


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


# A team's open cases, as its lead works them (and its members today's callbacks) ----------------

# The open statuses (queries.ACTIVE_STATUSES), as the list filters on them.
TeamCaseStatus = Literal["open", "assigned", "escalated", "waiting"]


class TeamCaseItem(BaseModel):
    """One open case of the team: no respondent, only what the work needs."""

    case_id: str
    program: str
    score: int | None
    status: str
    assignee: AssigneePublic | None
    callback_due_at: datetime | None
    awaiting_callback: bool
    overdue: bool
    attempts: int


class TeamMember(BaseModel):
    """A colleague as a reassignment shows them: their open cases, and until when they are
    away (if they are)."""

    name: str
    email: str
    open: int
    absent_until: date | None


class TeamCaseList(BaseModel):
    team: str
    team_name: str
    items: list[TeamCaseItem]
    members: list[TeamMember]


class TeamReassignIn(StrictShape):
    """Every open case of one member to a colleague (someone ill, or leaving)."""

    from_member: EmailStr
    to_member: EmailStr


class RefusedCase(BaseModel):
    case_id: str
    message: str


class ReassignmentOutcome(BaseModel):
    """Which cases moved, and which stayed with the reason the case gave."""

    moved: list[str]
    refused: list[RefusedCase]


class AbsenceIn(StrictShape):
    """The last day the member is away, in the team's time zone."""

    until: date


class AbsencePublic(BaseModel):
    """A member's absence, and the callbacks due meanwhile that went to colleagues."""

    member: str
    until: date
    set_by: str
    set_at: datetime
    handed_over: ReassignmentOutcome
