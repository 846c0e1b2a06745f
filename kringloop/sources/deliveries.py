"""The record of every delivery to a source: what became of it, the request kept while it may
be read again, each failed fetch, and an unsubscribe put on the suppression list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from kringloop.database import session_for
from kringloop.mail.suppression import suppress
from kringloop.org.organisation import SurveySource
from kringloop.sources.models import KEEPS_REQUEST, HookDelivery
from kringloop.sources.reading import Delivery

# Headers never kept with a delivery: they are credentials, not what the tool said.
SECRET_HEADERS = ("authorization", "cookie", "x-api-token", "sm-apikey")


async def record(engine: Engine, delivery_id: str, source: str, status: str, *,
                 response_id: str | None = None, error: str | None = None,
                 delivery: Delivery | None = None) -> None:
    """What became of the delivery (new, replayed or fetched), written off the event loop."""
    await asyncio.to_thread(_write, engine, delivery_id, source, status, response_id, error,
                            delivery)


def _write(engine: Engine, delivery_id: str, source: str, status: str,
           response_id: str | None, error: str | None, delivery: Delivery | None) -> None:
    with session_for(engine) as session:
        _settle(session, delivery_id, source, status, response_id=response_id, error=error,
                delivery=delivery)
        session.commit()


def _settle(session: Session, delivery_id: str, source: str, status: str, *,
            response_id: str | None = None, error: str | None = None,
            delivery: Delivery | None = None) -> None:
    """The delivery's row, new or again (a replay, a fetch): the request is kept only while
    it may have to be read again."""
    now = datetime.now(UTC)
    row = session.get(HookDelivery, delivery_id) or HookDelivery(
        id=delivery_id, source=source, received_at=now, status=status)
    row.status, row.error = status, error
    row.response_id = response_id or row.response_id
    if status in KEEPS_REQUEST:
        if delivery is not None:
            row.body = delivery.body
            row.headers = {name: value for name, value in delivery.headers.items()
                           if name.lower() not in SECRET_HEADERS}
    else:
        row.body, row.headers, row.settled_at = None, None, now
    session.add(row)


def record_failed_try(engine: Engine, delivery_id: str, error: str) -> None:
    """A fetch that failed this time: the admin sees it failing, and how often it was tried."""
    with session_for(engine) as session:
        row = session.get(HookDelivery, delivery_id)
        if row is not None:
            row.status, row.error, row.attempts = "failing", error, row.attempts + 1
            session.add(row)
            session.commit()


def unsubscribe(engine: Engine, delivery_id: str, source: SurveySource, email: str) -> None:
    """The address on the suppression list, and the delivery settled, in one transaction."""
    with session_for(engine) as session:
        suppress(session=session, email=email, reason=f"unsubscribed in {source.kind}",
                 source=source.name, now=datetime.now(UTC))
        _settle(session, delivery_id, source.name, "unsubscribed")
        session.commit()


def kept_unmapped(engine: Engine, source: str) -> list[HookDelivery]:
    """The source's deliveries waiting for a replay, oldest first."""
    with session_for(engine) as session:
        return list(session.exec(select(HookDelivery).where(
            HookDelivery.source == source, HookDelivery.status == "unmapped")
            .order_by(HookDelivery.received_at)).all())


def forget_kept_requests(*, session: Session, before: datetime) -> int:
    """Requests kept for a replay that never came, received before `before`: a survey tool's
    body holds the person's answers and identity, so it is not kept past the retention
    period. The row stays, saying what became of it."""
    kept = session.exec(select(HookDelivery).where(
        col(HookDelivery.body).is_not(None), col(HookDelivery.received_at) < before)).all()
    for row in kept:
        row.body, row.headers = None, None
        row.error = f"{row.error or ''} (request erased after the retention period)".strip()
        session.add(row)
    return len(kept)
