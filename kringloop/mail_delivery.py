"""Putting an email on the wire: MIME message, Message-ID, and SMTP with the configured relay."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from kringloop.emails import Email
from kringloop.settings import Settings


@dataclass(frozen=True)
class Recipient:
    name: str | None
    email: str
    language: str


def message_id_for(key: str, sender: str) -> str:
    """A stable Message-ID from the idempotency key, so any copy of one email is recognisable."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "kringloop.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def build_message(
    email: Email, *, kind: str, sender: str, to: Recipient, message_id: str,
    reply_to: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=to.name or "", addr_spec=to.email)
    message["Subject"] = email.subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(datetime.now(UTC))
    message["X-Kringloop-Kind"] = kind
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


async def deliver(message: EmailMessage, settings: Settings) -> None:
    """Send over SMTP. SMTPResponseException carries the server's code (4xx retry, 5xx final)."""
    if not settings.smtp_host:
        raise RuntimeError("no SMTP host configured")
    try:
        await aiosmtplib.send(
            message, hostname=settings.smtp_host, port=settings.smtp_port,
            username=settings.smtp_username, password=settings.smtp_password,
            start_tls=settings.smtp_tls, timeout=30,
        )
    except aiosmtplib.SMTPRecipientsRefused as refused:
        # One recipient per message: its refusal is the message's refusal.
        raise refused.recipients[0] from None
