"""Exactly-once email for every loop: the outbox row first, then SMTP, then the row marked sent.

A retried activity finds its outbox row already sent (or refused) and sends nothing again. A 5xx
from the mail server is final: recorded, then raised as the non-retryable `EmailRejected`; 4xx
and connection errors are raised as they are, so the activity is retried with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiosmtplib
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from kringloop.case_messages import EmailReceipt
from kringloop.database import session_for
from kringloop.emails import Email
from kringloop.mail_delivery import Recipient, build_message, deliver, message_id_for
from kringloop.models import OutboxMessage
from kringloop.settings import Settings

log = logging.getLogger("kringloop.mail")

# Puts the step on the loop's own timeline, in the transaction that marks the outbox row.
RecordStep = Callable[[Session, str, str], None]  # (session, "sent" | "failed", detail)


@dataclass(frozen=True)
class Outgoing:
    """One email to send once: its idempotency key, kind, recipient and where replies go."""

    key: str
    kind: str
    to: Recipient
    reply_to: str | None = None
    case_id: str | None = None


async def send_once(outgoing: Outgoing, render: Callable[[], Email], *, engine: Engine,
                    settings: Settings, record: RecordStep) -> EmailReceipt:
    """Send `outgoing` unless its outbox row says it was sent or refused already."""
    give_up_at = time.monotonic() + _patience()
    sender = settings.mail_from
    with session_for(engine) as session:
        row = session.get(OutboxMessage, outgoing.key)
        if row is None:
            row = OutboxMessage(key=outgoing.key, case_id=outgoing.case_id, kind=outgoing.kind,
                                recipient=outgoing.to.email,
                                message_id=message_id_for(outgoing.key, sender),
                                created_at=datetime.now(UTC))
        elif row.status in ("sent", "failed"):
            return EmailReceipt(key=row.key, message_id=row.message_id,
                                sent=row.status == "sent", error=row.error)
        row.tries += 1
        session.add(row)
        session.commit()
        message_id = row.message_id

    message = build_message(render(), kind=outgoing.kind, sender=sender, to=outgoing.to,
                            message_id=message_id, reply_to=outgoing.reply_to)
    detail = f"{outgoing.kind} to {outgoing.to.name or outgoing.to.email}"
    try:
        await deliver(message, settings)
    except aiosmtplib.SMTPResponseException as error:
        if 500 <= error.code < 600:
            reason = f"{error.code} {error.message}"
            _mark(engine, outgoing.key, "failed", reason, record, f"{detail}: {reason}")
            log.warning("email refused", extra={"kind": outgoing.kind,
                                                 "case_id": outgoing.case_id, "smtp": error.code})
            raise ApplicationError(f"mail server refused the email: {reason}",
                                   type="EmailRejected", non_retryable=True) from None
        raise
    await _mark_sent(engine, outgoing.key, record, detail, give_up_at=give_up_at)
    log.info("email sent", extra={"kind": outgoing.kind, "case_id": outgoing.case_id,
                                  "message_id": message_id})
    return EmailReceipt(key=outgoing.key, message_id=message_id, sent=True)


def _patience() -> float:
    """How long this attempt may go on: its start-to-close timeout, less a margin, so that a
    retry of the activity never runs beside it."""
    timeout = activity.info().start_to_close_timeout if activity.in_activity() else None
    return (timeout or timedelta(minutes=1)).total_seconds() - 10


async def _mark_sent(engine: Engine, key: str, record: RecordStep, detail: str, *,
                     give_up_at: float) -> None:
    """The mail server has the email: its row must say so, or a retry would send it again
    (the fault suite saw it). A database that is away is waited for, while this attempt may."""
    pause = 0.5
    while True:
        try:
            _mark(engine, key, "sent", None, record, detail)
            return
        except OperationalError:
            if time.monotonic() + pause > give_up_at:
                raise
            log.warning("email sent; waiting for the database to record it", extra={"key": key})
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5)


def _mark(engine: Engine, key: str, status: str, error: str | None, record: RecordStep,
          detail: str) -> None:
    with session_for(engine) as session:
        row = session.get(OutboxMessage, key)
        assert row is not None
        row.status = status
        row.error = error
        row.sent_at = datetime.now(UTC) if status == "sent" else None
        session.add(row)
        record(session, status, detail)
        session.commit()
