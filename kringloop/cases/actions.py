"""The team's actions on a case, shared by the JSON API and the pages: checked for rights
here, validated by the workflow (a Temporal update), refused with a message and the field.
Also the relay's other side: an anonymous employee's message from their conversation link."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from kringloop.cases import flows
from kringloop.cases.adoptions import adopt, adoptable
from kringloop.cases.messages import (
    CallbackAttempt,
    EmployeeMessage,
    Note,
    Pause,
    Reassignment,
    RelayReply,
    Resolution,
    RespondentAnswer,
    Resume,
)
from kringloop.cases.models import Case
from kringloop.cases.queries import case_with_response
from kringloop.cases.replies import drop_answer, store_answer
from kringloop.cases.schemas import (
    AdoptionIn,
    AnswerIn,
    CallbackAttemptIn,
    NoteIn,
    PauseIn,
    ReassignIn,
    RelayMessageIn,
    ResolveIn,
    ResumeIn,
)
from kringloop.database import session_for
from kringloop.org.access import Principal
from kringloop.refusal import Refused
from kringloop.services import Services


def case_in_scope(services: Services, principal: Principal, case_id: str) -> Case:
    """The case, if the caller may see it; otherwise 404, so no one learns that it exists."""
    with session_for(services.engine) as session:
        case = session.get(Case, case_id)
    if case is None or not principal.sees_team(case.team_id):
        raise Refused(404, f"no case {case_id}")
    return case


async def log_callback_attempt(services: Services, principal: Principal, case_id: str,
                               body: CallbackAttemptIn) -> None:
    await asyncio.to_thread(case_in_scope, services, principal, case_id)
    await flows.take_action(services.temporal, case_id, flows.log_callback_attempt,
                            CallbackAttempt(actor=principal.name, outcome=body.outcome,
                                            note=body.note))


async def add_note(services: Services, principal: Principal, case_id: str, body: NoteIn) -> None:
    await asyncio.to_thread(case_in_scope, services, principal, case_id)
    await flows.take_action(services.temporal, case_id, flows.add_note,
                            Note(actor=principal.name, text=body.text))


async def answer_respondent(services: Services, principal: Principal, case_id: str,
                            body: AnswerIn) -> None:
    """Answer the respondent's email from the case: stored first, then sent by the case in
    the thread of their latest email; a refused answer is not kept."""
    await asyncio.to_thread(case_in_scope, services, principal, case_id)
    message_id = await asyncio.to_thread(store_answer, services.engine, case_id=case_id,
                                         text=body.text, author_email=principal.email)
    try:
        await flows.take_action(services.temporal, case_id, flows.answer_respondent,
                                RespondentAnswer(actor=principal.name, message_id=message_id))
    except BaseException:
        await asyncio.to_thread(drop_answer, services.engine, message_id)
        raise


async def reassign(services: Services, principal: Principal, case_id: str,
                   body: ReassignIn) -> None:
    case = await asyncio.to_thread(case_in_scope, services, principal, case_id)
    if not principal.leads(case.team_id):
        raise Refused(403, "only the team lead can reassign a case")
    await flows.take_action(services.temporal, case_id, flows.reassign, Reassignment(
        actor=principal.name, member_email=str(body.member).lower()))


async def wait_on_respondent(services: Services, principal: Principal, case_id: str,
                             body: PauseIn) -> None:
    """The member asked the respondent for something: the callback clock stops meanwhile."""
    await asyncio.to_thread(case_in_scope, services, principal, case_id)
    await flows.take_action(services.temporal, case_id, flows.wait_on_respondent,
                            Pause(actor=principal.name, reason=body.reason))


async def resume_clock(services: Services, principal: Principal, case_id: str,
                       _: ResumeIn) -> None:
    await asyncio.to_thread(case_in_scope, services, principal, case_id)
    await flows.take_action(services.temporal, case_id, flows.resume_clock,
                            Resume(actor=principal.name))


async def resolve(services: Services, principal: Principal, case_id: str,
                  body: ResolveIn) -> None:
    await asyncio.to_thread(case_in_scope, services, principal, case_id)
    await flows.take_action(services.temporal, case_id, flows.resolve, Resolution(
        actor=principal.name, root_cause=body.root_cause, action_taken=body.action_taken,
        message=body.message))


async def reply_to_employee(services: Services, principal: Principal, case_id: str,
                            body: RelayMessageIn) -> None:
    """The team's reply in an anonymous employee's conversation, signed with the member's name."""
    await asyncio.to_thread(case_in_scope, services, principal, case_id)
    await flows.take_action(services.temporal, case_id, flows.reply_to_employee,
                            RelayReply(actor=principal.name, text=body.text))


async def relay_employee_message(services: Services, case_id: str, body: RelayMessageIn
                                 ) -> None:
    """What the employee wrote through their link (which is their only right to the case)."""
    await flows.take_action(services.temporal, case_id, flows.receive_employee_message,
                            EmployeeMessage(text=body.text))


async def adopt_customer(services: Services, principal: Principal, case_id: str,
                         _: AdoptionIn) -> None:
    """A member of the case's team adopts the customer behind it: their next cases come to
    them. Not a workflow update: it changes who gets future cases, not this one."""
    case = await asyncio.to_thread(case_in_scope, services, principal, case_id)
    if case.team_id not in principal.team_ids:
        raise Refused(403, "only a member of this case's team can adopt the customer")
    adopter = await asyncio.to_thread(_adopt, services, principal, case_id)
    if adopter != principal.email:
        raise Refused(409, f"{services.org.member(adopter).name} has already adopted "
                            "this customer")


def _adopt(services: Services, principal: Principal, case_id: str) -> str:
    """Who has adopted the case's customer now: the principal, or whoever was first."""
    with session_for(services.engine) as session:
        found = case_with_response(session=session, case_id=case_id)
        assert found is not None
        if not adoptable(*found):
            raise Refused(422, "only a customer with a customer id and an email address "
                               "can be adopted")
        return adopt(session=session, org=services.org, respondent_id=str(
            found[1].respondent_id), member_email=principal.email, now=datetime.now(UTC))
