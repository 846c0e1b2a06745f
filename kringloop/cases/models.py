"""A case, its timeline, what opened it (an answer or a feedback-call request) and adopted
customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from kringloop.database import moment_column
from kringloop.responses.models import SurveyResponse


class Case(SQLModel, table=True):
    """A low score being worked by a loyalty team until the loop is closed."""

    # The member's queue: their cases by status, due callbacks first. With the rest of the
    # queue's order and its filters in it, a page's ids come from the index alone.
    __table_args__ = (Index("ix_case_queue", "assignee_email", "status", "callback_due_at",
                            "first_attempt_at", "id", "program", "score"),)

    id: str = Field(primary_key=True, max_length=140)
    response_id: str = Field(index=True)
    program: str
    # The score that opened the case; none when the person asked for a call (a feedback call).
    score: int | None = None
    status: str = Field(default="open", index=True)
    team_id: str | None = Field(default=None, index=True)
    assignee_email: str | None = None
    assignee_name: str | None = None
    assigned_at: datetime | None = moment_column(nullable=True)
    opened_at: datetime = moment_column(nullable=False)
    callback_due_at: datetime | None = moment_column(nullable=True)
    first_attempt_at: datetime | None = moment_column(nullable=True)
    reached_at: datetime | None = moment_column(nullable=True)
    attempts: int = 0
    escalations: int = 0
    root_cause: str | None = None
    action_taken: str | None = None
    resolution_message: str | None = None
    resolved_at: datetime | None = moment_column(nullable=True)
    resurvey_score: int | None = None
    recovered: bool | None = None
    closed_at: datetime | None = moment_column(nullable=True)


class TimelineEntry(SQLModel, table=True):
    """One step on a case's audit trail: who did what, when."""

    __tablename__ = "timeline_entry"
    __table_args__ = (UniqueConstraint("case_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, foreign_key="case.id")
    key: str = Field(description="the workflow's idempotency key for this step")
    at: datetime = moment_column(nullable=False)
    actor: str
    kind: str
    detail: str = ""


class CaseMessage(SQLModel, table=True):
    """An email between the respondent and the case: their reply, an out-of-office, a bounce,
    or the member's answer from the case page. The text is theirs: shown escaped, erased with
    the case."""

    __tablename__ = "case_message"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(index=True, foreign_key="case.id")
    direction: str = Field(description="in (from the respondent) or out (our answer)")
    kind: str = Field(description="reply, auto_reply, bounce or answer")
    # The email's own Message-ID: the same email delivered twice is one message.
    message_id: str = Field(unique=True, max_length=998)
    sender: str | None = Field(default=None, max_length=254)
    subject: str = ""
    text: str = ""
    html: str | None = None  # sanitised
    attachments: list[dict[str, Any]] = Field(default_factory=list,
                                              sa_column=Column(JSON, nullable=False))
    bounced_address: str | None = Field(default=None, max_length=254)
    author_email: str | None = Field(default=None, description="who answered (direction out)")
    at: datetime = moment_column(nullable=False)


class CustomerAdoption(SQLModel, table=True):
    """A customer a member adopted from a case page (seed 004's "adoptieklant"); their next
    cases go to that member. Adoptions in the organisation file come first."""

    __tablename__ = "customer_adoption"

    respondent_id: str = Field(primary_key=True, max_length=128)
    member_email: str = Field(index=True, max_length=254)
    adopted_at: datetime = moment_column(nullable=False)


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
    requested_at: datetime = moment_column(nullable=False)
    case_id: str | None = None

    @property
    def segment(self) -> str | None:
        return None

    @property
    def meta(self) -> dict[str, Any]:
        return {}


# What a case was opened from: a survey response, or a request for a feedback call.
CaseOrigin = SurveyResponse | FeedbackCallRequest
