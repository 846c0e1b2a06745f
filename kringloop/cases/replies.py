"""Mail from the respondent reaching their case: which case an email belongs to, and taking
it in (stored once, then told to the case workflow, which decides what it means)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio.client import Client

from kringloop.cases.flows import tell_respondent_mail
from kringloop.cases.messages import RespondentMail
from kringloop.cases.models import CaseMessage, TimelineEntry
from kringloop.cases.queries import case_with_response, has_conversation
from kringloop.database import session_for
from kringloop.mail.models import OutboxMessage
from kringloop.mail.reply_addresses import case_for_token

MailKind = Literal["reply", "auto_reply", "bounce"]


@dataclass(frozen=True)
class ArrivedMail:
    """What the inbound side read from one email: its kind, where it points, and the words."""

    kind: MailKind
    message_id: str  # the email's own Message-ID
    sender: str | None  # the address it came from (a bounce: the mail system)
    subject: str = ""
    text: str = ""  # the new words, quoted history stripped
    html: str | None = None  # sanitised
    attachments: tuple[dict[str, Any], ...] = ()  # filename, content_type, size, stored, note
    bounced_address: str | None = None  # a bounce: the address that failed
    token: str | None = None  # from the plus-address it was sent to
    references: tuple[str, ...] = ()  # In-Reply-To and References (and a bounce's original)


@dataclass(frozen=True)
class CaseFound:
    case_id: str | None
    how: str  # "token", "thread", or why no case took it
    anonymous: bool = field(default=False)
    # The respondent's data was erased: what they write now is not kept, not even aside.
    discard: bool = field(default=False)


def case_for_mail(session: Session, mail: ArrivedMail) -> CaseFound:
    """The case this email answers: by its reply token; else by a Message-ID of ours it
    answers, but only from the respondent's own address (a Message-ID is not a secret)."""
    connection = session.connection()
    if mail.token is not None:
        case_id = case_for_token(connection, mail.token)
        if case_id is None:
            return CaseFound(None, "unknown reply token")
        if _erased(session, case_id):
            return CaseFound(None, "the respondent's data was erased", discard=True)
        return CaseFound(case_id, "token")
    ids = [i for i in mail.references if i]
    if not ids:
        return CaseFound(None, "no reply token and no reference to an email of ours")
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    case_ids = {row for row in connection.execute(
        select(outbox.c.case_id).where(outbox.c.message_id.in_(ids),
                                       outbox.c.case_id.is_not(None))).scalars()}
    if len(case_ids) != 1:
        return CaseFound(None, "refers to no email of ours" if not case_ids
                         else "refers to emails of several cases")
    case_id = case_ids.pop()
    if _erased(session, case_id):
        return CaseFound(None, "the respondent's data was erased", discard=True)
    found = case_with_response(session=session, case_id=case_id)
    if found is None:
        return CaseFound(None, "refers to a case that no longer exists")
    case, origin = found
    if has_conversation(case, origin):
        return CaseFound(None, "an anonymous case takes no email", anonymous=True)
    expected = (origin.email or "").lower()
    claimed = (mail.bounced_address if mail.kind == "bounce" else mail.sender) or ""
    if not expected or claimed.lower() != expected:
        return CaseFound(None, "not from the case's respondent")
    return CaseFound(case_id, "thread")


def _erased(session: Session, case_id: str) -> bool:
    return session.exec(select(TimelineEntry.id).where(
        TimelineEntry.case_id == case_id, TimelineEntry.kind == "erased")).first() is not None


def store_mail(engine: Engine, mail: ArrivedMail, case_id: str) -> tuple[int, bool]:
    """The email as a message of the case, and whether it is new (the same Message-ID
    delivered again is the message stored before)."""
    with session_for(engine) as session:
        message = CaseMessage(
            case_id=case_id, direction="in", kind=mail.kind, message_id=mail.message_id,
            sender=mail.sender, subject=mail.subject, text=mail.text, html=mail.html,
            attachments=list(mail.attachments), bounced_address=mail.bounced_address,
            at=datetime.now(UTC))
        session.add(message)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            before = session.exec(select(CaseMessage).where(
                CaseMessage.message_id == mail.message_id)).one()
            if before.case_id != case_id:
                raise ValueError(f"{mail.message_id} was taken in for another case") from None
            assert before.id is not None
            return before.id, False
        assert message.id is not None
        return message.id, True


def store_answer(engine: Engine, *, case_id: str, text: str, author_email: str) -> int:
    """A member's answer as a message of the case, before the case sends it."""
    with session_for(engine) as session:
        message = CaseMessage(case_id=case_id, direction="out", kind="answer",
                              message_id=f"answer-{uuid.uuid4().hex}", text=text,
                              author_email=author_email, at=datetime.now(UTC))
        session.add(message)
        session.commit()
        assert message.id is not None
        return message.id


def drop_answer(engine: Engine, message_id: int) -> None:
    """The case refused the answer: it is not kept as if it went."""
    with session_for(engine) as session:
        message = session.get(CaseMessage, message_id)
        if message is not None:
            session.delete(message)
            session.commit()


async def take_in_mail(mail: ArrivedMail, *, case_id: str, engine: Engine,
                       client: Client) -> bool:
    """Store the email on its case and tell the case workflow (again, for a duplicate: the
    workflow takes each message once, and a crash between the two must not lose the news).
    False for a duplicate."""
    message_id, new = await asyncio.to_thread(store_mail, engine, mail, case_id)
    await tell_respondent_mail(client, case_id, RespondentMail(message_id=message_id,
                                                               kind=mail.kind))
    return new
