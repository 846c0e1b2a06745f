"""The case workflow's own validators refuse a bad action, whoever sends it: the API checks the
shape of a request first, but another client of Temporal (a script, the CLI, a future app)
reaches the workflow directly, and a refused update must leave no trace in the case's history."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from kringloop.cases.messages import CallbackAttempt, Note, Reassignment, Resolution
from tests.support.intake import detractor, settled, unique
from tests.support.kringloop import Kringloop
from workflows.case import CaseWorkflow

LEAD = "lead@example"


async def refusal_of(live: Kringloop, case_id: str, update: Any, argument: object
                     ) -> ApplicationError:
    handle = live.env.client.get_workflow_handle(case_id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, argument)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def test_the_workflow_refuses_bad_actions_that_never_passed_the_api(
        live: Kringloop) -> None:
    answer = await live.api.post("/api/responses", json=detractor(unique("validators")))
    case_id = (await settled(live, answer.json()["case_id"]))["case_id"]
    case = await live.case(case_id)  # with every email it sent on the timeline
    assignee = case["assignee"]["email"]
    handle = live.env.client.get_workflow_handle(case_id)
    history_before = len((await handle.fetch_history()).events)

    refusals = {
        "outcome": await refusal_of(live, case_id, CaseWorkflow.log_callback_attempt,
                                    CallbackAttempt(actor=assignee, outcome="maybe")),
        "text": await refusal_of(live, case_id, CaseWorkflow.add_note,
                                 Note(actor=assignee, text=" \n ")),
        "member": await refusal_of(live, case_id, CaseWorkflow.reassign,
                                   Reassignment(actor=LEAD, member_email=assignee)),
        "root_cause": await refusal_of(live, case_id, CaseWorkflow.resolve, Resolution(
            actor=assignee, root_cause="astrology", action_taken="called", message="sorry")),
        "action_taken": await refusal_of(live, case_id, CaseWorkflow.resolve, Resolution(
            actor=assignee, root_cause=live.org.programs["customer"].root_causes[0],
            action_taken="  ", message="sorry")),
    }

    for field, refusal in refusals.items():
        assert refusal.type == "InvalidAction" and refusal.non_retryable, refusal
        assert refusal.details == ({"field": field},), (field, refusal.details)
    assert "reached" in refusals["outcome"].message
    assert "already assigned" in refusals["member"].message
    # A validator's refusal is not written to the history: running cases stay as they were.
    assert len((await handle.fetch_history()).events) == history_before
    after = await live.case(case_id)
    assert after["status"] == case["status"] and after["timeline"] == case["timeline"]
