"""The case API: read a case, and the team's actions on it."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from kringloop.cases import actions as case_actions
from kringloop.cases.actions import case_in_scope
from kringloop.cases.queries import case_public
from kringloop.cases.schemas import (
    AdoptionIn,
    AnswerIn,
    CallbackAttemptIn,
    CasePublic,
    NoteIn,
    PauseIn,
    ReassignIn,
    RelayMessageIn,
    ResolveIn,
    ResumeIn,
)
from kringloop.database import session_for
from kringloop.services import Services
from kringloop.web.deps import ApiCaller, ServicesDep

router = APIRouter(prefix="/api/cases", tags=["cases"])


def _read(services: Services, case_id: str) -> CasePublic:
    with session_for(services.engine) as session:
        found = case_public(session=session, case_id=case_id)
    assert found is not None, "callers check the case is in scope first"
    return found


@router.get("/{case_id}", response_model=CasePublic)
def get_case(case_id: str, services: ServicesDep, caller: ApiCaller) -> CasePublic:
    case_in_scope(services, caller, case_id)
    return _read(services, case_id)


@router.post("/{case_id}/callback-attempts", response_model=CasePublic)
async def log_callback_attempt(case_id: str, body: CallbackAttemptIn, services: ServicesDep,
                               caller: ApiCaller) -> CasePublic:
    await case_actions.log_callback_attempt(services, caller, case_id, body)
    return await asyncio.to_thread(_read, services, case_id)


@router.post("/{case_id}/notes", response_model=CasePublic)
async def add_note(case_id: str, body: NoteIn, services: ServicesDep, caller: ApiCaller
                   ) -> CasePublic:
    await case_actions.add_note(services, caller, case_id, body)
    return await asyncio.to_thread(_read, services, case_id)


@router.post("/{case_id}/answers", response_model=CasePublic)
async def answer_respondent(case_id: str, body: AnswerIn, services: ServicesDep,
                            caller: ApiCaller) -> CasePublic:
    """Answer the respondent's email; it goes out in the same thread, from the caller."""
    await case_actions.answer_respondent(services, caller, case_id, body)
    return await asyncio.to_thread(_read, services, case_id)


@router.post("/{case_id}/reassign", response_model=CasePublic)
async def reassign(case_id: str, body: ReassignIn, services: ServicesDep, caller: ApiCaller
                   ) -> CasePublic:
    await case_actions.reassign(services, caller, case_id, body)
    return await asyncio.to_thread(_read, services, case_id)


@router.post("/{case_id}/resolve", response_model=CasePublic)
async def resolve(case_id: str, body: ResolveIn, services: ServicesDep, caller: ApiCaller
                  ) -> CasePublic:
    await case_actions.resolve(services, caller, case_id, body)
    return await asyncio.to_thread(_read, services, case_id)


@router.post("/{case_id}/pause", response_model=CasePublic)
async def wait_on_respondent(case_id: str, body: PauseIn, services: ServicesDep,
                             caller: ApiCaller) -> CasePublic:
    """Waiting on the respondent (asked for information or a time): the callback clock stops
    until they answer or you resume it; the time waited moves the due time on."""
    await case_actions.wait_on_respondent(services, caller, case_id, body)
    return await asyncio.to_thread(_read, services, case_id)


@router.post("/{case_id}/resume", response_model=CasePublic)
async def resume_clock(case_id: str, services: ServicesDep, caller: ApiCaller) -> CasePublic:
    await case_actions.resume_clock(services, caller, case_id, ResumeIn())
    return await asyncio.to_thread(_read, services, case_id)


@router.post("/{case_id}/relay-replies", response_model=CasePublic)
async def reply_to_employee(case_id: str, body: RelayMessageIn, services: ServicesDep,
                            caller: ApiCaller) -> CasePublic:
    """Reply to an anonymous employee (a case with `relay: true`): they read it, under your
    name, through their private conversation link. The first reply is the first contact."""
    await case_actions.reply_to_employee(services, caller, case_id, body)
    return await asyncio.to_thread(_read, services, case_id)


@router.post("/{case_id}/adopt", response_model=CasePublic)
async def adopt_customer(case_id: str, services: ServicesDep, caller: ApiCaller) -> CasePublic:
    """Adopt the customer behind this case (members of its team): their next cases come to you."""
    await case_actions.adopt_customer(services, caller, case_id, AdoptionIn())
    return await asyncio.to_thread(_read, services, case_id)
