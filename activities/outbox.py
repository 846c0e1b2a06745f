"""Exactly-once email for every loop: the outbox row first, then SMTP, then the row marked sent.

The row is marked "handed_over" just before the dot that completes the email on the wire (see
`mail_delivery._transmit`), so a worker killed at any point either withdrew the email or left
a row that says the server has it. A retried activity finds its row sent, handed over or
refused, and sends nothing again. A 5xx from the mail server is final: recorded, then raised as
the non-retryable `EmailRejected`; 4xx, connection errors and a refused login are raised as
they are, so the activity is retried with backoff.
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
    """Send `outgoing` unless its outbox row says it was sent, refused or handed over already."""
    give_up_at = time.monotonic() + _patience()
    sender = settings.mail_from
    detail = f"{outgoing.kind} to {outgoing.to.name or outgoing.to.email}"
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
        elif row.status == "handed_over":
            # An earlier attempt wrote the email's final dot and died before the server's
            # answer was recorded: the server has it. Sending it again would send it twice.
            _mark(engine, row.key, "sent", None, record, detail)
            return EmailReceipt(key=row.key, message_id=row.message_id, sent=True)
        row.tries += 1
        session.add(row)
        session.commit()
        message_id = row.message_id

    message = build_message(render(), kind=outgoing.kind, sender=sender, to=outgoing.to,
                            message_id=message_id, reply_to=outgoing.reply_to)
    handed_over = False

    def hand_over() -> None:
        nonlocal handed_over
        _mark(engine, outgoing.key, "handed_over")
        handed_over = True

    try:
        await deliver(message, settings, handing_over=hand_over)
    except aiosmtplib.SMTPAuthenticationError:
        # The relay refused our login: a setting for the operator to fix, not this email's
        # fault. Retried with backoff, so every email goes out once the password is right.
        log.error("the mail server refused Kringloop's login (KRINGLOOP_SMTP_USERNAME, "
                  "KRINGLOOP_SMTP_PASSWORD)", extra={"kind": outgoing.kind})
        raise
    except (aiosmtplib.SMTPException, OSError) as error:
        if isinstance(error, aiosmtplib.SMTPResponseException) and 500 <= error.code < 600:
            reason = f"{error.code} {error.message}"
            await _when_recorded(lambda: _mark(engine, outgoing.key, "failed", reason, record,
                                               f"{detail}: {reason}"), give_up_at=give_up_at)
            log.warning("email refused", extra={"kind": outgoing.kind,
                                                 "case_id": outgoing.case_id, "smtp": error.code})
            raise ApplicationError(f"mail server refused the email: {reason}",
                                   type="EmailRejected", non_retryable=True) from None
        if handed_over:
            # The server answered 4xx to the final dot, or went away before answering: as
            # RFC 5321 has it, the email counts as not delivered and the retry sends it. (A
            # crash of this worker instead leaves the row handed over: the retry sends nothing.)
            await _when_recorded(lambda: _mark(engine, outgoing.key, "pending"),
                                 give_up_at=give_up_at)
        raise
    await _when_recorded(lambda: _mark(engine, outgoing.key, "sent", None, record, detail),
                         give_up_at=give_up_at)
    log.info("email sent", extra={"kind": outgoing.kind, "case_id": outgoing.case_id,
                                  "message_id": message_id})
    return EmailReceipt(key=outgoing.key, message_id=message_id, sent=True)


def _patience() -> float:
    """How long this attempt may go on: its start-to-close timeout, less a margin, so that a
    retry of the activity never runs beside it."""
    timeout = activity.info().start_to_close_timeout if activity.in_activity() else None
    return (timeout or timedelta(minutes=1)).total_seconds() - 10


async def _when_recorded(write: Callable[[], None], *, give_up_at: float) -> None:
    """The mail server has answered: the row must say how, or a retry would act on a stale
    state (the fault suite saw emails sent twice). A database that is away is waited for,
    while this attempt may."""
    pause = 0.5
    while True:
        try:
            write()
            return
        except OperationalError:
            if time.monotonic() + pause > give_up_at:
                raise
            log.warning("waiting for the database to record an email's outcome")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5)


def _mark(engine: Engine, key: str, status: str, error: str | None = None,
          record: RecordStep | None = None, detail: str = "") -> None:
    """The row's new status; a final one (sent, failed) also goes on the loop's timeline."""
    with session_for(engine) as session:
        row = session.get(OutboxMessage, key)
        assert row is not None
        row.status = status
        row.error = error
        row.sent_at = datetime.now(UTC) if status == "sent" else None
        session.add(row)
        if record is not None:
            record(session, status, detail)
        session.commit()
