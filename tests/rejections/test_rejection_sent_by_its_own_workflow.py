"""A rejection made before vacancy mailings is still sent by its own RejectionWorkflow: the
email at the recruiter's moment, then, days later, the candidate-NPS survey."""

from __future__ import annotations

from datetime import timedelta

from kringloop.rejections.rules import recruiting_team_for
from kringloop.rejections.scheduling import as_rejection
from kringloop.rejections.schemas import RejectionCreate
from tests.support.mail import body_of, links_in
from tests.support.rejections import CERTIFICATE, Recruiting, applicant, rejection


async def test_a_rejection_in_its_own_workflow_is_sent_then_surveyed_once(
    recruiting: Recruiting,
) -> None:
    kringloop, lisa = recruiting.kringloop, applicant("own-workflow")
    now = await recruiting.now()
    payload = RejectionCreate.model_validate(rejection(lisa, send_at=now.isoformat()))
    row = as_rejection(payload, recruiting_team_for(kringloop.org, "nl").lead, actor="admin",
                       now=now)
    await recruiting.start_as_before_mailings(row)

    [email] = await kringloop.smtp.wait_for(1)
    sent = await recruiting.rejection_when(row.id, lambda r: r["status"] == "sent")
    await recruiting.sleep(timedelta(days=5))
    [_, survey] = await kringloop.smtp.wait_for(2)

    assert email["To"].addresses[0].addr_spec == lisa["email"]
    assert CERTIFICATE in body_of(email) and len(links_in(email, "/f/")) == 1
    assert sent["sent_at"] is not None
    assert len(links_in(survey, "/c/")) == 11
    assert await recruiting.ended(row.id) == "COMPLETED"
    found = await recruiting.rejection(row.id)
    assert [e["kind"] for e in found["timeline"]] == [
        "received", "scheduled", "email_sent", "survey_scheduled", "email_sent"]
    assert "at the moment the recruiter chose" in found["timeline"][1]["detail"]
    assert found["timeline"][3]["detail"].startswith("candidate-NPS survey to go out ")
    assert len(kringloop.smtp.received) == 2, "each email once"
