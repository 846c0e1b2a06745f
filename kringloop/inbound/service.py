"""Taking in one inbound email, whichever way it came (the SMTP listener, Mailgun's webhook):
read, matched to its case, stored there and told to the case workflow; or quarantined, with
one log line saying why. Never attached to a case it does not belong to."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select
from temporalio.client import Client

from kringloop.cases.emails import reply_base
from kringloop.cases.models import CaseMessage
from kringloop.cases.replies import ArrivedMail, CaseFound, case_for_mail, take_in_mail
from kringloop.database import session_for
from kringloop.inbound import attachments
from kringloop.inbound.models import QuarantinedMail
from kringloop.inbound.reading import Unfit, for_reply_domain, read_mail
from kringloop.inbound.words import clean_text
from kringloop.mail.models import OutboxMessage
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings

log = logging.getLogger("kringloop")

# taken: stored with its case (and told to the workflow); duplicate: stored before, told again;
# quarantined: kept aside, not on any case; refused: not ours to take (nothing kept).
ReceivedStatus = Literal["taken", "duplicate", "quarantined", "refused"]


@dataclass(frozen=True)
class Received:
    """What became of one inbound email."""

    status: ReceivedStatus
    reason: str = ""
    case_id: str | None = None
    too_large: bool = False


# What the quarantine holds at most, and how long: an operator looks within days, and the
# mail is personal data of whoever sent it.
QUARANTINE_MAX_BYTES = 200 * 1024 * 1024
QUARANTINE_DAYS = 30


def forget_quarantined(session: Session, *, before: datetime | None = None,
                       sender: str | None = None) -> int:
    """Delete quarantined mail received before `before`, or sent from `sender` (an erasure);
    how many. The caller commits."""
    query = select(QuarantinedMail)
    if before is not None:
        query = query.where(QuarantinedMail.received_at < before)
    if sender is not None:
        query = query.where(func.lower(QuarantinedMail.sender) == sender.lower())
    rows = session.exec(query).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def attachments_folder(settings: Settings) -> Path:
    return settings.home / "attachments"


async def receive(raw: bytes, *, recipients: Sequence[str], engine: Engine, client: Client,
                  settings: Settings, org: Organisation, via: str = "smtp") -> Received:
    """Take in one email as it arrived, with its envelope recipients."""
    reply_address = reply_base(settings, org)
    if reply_address is None:
        return _refused("no reply address is configured (reply_address in the organisation "
                        "file, or KRINGLOOP_REPLY_ADDRESS)")
    if len(raw) > settings.inbound_max_bytes:
        return _refused(f"larger than {settings.inbound_max_bytes} bytes", too_large=True)
    if not any(for_reply_domain(address, reply_address) for address in recipients):
        return _refused("not addressed to the reply address's domain")
    read = await asyncio.to_thread(
        read_mail, raw, reply_address=reply_address, recipients=recipients,
        attachment_max_bytes=settings.inbound_attachment_max_bytes)
    if isinstance(read, Unfit):
        return await _quarantined(engine, raw, reason=read.reason, sender=read.sender,
                                  recipients=recipients, via=via)
    found = await asyncio.to_thread(_case_for, engine, read.mail)
    if found.discard:  # the person was erased: what they write now is not kept anywhere
        return _refused(found.how)
    if found.case_id is None:
        return await _quarantined(engine, raw, reason=found.how, sender=read.mail.sender,
                                  recipients=recipients, via=via)
    folder = attachments_folder(settings)
    kept = await asyncio.to_thread(attachments.keep, read.files, folder)
    mail = replace(read.mail, attachments=kept)
    try:
        new = await take_in_mail(mail, case_id=found.case_id, engine=engine, client=client)
    except ValueError:  # its Message-ID is on another case already: a forgery or a mix-up
        await asyncio.to_thread(_forget_unstored, engine, mail, folder)
        return await _quarantined(engine, raw, reason="its Message-ID was taken in for "
                                  "another case", sender=mail.sender, recipients=recipients,
                                  via=via)
    except BaseException:
        await asyncio.to_thread(_forget_unstored, engine, mail, folder)
        raise
    if not new:  # the message stored the first time keeps the files stored then
        await asyncio.to_thread(_forget_unstored, engine, mail, folder)
    log.info("inbound %s taken in for %s (by %s)", mail.kind, found.case_id, found.how,
             extra={"case_id": found.case_id, "kind": mail.kind, "via": via, "new": new})
    return Received("taken" if new else "duplicate", case_id=found.case_id)


def _forget_unstored(engine: Engine, mail: ArrivedMail, folder: Path) -> None:
    """Remove the files kept for `mail` that no stored message names (it was taken in
    before, or not at all); when that cannot be known now, they stay."""
    try:
        with session_for(engine) as session:
            stored = session.exec(select(CaseMessage.attachments).where(
                CaseMessage.message_id == mail.message_id)).first()
    except Exception:
        log.exception("files of an inbound email were left in place")
        return
    named = {file["stored"] for file in stored or []}
    attachments.forget(tuple(a for a in mail.attachments if a["stored"] not in named), folder)


def _refused(reason: str, *, too_large: bool = False) -> Received:
    log.info("inbound mail refused: %s", reason)
    return Received("refused", reason, too_large=too_large)


def _case_for(engine: Engine, mail: ArrivedMail) -> CaseFound:
    """The case by the contract (cases.replies), and not when the email's references point
    at another case's emails than its token does."""
    with session_for(engine) as session:
        found = case_for_mail(session, mail)
        if found.case_id is not None and found.how == "token" and _refers_elsewhere(
                session, mail, found.case_id):
            return CaseFound(None, "its reply token and its references point at different "
                                   "cases")
        return found


