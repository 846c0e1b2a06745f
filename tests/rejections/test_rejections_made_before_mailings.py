"""A rejection made before vacancy mailings existed still has its own RejectionWorkflow; a
recruiter cancels it as before, and no mailing takes it over."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from kringloop.database import session_for
from kringloop.rejections.models import Rejection
from kringloop.rejections.rules import recruiting_team_for
from kringloop.rejections.scheduling import as_rejection
from kringloop.rejections.schemas import RejectionCreate
from tests.support.rejections import Recruiting, applicant, rejection


async def test_a_rejection_on_hold_in_its_own_workflow_is_cancelled_by_that_workflow(
    recruiting: Recruiting,
) -> None:
    kringloop = recruiting.kringloop
    payload = RejectionCreate.model_validate(rejection(applicant("before-mailings")))
    recruiter = recruiting_team_for(kringloop.org, "nl").lead
    row = as_rejection(payload, recruiter, actor="admin", now=datetime.now(UTC))
    assert row.mailing_id is None, "stored the way the intake stored it before mailings"
    await recruiting.start_as_before_mailings(row)
    await recruiting.rejection_when(row.id, lambda r: r["send_at"])

    cancelled = await recruiting.cancel(row.id)

    assert cancelled.status_code == 200, cancelled.text
    assert await recruiting.ended(row.id) == "COMPLETED"
    found = await recruiting.rejection(row.id)
    assert found["status"] == "cancelled"
    assert [e["kind"] for e in found["timeline"]] == ["received", "scheduled", "cancelled"]
    with session_for(kringloop.engine) as session:
        assert session.exec(select(Rejection.mailing_id)).all() == [None], "no mailing took it"
    assert not kringloop.smtp.received
