"""The quarantine keeps mail that reached no case for an operator to look at, but not for
ever, not without bound, and not once its sender is erased."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from kringloop.database import session_for
from kringloop.inbound import service
from kringloop.inbound.models import QuarantinedMail
from kringloop.inbound.service import forget_quarantined, quarantine
from kringloop.privacy.erasure import purge_expired
from tests.support.inbound import quarantined


def kept(engine: Engine, raw: bytes, sender: str = "vreemde@example.org") -> int:
    return quarantine(engine, raw, reason="unknown reply token", sender=sender,
                      recipients=["antwoord+x@antwoord.fietsenwinkel.example"], via="smtp")


def test_a_full_quarantine_keeps_the_facts_but_not_the_mail(
    engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "QUARANTINE_MAX_BYTES", 1000)
    kept(engine, b"x" * 600)
    kept(engine, b"y" * 600)
    first, second = quarantined(engine)
    assert first.raw == b"x" * 600
    assert second.raw == b"" and second.size == 600 and "quarantine is full" in second.reason


def test_quarantined_mail_goes_after_30_days_with_the_retention_purge(engine: Engine) -> None:
    old = kept(engine, b"old mail")
    kept(engine, b"new mail")
    with session_for(engine) as session:
        row = session.get(QuarantinedMail, old)
        assert row is not None
        row.received_at = datetime.now(UTC) - timedelta(days=31)
        session.add(row)
        session.commit()
    summary = purge_expired(engine=engine, now=datetime.now(UTC), months=24, outbox=None)
    assert summary.quarantined_mail == 1
    assert [m.raw for m in quarantined(engine)] == [b"new mail"]


def test_erasing_a_person_forgets_their_quarantined_mail(engine: Engine) -> None:
    kept(engine, b"from anna", sender="Anna@Example.nl")
    kept(engine, b"from someone else")
    with session_for(engine) as session:
        assert forget_quarantined(session, sender="anna@example.nl") == 1
        session.commit()
    assert [m.raw for m in quarantined(engine)] == [b"from someone else"]
