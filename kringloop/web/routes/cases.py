"""The case API: read a case, and the team's actions on it (Temporal updates)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from kringloop.case_messages import CallbackAttempt, Note, Reassignment, Resolution
from kringloop.case_queries import case_public
from kringloop.database import session_for
from kringloop.models import CallbackAttemptIn, CasePublic, NoteIn, ReassignIn, ResolveIn
from kringloop.web.deps import Actor, Services, ServicesDep
from kringloop.web.errors import ApiError
from workflows.case import CaseWorkflow

router = APIRouter(prefix="/api/cases", tags=["cases"])


def _read(services: Services, case_id: str) -> CasePublic:
    with session_for(services.engine) as session:
        found = case_public(session=session, case_id=case_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
    return found


async def _act(services: Services, case_id: str, update: Any, argument: object) -> CasePublic:
    _read(services, case_id)
    handle = services.temporal.get_workflow_handle(case_id)
    try:
        await handle.execute_update(update, argument)
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError):
            field = (cause.details[0] or {}).get("field") if cause.details else None
            code = 409 if cause.type == "CaseClosed" else 422
            raise ApiError(code, cause.message, field=field) from None
        raise
    except RPCError as error:
        # The workflow has finished: the case is closed.
        raise ApiError(409, f"the case is closed ({error.message})") from None
    return _read(services, case_id)


@router.get("/{case_id}", response_model=CasePublic)
async def get_case(case_id: str, services: ServicesDep, _: Actor) -> CasePublic:
    return _read(services, case_id)


@router.post("/{case_id}/callback-attempts", response_model=CasePublic)
async def log_callback_attempt(case_id: str, body: CallbackAttemptIn, services: ServicesDep,
                               actor: Actor) -> CasePublic:
    return await _act(services, case_id, CaseWorkflow.log_callback_attempt,
                      CallbackAttempt(actor=actor, outcome=body.outcome, note=body.note))


@router.post("/{case_id}/notes", response_model=CasePublic)
async def add_note(case_id: str, body: NoteIn, services: ServicesDep, actor: Actor
                   ) -> CasePublic:
    return await _act(services, case_id, CaseWorkflow.add_note, Note(actor=actor, text=body.text))


@router.post("/{case_id}/reassign", response_model=CasePublic)
async def reassign(case_id: str, body: ReassignIn, services: ServicesDep, actor: Actor
                   ) -> CasePublic:
    return await _act(services, case_id, CaseWorkflow.reassign,
                      Reassignment(actor=actor, member_email=str(body.member)))


@router.post("/{case_id}/resolve", response_model=CasePublic)
async def resolve(case_id: str, body: ResolveIn, services: ServicesDep, actor: Actor
                  ) -> CasePublic:
    return await _act(services, case_id, CaseWorkflow.resolve, Resolution(
        actor=actor, root_cause=body.root_cause, action_taken=body.action_taken,
        message=body.message))
