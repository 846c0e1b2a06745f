"""Erasing personal data: one person's on their request (`kringloop erase`, the admin API), and
every loop's once the retention period after it ended has passed (workflows/retention.py).

The database records lose it in one transaction (kringloop/erasure_records.py); then the
person's running cases and rejections hear of it through an update and stop contacting them,
and the embedded SMTP sink's copies of emails to them are deleted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import (
    Client,
)

from kringloop.database import session_for, wipe_erased_traces
from kringloop.inbound.service import QUARANTINE_DAYS, forget_quarantined
from kringloop.mail.models import OutboxMessage
from kringloop.privacy.flows import stop_contacting
from kringloop.privacy.footprints import (
    ErasureSummary,
    Footprint,
    erase_footprint,
    expired_footprint,
    footprint_of,
    outbox_of,
    retention_cutoff,
)
from kringloop.privacy.messages import ERASED_ON_REQUEST
from kringloop.rejections.queries import cancel_scheduled
from kringloop.sources.deliveries import forget_kept_requests

log = logging.getLogger("kringloop.erasure")


@dataclass(frozen=True)
class MailCopies:
    """Which copies in the embedded SMTP sink are about the person: sent to one of their
    addresses, or one of the emails about their cases (the team's mention them too)."""

    addresses: set[str]
    message_ids: set[str]

    @staticmethod
    def of(found: Footprint, messages: list[OutboxMessage]) -> MailCopies:
        """Read before the erasure: it clears the addresses."""
        return MailCopies(addresses=found.addresses(),
                          message_ids={m.message_id for m in messages})


def remove_mail_copies(folder: Path | None, copies: MailCopies) -> int:
    """Delete the embedded SMTP sink's .eml copies of emails about the person."""
    if folder is None or not folder.is_dir():
        return 0
    parser = BytesHeaderParser(policy=default_policy)
    removed = 0
    for path in folder.glob("*.eml"):
        with path.open("rb") as file:
            headers = parser.parse(file)
        fields = [str(h) for name in ("To", "Cc", "Bcc") for h in headers.get_all(name, [])]
        if ({address.lower() for _, address in getaddresses(fields)} & copies.addresses
                or str(headers.get("Message-ID", "")) in copies.message_ids):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def erase_respondent(respondent_id: str, *, engine: Engine, temporal: Client | None,
                           outbox: Path | None, actor: str) -> ErasureSummary:
    """Erase one person's personal data everywhere Kringloop keeps it; `found` is False when
    there was nothing (an unknown id, or one erased before). The database and the outbox
    folder are worked on in a thread: never on the event loop."""
    summary, copies, running = await asyncio.to_thread(_erase_records, engine, respondent_id,
                                                       actor)
    if temporal is not None and summary.found:
        summary.running_workflows = await stop_contacting(temporal, actor=actor, **running)
    summary.mail_copies = await asyncio.to_thread(remove_mail_copies, outbox, copies)
    log.info("personal data erased on request", extra=summary.model_dump())
    return summary


def _erase_records(engine: Engine, respondent_id: str, actor: str
                   ) -> tuple[ErasureSummary, MailCopies, dict[str, list[str]]]:
    """The person's records erased in one transaction; what to tell and delete afterwards."""
    with session_for(engine) as session:
        found = footprint_of(session=session, respondent_id=respondent_id)
        messages = outbox_of(session=session, found=found)
        copies, running = MailCopies.of(found, messages), found.running_workflows()
        for rejection in found.rejections:  # a mailing's rejection on hold: never sent now
            if rejection.status == "scheduled" and rejection.mailing_id is not None:
                cancel_scheduled(session=session, row=rejection, actor=actor,
                                 at=datetime.now(UTC), detail="personal data erased before "
                                                              "sending: no email will go out")
        # Their mail that reached no case goes too (in the same transaction).
        forgotten = sum(forget_quarantined(session, sender=address)
                        for address in found.addresses())
        summary = erase_footprint(session=session, found=found, outbox=messages,
                                  at=datetime.now(UTC), actor=actor, why=ERASED_ON_REQUEST)
        summary.quarantined_mail = forgotten
    wipe_erased_traces(engine)
    return summary, copies, running


def purge_expired(*, engine: Engine, now: datetime, months: int, outbox: Path | None
                  ) -> ErasureSummary:
    """The retention rule: erase the personal data of loops that ended `months` months ago.
    Their workflows have ended, so there is nobody running to tell."""
    with session_for(engine) as session:
        found = expired_footprint(session=session, before=retention_cutoff(now, months))
        messages = outbox_of(session=session, found=found)
        copies = MailCopies.of(found, messages)
        summary = erase_footprint(
            session=session, found=found, outbox=messages, at=now, actor="kringloop",
            why=f"personal data erased after the {months}-month retention period")
        summary.hook_deliveries = forget_kept_requests(
            session=session, before=retention_cutoff(now, months))
        summary.quarantined_mail = forget_quarantined(
            session, before=now - timedelta(days=QUARANTINE_DAYS))
        session.commit()
    wipe_erased_traces(engine)
    summary.mail_copies = remove_mail_copies(outbox, copies)
    log.info("retention purge", extra=summary.model_dump())
    return summary
