"""Kringloop's counters for Prometheus (cases opened, emails sent, SLA breaches, recoveries),
counted from the records so every process agrees, beside the Temporal SDK's own metrics."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from sqlalchemy import Engine, func
from sqlmodel import col, select

from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.mail.models import OutboxMessage

log = logging.getLogger("kringloop")

# How old the counters may be: a scraper (or someone hammering /metrics) costs at most one
# round of counting queries per this many seconds.
COUNTS_MAX_AGE_S = 15.0


class CaseCounters:
    """Kringloop's counters, counted from the records at most every `max_age_s` seconds."""

    def __init__(self, engine: Engine, *, max_age_s: float = COUNTS_MAX_AGE_S) -> None:
        self.engine = engine
        self.max_age_s = max_age_s
        self._counted: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # two scrapes at once count once
            if self._counted is None or time.monotonic() - self._counted[0] > self.max_age_s:
                self._counted = (time.monotonic(), list(self._count()))
            yield from self._counted[1]

    def _count(self) -> Iterator[Metric]:
        opened = CounterMetricFamily("kringloop_cases_opened", "Cases opened", labels=["program"])
        emails = CounterMetricFamily("kringloop_emails_sent", "Emails sent", labels=["kind"])
        breaches = CounterMetricFamily("kringloop_sla_breaches",
                                       "Cases whose callback was not made in time")
        recoveries = CounterMetricFamily("kringloop_recoveries",
                                         "Detractors who answered the re-survey as passive or "
                                         "promoter")
        with session_for(self.engine) as session:
            for program, count in session.exec(
                    select(Case.program, func.count()).group_by(Case.program)).all():
                opened.add_metric([program], count)
            for kind, count in session.exec(
                    select(OutboxMessage.kind, func.count())
                    .where(OutboxMessage.status == "sent").group_by(OutboxMessage.kind)).all():
                emails.add_metric([kind], count)
            breaches.add_metric([], session.exec(
                select(func.count()).select_from(Case).where(Case.escalations > 0)).one())
            recoveries.add_metric([], session.exec(
                select(func.count()).select_from(Case).where(col(Case.recovered).is_(True))
            ).one())
        yield from (opened, emails, breaches, recoveries)


async def metrics_text(counters: CaseCounters, sdk_address: str | None) -> bytes:
    """The Prometheus exposition: Kringloop's counters, then the SDK's runtime metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(counters)  # type: ignore[arg-type]
    body = await asyncio.to_thread(generate_latest, registry)  # queries: off the event loop
    if sdk_address:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                body += (await client.get(f"http://{sdk_address}/metrics")).content
        except httpx.HTTPError:
            log.warning("temporal sdk metrics unavailable", extra={"address": sdk_address})
    return body
