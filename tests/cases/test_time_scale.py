"""TIME_SCALE compresses every policy duration, so a demo shows a week of casework in minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.cases import CaseActivities
from kringloop.cases.messages import CallbackRequest
from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.org.business_hours import add_business_hours
from kringloop.org.organisation import Organisation
from kringloop.responses.models import SurveyResponse

pytestmark = pytest.mark.office_hours  # these tests count the team's working hours


def opened_case(engine: Engine, opened_at: datetime) -> str:
    with session_for(engine) as session:
        session.add(SurveyResponse(id="scale-1", program="customer", score=2,
                                   category="detractor", language="nl", answered_at=opened_at,
                                   received_at=opened_at, case_id="case-scale-1"))
        session.add(Case(id="case-scale-1", response_id="scale-1", program="customer", score=2,
                         team_id="particulier", opened_at=opened_at))
        session.commit()
    return "case-scale-1"


async def test_time_scale_divides_the_callback_deadline_and_every_policy_wait(
    engine: Engine, org: Organisation,
) -> None:
    opened_at = datetime(2026, 12, 24, 14, 0, tzinfo=UTC)  # Christmas Eve, 15:00 Amsterdam
    case_id = opened_case(engine, opened_at)
    scaled = CaseActivities(engine=engine, org=org, time_scale=3600)
    plan = await ActivityEnvironment().run(scaled.schedule_callback, CallbackRequest(
        case_id=case_id, team_id="particulier", score=2, program="customer", step="s"))

    real_due = add_business_hours(org.team("particulier"), opened_at, 24)
    assert real_due - opened_at > timedelta(days=5)  # over Christmas and a weekend
    assert plan.due_at - opened_at == (real_due - opened_at) / 3600  # about two minutes

    case_plan = await ActivityEnvironment().run(scaled.plan_case, case_id)
    policy = org.programs["customer"]
    assert case_plan.resurvey_after_s == policy.resurvey_after_days * 86400 / 3600
    assert case_plan.escalation_grace_s == policy.escalation_grace_hours * 3600 / 3600
