"""The team's actions on a case, shared by the JSON API and the pages: checked for rights
here, validated by the workflow (a Temporal update), refused with a message and the field.
Also the relay's other side: an anonymous employee's message from their conversation link."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from kringloop.access import Principal
from kringloop.adoptions import adopt, adoptable
from kringloop.case_messages import (
    CallbackAttempt,
    EmployeeMessage,
    Note,
    Reassignment,
    RelayReply,
    Resolution,
)
from kringloop.case_queries import case_with_response
from kringloop.database import session_for
from kringloop.models import (
    AdoptionIn,
    CallbackAttemptIn,
    NoteIn,
    ReassignIn,
    RelayMessageIn,
    ResolveIn,
)
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


async def reply_to_employee(services: Services, principal: Principal, case_id: str,
                            body: RelayMessageIn) -> None:
    """The team's reply in an anonymous employee's conversation, signed with the member's name."""
    case_in_scope(services, principal, case_id)
    await _update(services, case_id, CaseWorkflow.reply_to_employee,
                  RelayReply(actor=principal.name, text=body.text))


async def relay_employee_message(services: Services, case_id: str, body: RelayMessageIn
                                 ) -> None:
    """What the employee wrote through their link (which is their only right to the case)."""
    await _update(services, case_id, CaseWorkflow.receive_employee_message,
                  EmployeeMessage(text=body.text))


async def adopt_customer(services: Services, principal: Principal, case_id: str,
                         _: AdoptionIn) -> None:
    """A member of the case's team adopts the customer behind it: their next cases come to
    them. Not a workflow update: it changes who gets future cases, not this one."""
    case = case_in_scope(services, principal, case_id)
    if case.team_id not in principal.team_ids:
        raise ApiError(403, "only a member of this case's team can adopt the customer")
    with session_for(services.engine) as session:
        found = case_with_response(session=session, case_id=case_id)
        assert found is not None
        if not adoptable(*found):
            raise ApiError(422, "only a customer with a customer id and an email address "
                                "can be adopted")
        adopter = adopt(session=session, org=services.org, respondent_id=str(
            found[1].respondent_id), member_email=principal.email, now=datetime.now(UTC))
    if adopter != principal.email:
        raise ApiError(409, f"{services.org.member(adopter).name} has already adopted "
                            "this customer")
