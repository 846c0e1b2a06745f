"""Putting an email on the wire: MIME message and its headers, Message-ID, DKIM signature, and
SMTP with the configured relay."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib
from aiosmtplib.email import flatten_message
from aiosmtplib.protocol import PERIOD_REGEX, SMTPProtocol, normalize_message_line_endings
from aiosmtplib.typing import SMTPStatus

from kringloop.mail.dkim import dkim_key
from kringloop.mail.identity import Sender
from kringloop.mail.rendering import Attachment, Email
from kringloop.settings import Settings

# Seconds a mail server may take to answer one command; the outbox starts no email later than
# this before its activity's time is up.
SMTP_TIMEOUT_S = 30


@dataclass(frozen=True)
class Recipient:
    name: str | None
    email: str
    language: str


def message_id_for(key: str, sender: str) -> str:
    """A stable Message-ID from the idempotency key, so any copy of one email is recognisable."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "kringloop.local"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


# Quoted-printable keeps mostly-ASCII text readable in the raw message (base64 would not).
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


# Emails to the organisation's own people, written by Kringloop: marked as such (RFC 3834), so
# that an out-of-office or other auto-reply is not sent back at them.
STAFF_KINDS = (
    "assignment", "reminder", "escalation", "digest", "spotlight", "sign_in",
    "respondent_update", "callback_booked", "respondent_reply", "mail_bounced",
)
# A Message-ID as a thread header may carry it; one from someone else's email that is not is
# left out rather than copied into a header of ours.
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+>")


def build_message(
    email: Email, *, kind: str, sender: Sender, to: Recipient, message_id: str,
    reply_to: str | None = None, from_name: str | None = None, in_reply_to: str | None = None,
    references: Sequence[str] = (), unsubscribe_url: str | None = None,
) -> Message:
    """The email as a MIME message: from the organisation (or `from_name` on its behalf), in
    the thread of `in_reply_to`, and with a one-click unsubscribe link when it has one."""
    # The compat32 MIME classes build the same multipart/alternative message as EmailMessage
    # with the default policy at about a third of the cost (bench: rejection batches).
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(email.text, "plain", _UTF8))
    body.attach(MIMEText(email.html, "html", _UTF8))
    # With attachments (a calendar invitation): the text and HTML first, the files after them.
    message = body if not email.attachments else MIMEMultipart("mixed", _subparts=[body])
    for attachment in email.attachments:
        message.attach(_attached(attachment))
    message["From"] = _address(sender.display_name(from_name), sender.address)
    message["To"] = _address(to.name, to.email)
    # An ASCII subject needs no RFC 2047 encoding (and skipping it is measurably cheaper). A
    # Header, not its encoded text: folded with "Subject: " counted, its first word fits on the
    # header's own line; pre-encoded text was folded again before it, and read back with a
    # leading space.
    message["Subject"] = (email.subject if email.subject.isascii()
                          else Header(email.subject, "utf-8", header_name="Subject"))
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(datetime.now(UTC))
    message["X-Kringloop-Kind"] = kind
    if reply_to:
        message["Reply-To"] = reply_to
    if in_reply_to and _MESSAGE_ID.fullmatch(in_reply_to):
        message["In-Reply-To"] = in_reply_to
    if thread := [m for m in references if _MESSAGE_ID.fullmatch(m)]:
        message["References"] = " ".join(thread)
    if kind in STAFF_KINDS:
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"  # Exchange's word for the same
    if unsubscribe_url:
        # One click in the mail program unsubscribes (RFC 8058): it POSTs the second header
        # to the URL of the first, without showing the person a page.
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _address(name: str | None, email: str) -> str:
    """`Name <address>`, a name with accents as one RFC 2047 word: it reads back exactly (split
    in two, some readers, Python's among them, put a space where the split was)."""
    return formataddr((name or "", email), charset="utf-8")


def _attached(attachment: Attachment) -> MIMEText:
    """A file as its own part, base64 (an .ics keeps its CRLF line ends), e.g. `text/calendar;
    method=REQUEST` for an invitation that calendars offer to add."""
    maintype, _, subtype = attachment.content_type.partition("/")
    assert maintype == "text", "attachments are text files"
    part = MIMEText(attachment.text, subtype, "utf-8")
    for name, value in attachment.parameters:
        part.set_param(name, value)
    part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
    return part


