"""Activities of the rejection workflow: plan the moments, record the steps, send the emails.

Each is a thin adapter over `kringloop.rejections`: it reads the server's clock from
`activity.info()`, runs the blocking database step in a thread (never on the worker's event
loop), and awaits the sending itself.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import Engine
from temporalio import activity

from kringloop.mail.messages import EmailReceipt
from kringloop.mail.outbox import send_once
from kringloop.org.organisation import Organisation
from kringloop.rejections import emails, steps
from kringloop.rejections.messages import RejectionEmail, RejectionPlan, RejectionStep
from kringloop.settings import Settings


def _now() -> datetime:
    """When the step happened: the server's clock (simulated time in tests), not the worker's."""
    return activity.info().scheduled_time


class RejectionActivities:
    """Rejection bookkeeping and email; one instance per worker."""

    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    @activity.defn
    async def schedule_rejection(self, rejection_id: str) -> RejectionPlan:
        """Decide when the email goes out, once per round: the recruiter's moment, or the hold
        and then the next moment inside the applicant's working hours."""
        return await asyncio.to_thread(
            steps.schedule_rejection, engine=self.engine, org=self.org, settings=self.settings,
            rejection_id=rejection_id, decided_at=_now())

    @activity.defn
    async def schedule_survey(self, rejection_id: str) -> datetime:
        """The candidate-NPS survey's moment: some days after the email, in working hours."""
        return await asyncio.to_thread(
            steps.schedule_survey, engine=self.engine, org=self.org, settings=self.settings,
            rejection_id=rejection_id, now=_now())

    @activity.defn
    async def record_step(self, step: RejectionStep) -> None:
        await asyncio.to_thread(steps.record_step, engine=self.engine, step=step, at=_now())

    @activity.defn
    async def send_rejection_email(self, order: RejectionEmail) -> EmailReceipt:
        row = await asyncio.to_thread(steps.addressed, engine=self.engine,
                                      rejection_id=order.rejection_id)
        return await send_once(
            emails.outgoing(order=order, row=row, org=self.org, settings=self.settings),
            # With the organisation as it is now: a reloaded org file reaches the email.
            lambda: emails.compose(kind=order.kind, row=row, org=self.org,
                                   settings=self.settings),
            engine=self.engine, settings=self.settings,
            record=steps.email_outcome(order=order, at=_now()))