def _refers_elsewhere(session: Session, mail: ArrivedMail, case_id: str) -> bool:
    if not mail.references:
        return False
    return session.exec(select(OutboxMessage.key).where(
        col(OutboxMessage.message_id).in_(mail.references),
        col(OutboxMessage.case_id).is_not(None), OutboxMessage.case_id != case_id)
    ).first() is not None


async def _quarantined(engine: Engine, raw: bytes, *, reason: str, sender: str | None,
                       recipients: Sequence[str], via: str) -> Received:
    number = await asyncio.to_thread(quarantine, engine, raw, reason=reason, sender=sender,
                                     recipients=recipients, via=via)
    # One line, with no address or words in it: the reason is ours, never the sender's text.
    log.warning("inbound mail quarantined (#%s): %s", number, reason,
                extra={"quarantine_id": number, "via": via, "size": len(raw)})
    return Received("quarantined", reason)


def quarantine(engine: Engine, raw: bytes, *, reason: str, sender: str | None,
               recipients: Sequence[str], via: str) -> int:
    """Keep the email aside, whole; the same bytes again are the row kept before. A full
    quarantine keeps only the facts (a stream of strangers' mail must not fill the disk)."""
    digest = hashlib.sha256(raw).hexdigest()
    with session_for(engine) as session:
        before = session.exec(select(QuarantinedMail.id)
                              .where(QuarantinedMail.sha256 == digest)).first()
        if before is not None:
            return before
        held = session.exec(select(func.coalesce(func.sum(QuarantinedMail.size), 0))
                            .where(func.length(QuarantinedMail.raw) > 0)).one()
        size = len(raw)
        if held + size > QUARANTINE_MAX_BYTES:
            raw, reason = b"", f"{reason} (not kept whole: the quarantine is full)"
        row = QuarantinedMail(
            received_at=datetime.now(UTC), via=via, reason=reason[:300], sender=sender,
            recipients=[clean_text(r).replace("\n", " ")[:254] for r in recipients[:50]],
            size=size, sha256=digest, raw=raw)
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id
