"""Activities of a vacancy's rejection mailing: plan the new rejections, send what is due.

A thin adapter over `kringloop.rejections.mailing` (where the round's logic and its reasons
are): the round's database work runs in a thread, never on the worker's event loop, and the
sending is awaited, bounded by the round's time and the attempt's timeout.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine
from temporalio import activity

from kringloop.mail.outbox import attempt_ends
from kringloop.org.organisation import Organisation
from kringloop.rejections.mailing import ROUND_SECONDS, next_moment, send_round, take_round
from kringloop.rejections.messages import MailingProgress, MailingRound
from kringloop.settings import Settings


class RejectionMailingActivities:
    """One instance per worker; writes the emails with the rejection workflow's own composer
    (`kringloop.rejections.emails`), for the organisation as the worker has it now."""

    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    @activity.defn
    async def mail_due(self, mailing: MailingRound) -> MailingProgress:
        """Plan the rejections that have no moment yet, send the rejections and surveys that
        are due, and say when the next one is."""
        cut_off, attempt_ends_at = time.monotonic() + ROUND_SECONDS, attempt_ends()
        due = await asyncio.to_thread(take_round, engine=self.engine, org=self.org,
                                      settings=self.settings, mailing=mailing)
        if not await send_round(due.emails, engine=self.engine, settings=self.settings,
                                mailing_id=mailing.mailing_id, cut_off=cut_off,
                                attempt_ends_at=attempt_ends_at):
            return MailingProgress(next_at=mailing.now, more_due=True)
        return MailingProgress(
            next_at=await asyncio.to_thread(next_moment, engine=self.engine,
                                            mailing_id=mailing.mailing_id),
            more_due=due.full)
