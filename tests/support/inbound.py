"""Mail as respondents' mail programs write it back to Kringloop (Gmail and Outlook in Dutch,
HTML only, out-of-offices, a mail server's delivery report), sent over SMTP as a mail server
would, and what became of it: the case's messages and the quarantine."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosmtplib
from sqlalchemy import Engine
from sqlmodel import select

from kringloop.cases.models import CaseMessage
from kringloop.database import session_for
from kringloop.inbound.models import QuarantinedMail
from kringloop.mail.models import OutboxMessage
from kringloop.mail.reply_addresses import reply_token_for, with_token
from tests.support.command import KRINGLOOP, clean_environment
from tests.support.kringloop import Kringloop
from tests.support.mail import outbox
from tests.support.stack import Stack

REPLY_ADDRESS = "antwoord@antwoord.fietsenwinkel.example"  # the example organisation's
MAX_BYTES = 200_000  # the largest email the tests' listener takes
ATTACHMENT_MAX_BYTES = 4096  # and the largest file it keeps
ANNA = {"id": "klant-7001", "name": "Anna de Vries", "email": "anna@example.nl", "language": "nl"}
QUOTED_NL = ("Op di 3 mrt 2026 om 10:12 schreef Fietsenwinkel De Spaak <\n"
             "antwoord+{token}@antwoord.fietsenwinkel.example>:\n\n"
             "> Beste Anna,\n>\n> Dank je voor je reactie. Sanne belt je binnen twee werkdagen.\n"
             ">\n> Met vriendelijke groet,\n> Fietsenwinkel De Spaak\n")


def reply_address(token: str | None) -> str:
    """The case's plus-address; the bare reply address without a token."""
    return with_token(REPLY_ADDRESS, token) if token else REPLY_ADDRESS


def token_for(engine: Engine, case_id: str) -> str:
    """The case's reply token (made now if the case has sent nothing yet)."""
    with session_for(engine) as session:
        token = reply_token_for(session.connection(), case_id)
        session.commit()
    return token


async def opened_case(kringloop: Kringloop, response_id: str,
                      respondent: dict[str, str] = ANNA) -> str:
    """A detractor's case as the workflow opens it, in the database."""
    posted = await kringloop.post_response(response_id, 3, respondent=respondent)
    await kringloop.case_when(posted["case_id"], lambda case: True)
    return str(posted["case_id"])


async def first_email_of(kringloop: Kringloop, case_id: str) -> OutboxMessage:
    """The first email the case sent (the acknowledgement to its respondent), once sent."""
    deadline = asyncio.get_running_loop().time() + 15
    while not (sent := [m for m in outbox(kringloop.engine)
                        if m.case_id == case_id and m.status == "sent"]):
        assert asyncio.get_running_loop().time() < deadline, f"{case_id} sent nothing"
        await asyncio.sleep(0.05)
    return sent[0]


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@mail.gmail.com>"


