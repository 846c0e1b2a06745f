"""A rejection and its timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from kringloop.database import moment_column

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
    requested_send_at: datetime | None = moment_column(nullable=True)
    status: str = Field(default="scheduled", index=True)
    # Raised when a cancelled or refused rejection is sent again; part of the email's key.
    round: int = 1
    send_at: datetime | None = moment_column(nullable=True)
    sent_at: datetime | None = moment_column(nullable=True)
    cancelled_at: datetime | None = moment_column(nullable=True)
    error: str | None = None
    created_at: datetime = moment_column(nullable=False)
    # The vacancy's mailing workflow that sends it (`rejection_mailing`); None for a rejection
    # made before mailings existed, which its own RejectionWorkflow sends.
    mailing_id: str | None = Field(default=None, max_length=160)
    # The candidate-NPS survey: when it goes out, and then "sent", "skipped" or "failed".
    survey_at: datetime | None = moment_column(nullable=True)
    survey_status: str | None = None


class RejectionEvent(SQLModel, table=True):
    """One step on a rejection's timeline: scheduled, cancelled, sent, surveyed, answered."""

    __tablename__ = "rejection_event"
    __table_args__ = (UniqueConstraint("rejection_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    rejection_id: str = Field(index=True, foreign_key="rejection.id")
    key: str = Field(description="the step's idempotency key")
    at: datetime = moment_column(nullable=False)
    actor: str
    kind: str
    detail: str = ""
