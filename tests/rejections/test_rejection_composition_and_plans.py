"""The rejection's email and moments as pure functions of its row: no worker, no Temporal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from kringloop.org.organisation import Organisation
from kringloop.rejections.emails import compose, outgoing
from kringloop.rejections.messages import RejectionEmail
from kringloop.rejections.models import Rejection
from kringloop.rejections.planning import candidate_policy, send_plan, survey_plan
from kringloop.security.signed_links import read_feedback_call_token, read_survey_token
from kringloop.settings import Settings
from tests.support.people import THIJS
from tests.support.rejections import CERTIFICATE
from tests.support.working_days import AMSTERDAM, LONDON


def rejected(**fields: Any) -> Rejection:
    """A rejection row as the API stores it, before its mailing plans it."""
    return Rejection(**{
        "id": "rej-sol-1-v-fietsenmaker-0a1b2c3d", "applicant_id": "sol-1",
        "applicant_name": "Lisa Jansen", "applicant_email": "lisa.jansen@example.nl",
        "language": "nl", "vacancy_id": "v-fietsenmaker", "vacancy_title": "Fietsenmaker",
        "stage": "interview", "reasons": [{"code": "certification", "sentence": CERTIFICATE}],
        "recruiter_email": THIJS, "created_by": "Thijs Willems",
        "created_at": datetime(2026, 11, 27, 15, 0, tzinfo=UTC), **fields})


def links(text: str, path: str) -> list[str]:
    return re.findall(rf"http://kringloop\.test{re.escape(path)}(\S+)", text)


# The emails --------------------------------------------------------------------------------

def test_the_rejection_email_is_written_from_the_row_and_signed_by_its_recruiter(
    org: Organisation, settings: Settings,
) -> None:
    row = rejected()

    email = compose(kind="rejection", row=row, org=org, settings=settings)

    assert email.subject == "Lisa, over je sollicitatie als Fietsenmaker"
    assert email.text.startswith("Hoi Lisa,\n")
    assert CERTIFICATE in email.text
    assert email.text.rstrip().endswith(f"Thijs Willems\nWerving & Selectie, {org.name}")
    feedback, = links(email.text, "/f/")
    assert read_feedback_call_token(settings.signing_key, feedback) == row.id


def test_the_email_goes_once_to_the_applicant_and_replies_reach_the_recruiter(
    org: Organisation, settings: Settings,
) -> None:
    row = rejected()
    order = RejectionEmail(rejection_id=row.id, kind="rejection", key=f"{row.id}:rejection:1")

    envelope = outgoing(order=order, row=row, org=org, settings=settings)

    assert envelope.key == f"{row.id}:rejection:1" and envelope.kind == "rejection"
    assert (envelope.to.name, envelope.to.email, envelope.to.language) == (
        "Lisa Jansen", "lisa.jansen@example.nl", "nl")
    assert envelope.reply_to == THIJS
    # From the recruiter, on the organisation's behalf and from its own address.
    assert envelope.from_name == "Thijs Willems"
    assert envelope.sender is not None and envelope.sender.address == org.email


def test_a_recruiter_who_left_is_replaced_by_the_recruiting_lead_in_the_signature(
    org: Organisation, settings: Settings,
) -> None:
    row = rejected(recruiter_email="left.long.ago@fietsenwinkel.example")

    email = compose(kind="rejection", row=row, org=org, settings=settings)

    assert email.text.rstrip().endswith(f"Anouk Peters\nWerving & Selectie, {org.name}")


def test_the_survey_email_offers_eleven_scores_each_for_this_rejection(
    org: Organisation, settings: Settings,
) -> None:
    row = rejected(language="en", applicant_name="Sam Carter")

    email = compose(kind="cnps", row=row, org=org, settings=settings)

    assert email.subject == f"Sam, how was applying at {org.name} for you?"
    clicks = [read_survey_token(settings.signing_key, token)
              for token in links(email.text, "/c/")]
    assert [(click.rejection_id, click.score) for click in clicks] == [
        (row.id, score) for score in range(11)]


# The moments -------------------------------------------------------------------------------

def test_the_send_plan_waits_the_hold_then_the_next_working_morning_and_says_so(
    org: Organisation,
) -> None:
    friday_afternoon = datetime(2026, 11, 27, 16, 55, tzinfo=AMSTERDAM)

    send_at, detail = send_plan(row=rejected(), decided_at=friday_afternoon,
                                policy=candidate_policy(org), time_scale=1.0)

    assert send_at == datetime(2026, 11, 30, 9, 0, tzinfo=AMSTERDAM)
    assert detail == ("to go out Mon 30 Nov 2026 09:00 (Europe/Amsterdam), "
                      "after the 24-hour hold, inside working hours")


def test_the_send_plan_keeps_the_moment_the_recruiter_chose(org: Organisation) -> None:
    decided = datetime(2026, 11, 27, 16, 55, tzinfo=AMSTERDAM)
    saturday_night = datetime(2026, 11, 28, 2, 0, tzinfo=AMSTERDAM)

    send_at, detail = send_plan(row=rejected(requested_send_at=saturday_night),
                                decided_at=decided, policy=candidate_policy(org),
                                time_scale=1.0)

    assert send_at == saturday_night
    assert detail == ("to go out Sat 28 Nov 2026 02:00 (Europe/Amsterdam), "
                      "at the moment the recruiter chose")


def test_a_demos_time_scale_shrinks_the_hold(org: Organisation) -> None:
    tuesday_morning = datetime(2026, 12, 1, 10, 30, tzinfo=AMSTERDAM)

    send_at, _ = send_plan(row=rejected(), decided_at=tuesday_morning,
                           policy=candidate_policy(org), time_scale=24.0)

    assert send_at == tuesday_morning + timedelta(hours=1)


def test_the_survey_plan_follows_the_email_by_days_inside_the_applicants_working_hours(
    org: Organisation,
) -> None:
    sent_friday_evening = datetime(2026, 11, 27, 17, 30, tzinfo=LONDON)

    survey_at, detail = survey_plan(row=rejected(language="en"), sent_at=sent_friday_evening,
                                    policy=candidate_policy(org), time_scale=1.0)

    # Two days later is Sunday evening: Monday morning, London time.
    assert survey_at == datetime(2026, 11, 30, 9, 0, tzinfo=LONDON)
    assert detail == "candidate-NPS survey to go out Mon 30 Nov 2026 09:00 (Europe/London)"
