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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import NamedTuple

import aiosmtplib
from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from kringloop.database import send_commit, session_for
from kringloop.mail.delivery import (
    SMTP_TIMEOUT_S,
    Recipient,
    build_message,
    deliver,
    message_id_for,
)
from kringloop.mail.identity import Sender, sender_of
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.models import OutboxMessage
from kringloop.mail.rendering import Email
from kringloop.mail.suppression import ALWAYS_SENT, suppressed_among
from kringloop.settings import Settings

log = logging.getLogger("kringloop.mail")

# Emails of a batch on the wire at once, each on a kept connection of its own: the mail
# server's answers are awaited side by side rather than one after another.
SMTP_IN_FLIGHT = 4

# Puts the step on the loop's own timeline, in the transaction that marks the outbox row.
RecordStep = Callable[[Session, str, str], None]  # (session, "sent" | "failed", detail)


@dataclass(frozen=True)
class Outgoing:
    """One email to send once: its idempotency key, kind, recipient and where replies go; who
    it comes from, where it bounces to, the thread it answers, and the link that unsubscribes
    its recipient."""

    key: str
    kind: str
    to: Recipient
    reply_to: str | None = None
    case_id: str | None = None
    # The organisation it comes from: `sender_of(settings, org)`. None: as the settings alone
    # say (KRINGLOOP_MAIL_FROM, else a placeholder address).
    sender: Sender | None = None
    from_name: str | None = None  # From: "<from_name> via <organisation>"; None: the organisation
    envelope_from: str | None = None  # SMTP MAIL FROM, where bounces go; None: the From address
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    unsubscribe_url: str | None = None  # List-Unsubscribe, one click (RFC 8058)

    def sender_for(self, settings: Settings) -> Sender:
        return self.sender or sender_of(settings)

    def message_id(self, settings: Settings) -> str:
        """Its Message-ID, the same for every copy (the outbox keeps it with the row)."""
        return message_id_for(self.key, self.sender_for(settings).address)

    def message(self, email: Email, *, settings: Settings, message_id: str) -> Message:
        """The email as it goes on the wire, with this envelope's headers."""
        return build_message(email, kind=self.kind, sender=self.sender_for(settings),
                             to=self.to, message_id=message_id, reply_to=self.reply_to,
                             from_name=self.from_name, in_reply_to=self.in_reply_to,
                             references=self.references, unsubscribe_url=self.unsubscribe_url)


@dataclass(frozen=True)
class Sending:
    """An email of a batch: what it is, how to write it, and how its loop records the outcome."""

    outgoing: Outgoing
    render: Callable[[], Email]
    record: RecordStep


async def send_once(outgoing: Outgoing, render: Callable[[], Email], *, engine: Engine,
                    settings: Settings, record: RecordStep, claimed: Claims | None = None
                    ) -> EmailReceipt:
    """Send `outgoing` unless its outbox row says it was sent, refused or handed over already.
    A 5xx from the mail server now raises the non-retryable `EmailRejected`. `claimed`: its
    row was claimed already (`claim`), in the transaction that read what the email says."""
    (receipt, refused_now), = await _send_each(
        [Sending(outgoing, render, record)], engine=engine, settings=settings,
        give_up_at=attempt_ends(), claimed=claimed)
    if refused_now:
        raise ApplicationError(f"mail server refused the email: {receipt.error}",
                               type="EmailRejected", non_retryable=True)
    return receipt


async def send_each_once(batch: Sequence[Sending], *, engine: Engine, settings: Settings,
                         attempt_ends_at: float) -> list[EmailReceipt]:
    """`send_once` for many emails over kept connections (SMTP_IN_FLIGHT at once), the
    bookkeeping in a few statements for the whole batch. A 5xx refuses only its own email; any
    other failure starts no further email, records what went out, and is raised, so the
    retried activity sends only the rest. Emails the attempt
    had no time left to start are left for the next one: only the others have a receipt."""
    return [receipt for receipt, _ in await _send_each(batch, engine=engine, settings=settings,
                                                         give_up_at=attempt_ends_at)]


