"""The four team actions on a case, shared by the JSON API and the pages: checked for rights
here, validated by the workflow (a Temporal update), refused with a message and the field."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from kringloop.access import Principal
from kringloop.case_messages import CallbackAttempt, Note, Reassignment, Resolution
from kringloop.models import CallbackAttemptIn, NoteIn, ReassignIn, ResolveIn
from kringloop.web.deps import Services, case_in_scope
from kringloop.web.errors import ApiError
from workflows.case import CaseWorkflow


async def _update(services: Services, case_id: str, update: Any, argument: object) -> None:
    handle = services.temporal.get_workflow_handle(case_id)
    try:
        await handle.execute_update(update, argument)
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError):
            field = (cause.details[0] or {}).get("field") if cause.details else None
            raise ApiError(409 if cause.type == "CaseClosed" else 422, cause.message,
                           field=field) from None
        raise
    except RPCError as error:
        raise ApiError(409, f"the case is closed ({error.message})") from None


async def log_callback_attempt(services: Services, principal: Principal, case_id: str,
                               body: CallbackAttemptIn) -> None:
    case_in_scope(services, principal, case_id)
    await _update(services, case_id, CaseWorkflow.log_callback_attempt,
                  CallbackAttempt(actor=principal.name, outcome=body.outcome, note=body.note))


async def add_note(services: Services, principal: Principal, case_id: str, body: NoteIn) -> None:
    case_in_scope(services, principal, case_id)
    await _update(services, case_id, CaseWorkflow.add_note,
                  Note(actor=principal.name, text=body.text))


async def reassign(services: Services, principal: Principal, case_id: str,
                   body: ReassignIn) -> None:
    case = case_in_scope(services, principal, case_id)
    if not principal.leads(case.team_id):
        raise ApiError(403, "only the team lead can reassign a case")
    await _update(services, case_id, CaseWorkflow.reassign,
                  Reassignment(actor=principal.name, member_email=str(body.member).lower()))


async def resolve(services: Services, principal: Principal, case_id: str,
                  body: ResolveIn) -> None:
    case_in_scope(services, principal, case_id)
    await _update(services, case_id, CaseWorkflow.resolve, Resolution(
        actor=principal.name, root_cause=body.root_cause, action_taken=body.action_taken,
        message=body.message))