def _email(headers: dict[str, str], body: str) -> bytes:
    lines = [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def gmail_reply(token: str | None, *, sender: str = ANNA["email"], message_id: str | None = None,
                in_reply_to: str | None = None, words: str = "Hoi,\n\nJa, bel me morgen na "
                "vijven maar, dan ben ik thuis.\n\nGroet,\nAnna", extra: str = "") -> bytes:
    """Anna's answer from Gmail in Dutch: text and HTML, our email quoted below her words."""
    quoted = QUOTED_NL.format(token=token or "")
    html_words = words.replace("\n", "<br>")
    html = (f'<div dir="ltr">{html_words}</div><br><div class="gmail_quote"><div dir="ltr" '
            f'class="gmail_attr">Op di 3 mrt 2026 om 10:12 schreef Fietsenwinkel De Spaak &lt;'
            f'{reply_address(token)}&gt;:<br></div><blockquote class="gmail_quote">Beste Anna,'
            "<br>Sanne belt je binnen twee werkdagen.</blockquote></div>")
    headers = {
        "MIME-Version": "1.0", "Date": "Tue, 3 Mar 2026 11:02:45 +0100",
        "Message-ID": message_id or new_message_id(),
        "Subject": "Re: We bellen je terug", "From": f"Anna de Vries <{sender}>",
        "To": f"Fietsenwinkel De Spaak <{reply_address(token)}>",
        "Content-Type": 'multipart/alternative; boundary="000000000000a1b2c3"'}
    if in_reply_to:
        headers["In-Reply-To"] = headers["References"] = in_reply_to
    body = ("--000000000000a1b2c3\nContent-Type: text/plain; charset=\"UTF-8\"\n\n"
            f"{words}\n\n{quoted}\n--000000000000a1b2c3\n"
            'Content-Type: text/html; charset="UTF-8"\n\n'
            f"{html}\n--000000000000a1b2c3--\n")
    return _email({**headers, **dict(_header(line) for line in extra.splitlines() if line)},
                  body)


def outlook_reply(token: str) -> bytes:
    """Anna's answer from Outlook in Dutch: the history under a line and a Van:/Verzonden:
    block, only text."""
    body = ("Dat is goed, tot morgen.\n\nMet vriendelijke groet,\nAnna de Vries\n\n"
            "________________________________\n"
            f"Van: Fietsenwinkel De Spaak <{reply_address(token)}>\n"
            "Verzonden: dinsdag 3 maart 2026 10:12\nAan: Anna de Vries <anna@example.nl>\n"
            "Onderwerp: We bellen je terug\n\nBeste Anna,\n\nSanne belt je binnen twee "
            "werkdagen.\n")
    return _email({"Message-ID": new_message_id(), "From": f"Anna de Vries <{ANNA['email']}>",
                   "To": reply_address(token), "Subject": "RE: We bellen je terug",
                   "Content-Type": 'text/plain; charset="iso-8859-1"'}, body)


def html_only_reply(token: str, html: str) -> bytes:
    return _email({"Message-ID": new_message_id(), "From": ANNA["email"],
                   "To": reply_address(token), "Subject": "Re: We bellen je terug",
                   "MIME-Version": "1.0", "Content-Type": "text/html; charset=utf-8"}, html)


def auto_reply(token: str, *, header: str = "", subject: str = "Re: We bellen je terug"
               ) -> bytes:
    """An automatic answer from Anna's mail system, marked by `header` ("Name: value")."""
    headers = {"Message-ID": new_message_id(), "From": ANNA["email"],
               "To": reply_address(token), "Subject": subject}
    if header:
        headers.update([_header(header)])
    return _email(headers, "Ik ben afwezig tot en met 14 maart en lees mijn mail daarna.\n")


def delivery_report(*, failed: str, original_message_id: str, returned: str = "headers",
                    action: str = "failed", to: str = REPLY_ADDRESS) -> bytes:
    """A mail server's report (RFC 3464) that our email to `failed` did not arrive, with the
    original's headers (or the whole original) returned."""
    original = (f"From: Fietsenwinkel De Spaak <{to}>\nTo: Anna de Vries <{failed}>\n"
                f"Subject: We bellen je terug\nMessage-ID: {original_message_id}\n"
                "Date: Tue, 3 Mar 2026 10:12:01 +0100\n")
    returned_part = ("Content-Type: text/rfc822-headers\n\n" + original if returned == "headers"
                     else "Content-Type: message/rfc822\n\n" + original + "\nBeste Anna,\n")
    body = ("This is a MIME-encapsulated message.\n\n--B0UND\n"
            "Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
            "This is the mail system at host mx.fietsenwinkel.example.\n\n"
            "I'm sorry to have to inform you that your message could not\nbe delivered to one "
            "or more recipients.\n\n"
            f"<{failed}>: host mx.example.nl[192.0.2.7] said: 550 5.1.1\n    User unknown\n\n"
            "--B0UND\nContent-Description: Delivery report\n"
            "Content-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mx.fietsenwinkel.example\n"
            "X-Postfix-Queue-ID: 4Q2Xf50Lz1z9sWR\n"
            "Arrival-Date: Tue,  3 Mar 2026 10:12:01 +0100 (CET)\n\n"
            f"Final-Recipient: rfc822; {failed}\nOriginal-Recipient: rfc822;{failed}\n"
            f"Action: {action}\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.nl\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
            f"--B0UND\nContent-Description: Undelivered Message Headers\n{returned_part}\n"
            "--B0UND--\n")
    return _email({"Return-Path": "<>", "Message-ID": new_message_id(),
                   "From": "MAILER-DAEMON@mx.fietsenwinkel.example (Mail Delivery System)",
                   "To": to, "Subject": "Undelivered Mail Returned to Sender",
                   "Auto-Submitted": "auto-replied", "MIME-Version": "1.0",
                   "Content-Type": 'multipart/report; report-type=delivery-status; '
                                   'boundary="B0UND"'}, body)


def with_attachments(token: str, files: dict[str, bytes]) -> bytes:
    """A reply with files attached (name: content)."""
    parts = "".join(
        f"--MIX\nContent-Type: application/pdf; name=\"{name}\"\n"
        f"Content-Disposition: attachment; filename=\"{name}\"\n"
        f"Content-Transfer-Encoding: base64\n\n{base64.encodebytes(content).decode()}\n"
        for name, content in files.items())
    return _email({"Message-ID": new_message_id(), "From": ANNA["email"],
                   "To": reply_address(token), "Subject": "Re: We bellen je terug",
                   "MIME-Version": "1.0", "Content-Type": 'multipart/mixed; boundary="MIX"'},
                  "--MIX\nContent-Type: text/plain; charset=utf-8\n\nDe bon zit erbij.\n"
                  + parts + "--MIX--\n")


def _header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


async def send(port: int, raw: bytes, *, to: list[str], sender: str = ANNA["email"]
               ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    """Deliver `raw` to the listener as a mail server does."""
    return await aiosmtplib.send(raw, sender=sender, recipients=to, hostname="127.0.0.1",
                                 port=port, timeout=30)


def messages_of(engine: Engine, case_id: str | None = None) -> list[CaseMessage]:
    """The emails stored with `case_id` (with any case when None)."""
    with session_for(engine) as session:
        query = select(CaseMessage)
        if case_id is not None:
            query = query.where(CaseMessage.case_id == case_id)
        return list(session.exec(query).all())


def quarantined(engine: Engine) -> list[QuarantinedMail]:
    with session_for(engine) as session:
        return list(session.exec(select(QuarantinedMail)).all())


@asynccontextmanager
async def kringloop_inbound(tmp_path: Path, **settings: str) -> AsyncIterator[Stack]:
    """`kringloop inbound` in its own process, as an operator runs it behind the MX: its own
    home, the given database and Temporal (KRINGLOOP_* settings)."""
    log = tmp_path / "kringloop-inbound.log"
    environment = clean_environment(KRINGLOOP_HOME=str(tmp_path / "home"), **settings)
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            str(KRINGLOOP), "inbound", cwd=tmp_path, env=environment, stdout=output,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        yield Stack(process=process, log=log, web_url="")
    finally:
        if process.returncode is None:  # a failed test
            process.kill()
            await process.wait()


async def stored_on(engine: Engine, case_id: str, *, timeout: float = 15) -> list[CaseMessage]:
    """The case's emails once there is one (mail arrives in its own time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (stored := messages_of(engine, case_id)):
        assert asyncio.get_running_loop().time() < deadline, f"nothing stored on {case_id}"
        await asyncio.sleep(0.1)
    return stored