async def _send_each(batch: Sequence[Sending], *, engine: Engine, settings: Settings,
                     give_up_at: float, claimed: Claims | None = None
                     ) -> list[tuple[EmailReceipt, bool]]:
    """Each handled email's receipt, and whether the mail server refused it in this call."""
    # An email started later than this could outlive the attempt (a mail server may take its
    # whole timeout to answer), and a retry running beside it would send it a second time.
    last_start = give_up_at - SMTP_TIMEOUT_S
    found = claimed if claimed is not None else await asyncio.to_thread(
        _claim, engine, [s.outgoing for s in batch], settings)
    outcomes: dict[str, tuple[EmailReceipt, bool]] = {}
    settled: list[_Settled] = []
    for sending in batch:
        key = sending.outgoing.key
        status, message_id, error = found[key]
        if status in ("sent", "failed"):
            outcomes[key] = (EmailReceipt(key=key, message_id=message_id,
                                          sent=status == "sent", error=error), False)
        elif status == "handed_over":
            # An earlier attempt wrote the email's final dot and died before the server's
            # answer was recorded: the server has it. Sending it again would send it twice.
            settled.append(_Settled(sending, "sent"))
            outcomes[key] = (EmailReceipt(key=key, message_id=message_id, sent=True), False)
        elif status == "suppressed":  # the address unsubscribed: withheld, and recorded so
            settled.append(_Settled(sending, "failed", error))
            outcomes[key] = (EmailReceipt(key=key, message_id=message_id, sent=False,
                                          error=error), False)
    gate = asyncio.Semaphore(SMTP_IN_FLIGHT)
    failures: list[Exception] = []

    async def send_in_turn(sending: Sending) -> None:
        async with gate:
            if failures or (outcomes and time.monotonic() > last_start):
                return  # (the first always goes)
            try:
                outcome = await _deliver_one(sending, found[sending.outgoing.key].message_id,
                                             engine=engine, settings=settings,
                                             give_up_at=give_up_at)
            except Exception as error:  # the others on the wire finish and are recorded
                failures.append(error)
                return
            settled.append(outcome)
            outcomes[sending.outgoing.key] = outcome.receipt(found)

    try:
        await asyncio.gather(*(send_in_turn(s) for s in batch if s.outgoing.key not in outcomes))
        if failures:
            raise failures[0]
    finally:
        await _when_recorded(lambda: _settle(engine, settled), give_up_at=give_up_at)
    return [outcomes[s.outgoing.key] for s in batch if s.outgoing.key in outcomes]


async def _deliver_one(sending: Sending, message_id: str, *, engine: Engine, settings: Settings,
                       give_up_at: float) -> _Settled:
    outgoing = sending.outgoing
    message = outgoing.message(sending.render(), settings=settings, message_id=message_id)
    handed_over = False

    def hand_over() -> Callable[[], None]:
        # The one write left on the event loop, on purpose: between this mark and the final
        # dot nothing else may run (the fewer moments a crash can fall in, the better).
        connection = engine.connect()
        try:
            connection.execute(_STATUS_CHANGE, _status_change(outgoing.key, "handed_over"))
            answered = send_commit(connection)
        except BaseException:
            connection.close()
            raise

        def recorded() -> None:
            nonlocal handed_over
            try:
                answered()
                handed_over = True
            except DBAPIError:
                # The dot is out: the email stays sent, and the server's answer is recorded
                # as it comes. Raising here would have the retry send it a second time.
                log.warning("the hand-over of an email could not be recorded",
                            extra={"kind": outgoing.kind, "case_id": outgoing.case_id})
            finally:
                connection.close()

        return recorded

    try:
        await deliver(message, settings, envelope_from=outgoing.envelope_from,
                      handing_over=hand_over)
    except aiosmtplib.SMTPAuthenticationError:
        # The relay refused our login: a setting for the operator to fix, not this email's
        # fault. Retried with backoff, so every email goes out once the password is right.
        log.error("the mail server refused Kringloop's login (KRINGLOOP_SMTP_USERNAME, "
                  "KRINGLOOP_SMTP_PASSWORD)", extra={"kind": outgoing.kind})
        raise
    except (aiosmtplib.SMTPException, OSError) as error:
        if isinstance(error, aiosmtplib.SMTPResponseException) and 500 <= error.code < 600:
            log.warning("email refused", extra={"kind": outgoing.kind,
                                                 "case_id": outgoing.case_id, "smtp": error.code})
            return _Settled(sending, "failed", f"{error.code} {error.message}")
        if handed_over:
            # The server answered 4xx to the final dot, or went away before answering: as
            # RFC 5321 has it, the email counts as not delivered and the retry sends it. (A
            # crash of this worker instead leaves the row handed over: the retry sends nothing.)
            await _when_recorded(lambda: _set_status(engine, outgoing.key, "pending"),
                                 give_up_at=give_up_at)
        raise
    log.info("email sent", extra={"kind": outgoing.kind, "case_id": outgoing.case_id,
                                  "message_id": message_id})
    return _Settled(sending, "sent")


def attempt_ends() -> float:
    """When an activity attempt starting now must be done (monotonic clock): its
    start-to-close timeout, less a margin, so that a retry of the activity never runs beside
    it."""
    timeout = activity.info().start_to_close_timeout if activity.in_activity() else None
    return time.monotonic() + (timeout or timedelta(minutes=1)).total_seconds() - 10


