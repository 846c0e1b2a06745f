"""What a send activity answers: the email's receipt."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmailReceipt:
    key: str
    message_id: str
    sent: bool
    error: str | None = None
