"""The case API's and the workspace's shapes."""

from __future__ import annotations

from datetime import datetime
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
