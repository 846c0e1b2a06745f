"""Inbound mail that reached no case: kept whole, with the reason, for an operator to look at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from kringloop.database import moment_column


class QuarantinedMail(SQLModel, table=True):
    """An email sent to the reply address that was not taken in: unreadable, hostile, or
    pointing at no case (or at someone else's). The raw message is personal data: it holds
    whatever the sender wrote."""

    __tablename__ = "quarantined_mail"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = moment_column(nullable=False)
    via: str = Field(max_length=16, description="smtp or mailgun")
    reason: str = Field(max_length=300)
    sender: str | None = Field(default=None, max_length=254, description="its From address")
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    size: int
    # The same bytes delivered again are quarantined once.
    sha256: str = Field(index=True, max_length=64)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
