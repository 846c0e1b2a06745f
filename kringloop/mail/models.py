"""The outbox table: every email recorded before it is sent."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kringloop.database import moment_column


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
    created_at: datetime = moment_column(nullable=False)
    sent_at: datetime | None = moment_column(nullable=True)


class Suppression(SQLModel, table=True):
    """An address that asked for no more email (a survey tool's unsubscribe): every later
    email to it is withheld, and says so on its loop's timeline."""

    email: str = Field(primary_key=True, max_length=254, description="in lower case")
    reason: str
    source: str | None = None
    since: datetime = moment_column(nullable=False)
