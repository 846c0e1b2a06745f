"""Activities for the morning digest and the weekly spotlight: who gets one, and sending it."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from temporalio import activity

from kringloop.cases import rhythms
from kringloop.cases.messages import TeamMorning, TeamMorningRequest
from kringloop.mail.identity import sender_of
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings


class DigestActivities:
    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    @activity.defn
    async def plan_team_morning(self, request: TeamMorningRequest) -> TeamMorning:
        return await asyncio.to_thread(rhythms.plan_team_morning, engine=self.engine,
                                       org=self.org, request=request,
                                       fired_at=activity.info().scheduled_time)

    @activity.defn
    async def send_digest(self, team_id: str, member_email: str, day: str) -> EmailReceipt:
        email = await asyncio.to_thread(
            rhythms.digest, engine=self.engine, org=self.org, settings=self.settings,
            team_id=team_id, member_email=member_email, day=day,
            fired_at=activity.info().scheduled_time)
        return await self._send(email)

    @activity.defn
    async def send_spotlight(self, team_id: str, member_email: str, day: str) -> EmailReceipt:
        """The member's spotlight; after a quiet week none is sent (the receipt says so)."""
        email = await asyncio.to_thread(
            rhythms.spotlight, engine=self.engine, org=self.org, settings=self.settings,
            team_id=team_id, member_email=member_email, day=day,
            fired_at=activity.info().scheduled_time)
        if email is None:
            return EmailReceipt(key=rhythms.spotlight_key(team_id, member_email, day),
                                message_id="", sent=False, error="nothing to say this week")
        return await self._send(email)

    async def _send(self, email: rhythms.MorningEmail) -> EmailReceipt:
        return await send_once(Outgoing(key=email.key, kind=email.kind, to=email.to,
                                        sender=sender_of(self.settings, self.org)),
                               email.render, engine=self.engine, settings=self.settings,
                               record=rhythms.no_timeline)
