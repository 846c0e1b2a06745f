"""Retention: every night a Temporal Schedule erases the personal data of loops that ended
longer ago than KRINGLOOP_RETENTION_MONTHS (24 by default); recent and open ones keep theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from temporalio.client import Client

from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.privacy.footprints import retention_cutoff
from kringloop.privacy.messages import RetentionRequest
from kringloop.rejections.models import Rejection
from kringloop.responses.models import SurveyResponse
from kringloop.runtime.schedules import ensure_retention_schedule
from kringloop.settings import SettingsError, load_settings
from kringloop.sources.models import HookDelivery
from tests.support.kringloop import Kringloop
from workflows.retention import RetentionWorkflow

MONTH = timedelta(days=31)


def add_case(kringloop: Kringloop, name: str, *, opened: datetime,
             closed: datetime | None) -> None:
    """A loyalty case as the case workflow leaves it: resolved and closed, or still open."""
    with session_for(kringloop.engine) as session:
        session.add(SurveyResponse(
            id=f"r-{name}", program="customer", score=4, category="detractor",
            comment=f"comment of {name}", respondent_id=f"klant-{name}", name=name,
            email=f"{name}@example.nl", language="nl", answered_at=opened, received_at=opened,
            case_id=f"case-r-{name}"))
        session.add(Case(
            id=f"case-r-{name}", response_id=f"r-{name}", program="customer", score=4,
            status="closed" if closed else "assigned", team_id="particulier", opened_at=opened,
            root_cause="delivery-late" if closed else None, closed_at=closed,
            action_taken=f"called {name} back" if closed else None, resolved_at=closed))
        session.commit()


def add_rejection(kringloop: Kringloop, name: str, *, sent: datetime) -> None:
    with session_for(kringloop.engine) as session:
        session.add(Rejection(
            id=f"rej-{name}", applicant_id=f"sol-{name}", applicant_name=name,
            applicant_email=f"{name}@example.nl", language="nl", vacancy_id="v-1",
            vacancy_title="Fietsenmaker", stage="interview", created_by="admin",
            reasons=[{"code": "certification", "sentence": f"{name}, je mist het diploma."}],
            recruiter_email="thijs.willems@fietsenwinkel.example", status="sent",
            sent_at=sent, created_at=sent - timedelta(hours=20)))
        session.commit()


def still_known(kringloop: Kringloop) -> set[str]:
    with session_for(kringloop.engine) as session:
        customers = {name for name in session.exec(select(SurveyResponse.name)).all() if name}
        applicants = set(session.exec(select(Rejection.applicant_name)).all())
    return customers | applicants - {"[erased]"}


async def test_loops_that_ended_longer_ago_than_the_retention_period_lose_personal_data(
    live: Kringloop,
) -> None:
    # On the dev server, in real time: the time-skipping server's clock leaps when it idles.
    now = datetime.now(UTC)
    add_case(live, "oud", opened=now - 26 * MONTH, closed=now - 25 * MONTH)
    add_case(live, "recent", opened=now - 2 * MONTH, closed=now - MONTH)
    add_case(live, "open", opened=now - 30 * MONTH, closed=None)
    add_rejection(live, "sollicitant-oud", sent=now - 25 * MONTH)
    add_rejection(live, "sollicitant-recent", sent=now - 3 * MONTH)

    async def nightly_run(run: int) -> int:
        return await live.env.client.execute_workflow(  # type: ignore[no-any-return]
            RetentionWorkflow.run, RetentionRequest(months=24),
            id=f"retention-{live.settings.task_queue}-{run}", task_queue=live.settings.task_queue)

    assert await nightly_run(1) == 3, "the old case, its answer, the old rejection"
    assert still_known(live) == {"recent", "open", "sollicitant-recent"}
    with session_for(live.engine) as session:
        old = session.get(Case, "case-r-oud")
        assert old is not None
        assert (old.score, old.root_cause, old.action_taken) == (4, "delivery-late", "[erased]")
        kept = session.get(Case, "case-r-recent")
        assert kept is not None and kept.action_taken == "called recent back"
    assert [kind for kind, _ in live.timeline("case-r-oud")] == ["erased"]
    assert await nightly_run(2) == 0, "the next night finds nothing new"


async def test_a_survey_tools_request_kept_for_a_replay_is_not_kept_past_retention(
    live: Kringloop,
) -> None:
    now = datetime.now(UTC)
    with session_for(live.engine) as session:
        for name, received in (("old", now - 25 * MONTH), ("recent", now - MONTH)):
            session.add(HookDelivery(
                id=f"d-{name}", source="nps-webshop", received_at=received, status="unmapped",
                error="score: no 'nps'", body=b'{"email": "anna@example.nl"}',
                headers={"content-type": "application/json"}))
        session.commit()

    await live.env.client.execute_workflow(
        RetentionWorkflow.run, RetentionRequest(months=24),
        id=f"retention-{live.settings.task_queue}-hooks", task_queue=live.settings.task_queue)

    with session_for(live.engine) as session:
        old, recent = session.get(HookDelivery, "d-old"), session.get(HookDelivery, "d-recent")
        assert old is not None and recent is not None
        assert old.body is None and old.headers is None and "erased" in (old.error or "")
        assert recent.body == b'{"email": "anna@example.nl"}', "still there to be replayed"


async def test_the_nightly_retention_schedule_is_created_once(live: Kringloop) -> None:
    client: Client = live.env.client
    first = await ensure_retention_schedule(client, live.settings.task_queue, months=24)
    again = await ensure_retention_schedule(client, live.settings.task_queue, months=12)
    assert first == again == "retention"
    described = await client.get_schedule_handle(first).describe()
    calendar = described.schedule.spec.calendars[0]
    assert [r.start for r in calendar.hour] == [3] and [r.start for r in calendar.minute] == [0]
    await client.get_schedule_handle(first).delete()


def test_the_retention_period_is_24_months_unless_set_and_must_be_positive() -> None:
    assert load_settings().retention_months == 24
    assert load_settings(retention_months=6).retention_months == 6
    with pytest.raises(SettingsError, match="KRINGLOOP_RETENTION_MONTHS"):
        load_settings(retention_months=0)


def test_the_cutoff_counts_calendar_months() -> None:
    assert retention_cutoff(datetime(2026, 8, 31, 3, tzinfo=UTC), 6) == datetime(
        2026, 2, 28, 3, tzinfo=UTC)
    assert retention_cutoff(datetime(2026, 1, 15, tzinfo=UTC), 24) == datetime(
        2024, 1, 15, tzinfo=UTC)