class SmtpConnections:
    """SMTP connections kept open for the next email, a few per mail server and event loop.

    A new connection per email (connect, EHLO, STARTTLS, AUTH) costs more than the email itself;
    a worker sends hundreds in a row. A connection idle for longer than `max_idle_s` is not
    reused, so a server's idle timeout never fails a send.
    """

    def __init__(self, *, keep: int = 4, max_idle_s: float = 20) -> None:
        self.keep = keep
        self.max_idle_s = max_idle_s
        self._idle: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, int], list[tuple[aiosmtplib.SMTP, float]]]
        ] = weakref.WeakKeyDictionary()

    def _pool(self, settings: Settings) -> list[tuple[aiosmtplib.SMTP, float]]:
        per_server = self._idle.setdefault(asyncio.get_running_loop(), {})
        return per_server.setdefault((str(settings.smtp_host), settings.smtp_port), [])

    async def take(self, settings: Settings) -> aiosmtplib.SMTP:
        pool = self._pool(settings)
        while pool:
            connection, idle_since = pool.pop()
            if connection.is_connected and time.monotonic() - idle_since < self.max_idle_s:
                return connection
            connection.close()
        connection = aiosmtplib.SMTP(
            hostname=settings.smtp_host, port=settings.smtp_port,
            username=settings.smtp_username, password=settings.smtp_password,
            start_tls=settings.smtp_tls, timeout=SMTP_TIMEOUT_S)
        await connection.connect()
        return connection

    def give_back(self, settings: Settings, connection: aiosmtplib.SMTP) -> None:
        pool = self._pool(settings)
        if connection.is_connected and len(pool) < self.keep:
            pool.append((connection, time.monotonic()))
        else:
            connection.close()


smtp_connections = SmtpConnections()


# Records that an email is being handed over, at the last moment it can still be withdrawn
# (see `_transmit`): returns once the record is on its way to the database, with what to call
# once the email's final dot is written, to hear that the record stands.
HandOver = Callable[[], Callable[[], None]]


def _nothing_to_record() -> Callable[[], None]:
    return lambda: None


async def deliver(message: Message, settings: Settings, *, envelope_from: str | None = None,
                  handing_over: HandOver = _nothing_to_record) -> None:
    """Send over SMTP on a kept-open connection, calling `handing_over` at the last moment at
    which the email can still be withdrawn (see `_transmit`). Bounces go to `envelope_from`
    (unset: the From address). SMTPResponseException carries the server's code (4xx retry,
    5xx final); any other failure closes the connection and is raised."""
    if not settings.smtp_host:
        raise RuntimeError("no SMTP host configured")
    content = on_the_wire(message, settings)
    connection = await smtp_connections.take(settings)
    try:
        await _transmit(connection, content, handing_over,
                        mail_from=envelope_from or parseaddr(message["From"])[1],
                        rcpt_to=parseaddr(message["To"])[1])
    except aiosmtplib.SMTPResponseException:
        await _reset_for_next_email(settings, connection)
        raise
    except BaseException:
        connection.close()
        raise
    smtp_connections.give_back(settings, connection)


def on_the_wire(message: Message, settings: Settings) -> bytes:
    """The message as the mail server receives it (CRLF line ends), DKIM-signed when a key is
    configured: the signature covers these very bytes."""
    content = normalize_message_line_endings(flatten_message(message, cte_type="7bit"))
    key = dkim_key(settings)
    return content if key is None else key.sign(content, message.keys())


async def _transmit(connection: aiosmtplib.SMTP, content: bytes,
                    handing_over: HandOver, *, mail_from: str, rcpt_to: str) -> None:
    """MAIL, RCPT and DATA by hand, so that `handing_over` runs after the whole email is written
    and before the dot that completes it. Until that dot the server discards the email when the
    connection drops (a crash withdraws it); once the dot is written the kernel delivers it even
    for a process killed that instant. Recording the hand-over there, rather than after the
    server's 250, leaves no gap in which a crash makes a retry send the email twice; writing
    the dot as soon as the record's COMMIT is sent, rather than once the database has answered
    it, leaves none in which a crash loses the email under a record that says it went."""
    await connection.mail(mail_from)
    await connection.rcpt(rcpt_to)
    started = await connection.execute_command(b"DATA")
    if started.code != SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(started.code, started.message)
    protocol = connection.protocol
    assert protocol is not None  # execute_command raised if the connection was gone
    # Dot-stuffed (RFC 5321 4.5.2): a line of its own dot would end the data.
    protocol.write(PERIOD_REGEX.sub(b"..", content))
    await _written_through(protocol)
    recorded = handing_over()
    try:
        protocol.write(b".\r\n")  # no await between the two: nothing else may run in the gap
    finally:
        recorded()
    accepted = await protocol.read_response(timeout=connection.timeout)
    if accepted.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(accepted.code, accepted.message)


async def _written_through(protocol: SMTPProtocol) -> None:
    """Wait until the transport holds nothing back: the dot written next then goes straight to
    the kernel, which sends it even if this process dies right after. (aiosmtplib's protocol
    offers no public drain; an email of a few kB is normally through at once.)"""
    transport = protocol.transport
    while isinstance(transport, asyncio.WriteTransport) and transport.get_write_buffer_size():  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def _reset_for_next_email(settings: Settings, connection: aiosmtplib.SMTP) -> None:
    """The server refused this email but may take the next one on the same connection."""
    try:
        await connection.rset()
    except aiosmtplib.SMTPException:
        connection.close()
    else:
        smtp_connections.give_back(settings, connection)
