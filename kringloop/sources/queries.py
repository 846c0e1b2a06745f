"""What the admin's sources page shows: each source, its last delivery, what became of its
deliveries, and those that need a hand (unmapped, or a fetch that keeps failing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from kringloop.org.organisation import Organisation, SurveySource
from kringloop.sources.models import HookDelivery

NEEDS_A_HAND = ("unmapped", "failing", "fetching")
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class SourceOverview:
    source: SurveySource
    last_delivery_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[HookDelivery] = field(default_factory=list)


def sources_overview(*, session: Session, org: Organisation) -> list[SourceOverview]:
    """Every source of the organisation file, in its order."""
    counted: dict[str, dict[str, int]] = {}
    last: dict[str, datetime] = {}
    for source, status, count, latest in session.exec(
            select(HookDelivery.source, HookDelivery.status, func.count(),
                   func.max(HookDelivery.received_at))
            .group_by(HookDelivery.source, HookDelivery.status)).all():
        counted.setdefault(source, {})[status] = count
        last[source] = max(latest, last.get(source, latest))
    return [SourceOverview(source=source, last_delivery_at=last.get(source.name),
                           counts=counted.get(source.name, {}),
                           problems=_problems(session, source.name))
            for source in org.sources]


def _problems(session: Session, source: str) -> list[HookDelivery]:
    return list(session.exec(
        select(HookDelivery).where(HookDelivery.source == source,
                                   col(HookDelivery.status).in_(NEEDS_A_HAND))
        .order_by(col(HookDelivery.received_at).desc()).limit(SHOWN_PROBLEMS)).all())
