"""Every delivery a survey tool posted to a source, as kept: what became of it, and (while it
still has to be mapped or fetched) the request itself, so nothing is lost on a mistake."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from kringloop.database import moment_column

# taken: a new response; repeat: one we had; updated: more of a response we had;
# ignored: an event the source does not act on; unsubscribed: on the suppression list;
# unmapped: kept with its error until `kringloop hooks replay`; fetching: answers asked of the
# tool's API (failing: the last try failed, and it goes on trying).
DeliveryStatus = Literal["taken", "repeat", "updated", "ignored", "unsubscribed", "unmapped",
                         "fetching", "failing"]
# The request is kept only while it may have to be read again.
KEEPS_REQUEST = ("unmapped", "fetching", "failing")


class HookDelivery(SQLModel, table=True):
    """One request to /api/hooks/SOURCE that passed its signature check."""

    __tablename__ = "hook_delivery"
    __table_args__ = (Index("ix_hook_delivery_source_status", "source", "status"),)

    id: str = Field(primary_key=True, max_length=40)
    source: str = Field(max_length=40)
    received_at: datetime = moment_column(nullable=False)
    status: str = Field(max_length=16)
    response_id: str | None = Field(default=None, max_length=128)
    error: str | None = None
    attempts: int = 0
    headers: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    settled_at: datetime | None = moment_column(nullable=True)
