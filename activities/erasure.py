"""The retention activity: erase the personal data of loops that ended too long ago."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Engine
from temporalio import activity

from kringloop.privacy.erasure import purge_expired
from kringloop.privacy.messages import RetentionRequest


class ErasureActivities:
    """One instance per worker; `outbox` is the embedded SMTP sink's folder, if it runs one."""

    def __init__(self, *, engine: Engine, outbox: Path | None = None) -> None:
        self.engine = engine
        self.outbox = outbox

    @activity.defn
    async def purge_expired_personal_data(self, request: RetentionRequest) -> int:
        """How many responses, cases and rejections lost their personal data (counts only:
        the workflow's history names no one)."""
        # The server's clock (simulated time in tests), as every step of a loop is stamped.
        summary = await asyncio.to_thread(
            purge_expired, engine=self.engine, now=activity.info().scheduled_time,
            months=request.months, outbox=self.outbox)
        return summary.responses + summary.feedback_calls + summary.cases + summary.rejections
