"""The case workflow as the rest of Kringloop reaches it: one started per low score (or
feedback call), a team's action taken as a Temporal update the workflow validates, a
re-survey answer signalled. Typed references to `CaseWorkflow`, never names as strings."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from kringloop.cases.messages import (
    CaseInput,
    RespondentMail,
    RespondentUpdate,
    ResurveyScore,
    case_id_for,
)
from kringloop.refusal import Refused
from workflows.case import CaseWorkflow


async def start_case(client: Client, case: CaseInput, *, task_queue: str) -> None:
    """Start the case workflow for any origin (a response, a feedback-call request), once:
    starting it again for the same origin is harmless."""
    try:
        await client.start_workflow(
            CaseWorkflow.run, case, id=case_id_for(case.response_id), task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        pass  # the case ran and closed already


# The team's actions, the employee's message through their link and the respondent's booking
# of the callback's time: CaseWorkflow's updates.
log_callback_attempt = CaseWorkflow.log_callback_attempt
add_note = CaseWorkflow.add_note
reassign = CaseWorkflow.reassign
resolve = CaseWorkflow.resolve
reply_to_employee = CaseWorkflow.reply_to_employee
receive_employee_message = CaseWorkflow.receive_employee_message
book_callback = CaseWorkflow.book_callback
wait_on_respondent = CaseWorkflow.wait_on_respondent
resume_clock = CaseWorkflow.resume_clock
answer_respondent = CaseWorkflow.answer_respondent


async def take_action(client: Client, case_id: str, update: Any, argument: object) -> None:
    """Ask the case to take an action (one of the updates above); what its validator refuses
    is Refused with the workflow's message and field (409 once the case is closed)."""
    handle = client.get_workflow_handle(case_id)
    try:
        await handle.execute_update(update, argument)
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError):
            field = (cause.details[0] or {}).get("field") if cause.details else None
            raise Refused(409 if cause.type == "CaseClosed" else 422, cause.message,
                          field=field) from None
        raise
    except RPCError as error:
        raise Refused(409, f"the case is closed ({error.message})") from None


async def tell_resurvey_score(client: Client, case_id: str, score: int) -> None:
    """The respondent's re-survey answer, for the case waiting on it."""
    try:
        await client.get_workflow_handle(case_id).signal(
            CaseWorkflow.record_resurvey_score, ResurveyScore(score=score))
    except RPCError:
        pass  # the case has closed; the answer is stored all the same


async def tell_respondent_update(client: Client, case_id: str, update: RespondentUpdate) -> bool:
    """More of the answer, for the case it opened; False when that case has ended (the answer
    is stored all the same)."""
    try:
        await client.get_workflow_handle(case_id).signal(CaseWorkflow.respondent_updated, update)
    except RPCError:
        return False
    return True


async def tell_respondent_mail(client: Client, case_id: str, mail: RespondentMail) -> bool:
    """An email from the respondent, stored with the case; False when the case workflow has
    ended (the email is stored and shown all the same)."""
    try:
        await client.get_workflow_handle(case_id).signal(CaseWorkflow.respondent_wrote, mail)
    except RPCError:
        return False
    return True