async def _when_recorded(write: Callable[[], None], *, give_up_at: float) -> None:
    """The mail server has answered: the row must say how, or a retry would act on a stale
    state (the fault suite saw emails sent twice). A database that is away is waited for,
    while this attempt may."""
    pause = 0.5
    while True:
        try:
            await asyncio.to_thread(write)  # the database's work, off the event loop
            return
        except OperationalError:
            if time.monotonic() + pause > give_up_at:
                raise
            log.warning("waiting for the database to record an email's outcome")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5)


class _Found(NamedTuple):
    status: str
    message_id: str
    error: str | None


# Each email's outbox row as `claim` found (or made) it, by idempotency key.
Claims = dict[str, _Found]


@dataclass(frozen=True)
class _Settled:
    """Where an email of the batch ended up: sent, or failed with the server's reason."""

    sending: Sending
    status: str
    error: str | None = None

    def receipt(self, found: dict[str, _Found]) -> tuple[EmailReceipt, bool]:
        key = self.sending.outgoing.key
        return (EmailReceipt(key=key, message_id=found[key].message_id,
                             sent=self.status == "sent", error=self.error),
                self.status == "failed")


_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


def _claim(engine: Engine, outgoings: Sequence[Outgoing], settings: Settings) -> Claims:
    """`claim` in a transaction of its own."""
    with engine.begin() as connection:
        return claim(connection, outgoings, settings)


def claim(connection: Connection, outgoings: Sequence[Outgoing], settings: Settings
          ) -> Claims:
    """Every email's outbox row, written on first sight and counted as a try unless it is
    settled; one still to send to an address that unsubscribed is found "suppressed". Plain
    statements, in the caller's transaction: this runs for every email."""
    keys = [o.key for o in outgoings]
    found = {row.key: _Found(row.status, row.message_id, row.error)
             for row in connection.execute(
                 select(_OUTBOX.c.key, _OUTBOX.c.status, _OUTBOX.c.message_id,
                        _OUTBOX.c.error).where(_OUTBOX.c.key.in_(keys)))}
    unsettled = [k for k, f in found.items() if f.status not in _SETTLED]
    if unsettled:
        connection.execute(update(_OUTBOX).where(_OUTBOX.c.key.in_(unsettled))
                           .values(tries=_OUTBOX.c.tries + 1))
    new = {o.key: o for o in outgoings if o.key not in found}
    if new:
        now = datetime.now(UTC)
        ids = {key: o.message_id(settings) for key, o in new.items()}
        connection.execute(insert(_OUTBOX), [
            {"key": o.key, "case_id": o.case_id, "kind": o.kind, "recipient": o.to.email,
             "message_id": ids[o.key], "status": "pending", "tries": 1,
             "error": None, "created_at": now, "sent_at": None} for o in new.values()])
        found |= {key: _Found("pending", ids[key], None) for key in new}
    to_send = [o for o in outgoings
               if found[o.key].status == "pending" and o.kind not in ALWAYS_SENT]
    withheld = suppressed_among(connection, {o.to.email for o in to_send})
    for o in to_send:
        if (reason := withheld.get(o.to.email.lower())) is not None:
            found[o.key] = _Found("suppressed", found[o.key].message_id, reason)
    return found


_SETTLED = ("sent", "failed", "handed_over")


# Built once: these run for every email, and building a statement costs more than running it.
_STATUS_CHANGE = update(_OUTBOX).where(_OUTBOX.c.key == bindparam("changed_key")).values(
    status=bindparam("status"), error=bindparam("error"), sent_at=bindparam("sent_at"))


def _status_change(key: str, status: str, error: str | None = None) -> dict[str, object]:
    """Parameters for `_STATUS_CHANGE`."""
    return {"changed_key": key, "status": status, "error": error,
            "sent_at": datetime.now(UTC) if status == "sent" else None}


def _set_status(engine: Engine, key: str, status: str) -> None:
    """One row's status on its own, between two awaits: no connection is held across an await
    (the pool would run dry under many emails in flight, and its wait blocks the event loop)."""
    with engine.begin() as connection:
        connection.execute(_STATUS_CHANGE, _status_change(key, status))


def _settle(engine: Engine, settled: Sequence[_Settled]) -> None:
    """The rows' new statuses in one transaction; a final one (sent, failed) also goes on the
    email's loop timeline."""
    if not settled:
        return
    # No flush before each record's statement: the timeline rows go in together at commit.
    with session_for(engine) as session, session.no_autoflush:
        session.connection().execute(_STATUS_CHANGE, [
            _status_change(o.sending.outgoing.key, o.status, o.error) for o in settled])
        for outcome in settled:
            outgoing = outcome.sending.outgoing
            if outcome.status in ("sent", "failed"):
                detail = f"{outgoing.kind} to {outgoing.to.name or outgoing.to.email}"
                outcome.sending.record(session, outcome.status, detail if outcome.error is None
                                       else f"{detail}: {outcome.error}")
        session.commit()
