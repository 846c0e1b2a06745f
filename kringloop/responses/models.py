"""A survey answer as kept, and its NPS category."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from kringloop.database import moment_column

Category = Literal["detractor", "passive", "promoter"]


def category_of(score: int) -> Category:
    if score <= 6:
        return "detractor"
    return "passive" if score <= 8 else "promoter"


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
    answered_at: datetime = moment_column(nullable=False)
    received_at: datetime = moment_column(nullable=False)
    # Where it came from: "api", "import", or a survey tool's source in the organisation file
    # (then `tool` names the tool: typeform, delighted, …).
    source: str = "api"
    tool: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    case_id: str | None = Field(default=None, index=True)
    resurvey_of: str | None = Field(default=None, index=True)
