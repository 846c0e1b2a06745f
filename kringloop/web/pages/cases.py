"""My queue and the case page, with the team's actions as plain HTML forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from kringloop.cases import actions as case_actions
from kringloop.cases import emails as case_emails
from kringloop.cases.actions import case_in_scope
from kringloop.cases.adoptions import adoptable, adopter_of
from kringloop.cases.messages import CALLBACK_OUTCOMES
from kringloop.cases.queries import (
    CLOSED_STATUSES,
    case_public,
    case_with_response,
    messages_of,
)
from kringloop.cases.refusal_words import read_invalid, read_refusal
from kringloop.cases.respondent_history import respondent_history
from kringloop.cases.schemas import (
    AdoptionIn,
    AnswerIn,
    CallbackAttemptIn,
    NoteIn,
    PauseIn,
    QueueStatus,
    ReassignIn,
    RelayMessageIn,
    ResolveIn,
    ResumeIn,
    ScoreBand,
    TeamMember,
)
from kringloop.cases.team_cases import team_members
from kringloop.cases.timeline_words import Reading
from kringloop.cases.workspace import calling_queue
from kringloop.cases.written_language import looks_written_in
from kringloop.database import session_for
from kringloop.mail.rendering import Email
from kringloop.org.access import Principal
from kringloop.org.organisation import LoyaltyTeam
from kringloop.refusal import Refused
from kringloop.responses.models import SurveyResponse
from kringloop.services import Services
from kringloop.web.deps import PageUser, ServicesDep
from kringloop.web.pages.rendering import csrf_refusal, page, posted, problem, sla_clock
from kringloop.web.pages.team_cases import absence_days

router = APIRouter(include_in_schema=False)


# My queue -------------------------------------------------------------------------------------

QUEUE_FILTERS = ("status", "program", "band")
DEFAULT_QUEUE_FILTERS = {"status": "active", "program": "", "band": ""}


def _queue_filters(request: Request, services: Services) -> dict[str, str]:
    """The filters asked for, kept for the session; a plain /queue (the menu, a case's way
    back) shows the ones kept. Unknown values simply count as no filter."""
    asked = {k: v for k, v in request.query_params.items() if k in QUEUE_FILTERS}
    if not asked:
        kept = request.session.get("queue_filters")
        asked = kept if isinstance(kept, dict) else {}
    status, program, band = (str(asked.get(k, "")) for k in QUEUE_FILTERS)
    filters = {
        "status": status if status in get_args(QueueStatus) else "active",
        "program": program if program in services.org.programs else "",
        "band": band if band in get_args(ScoreBand) else "",
    }
    if filters == DEFAULT_QUEUE_FILTERS:
        request.session.pop("queue_filters", None)
    else:
        request.session["queue_filters"] = filters
    return filters


@router.get("/queue")
def my_queue(
    request: Request, services: ServicesDep, principal: PageUser,
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> HTMLResponse:
    """My cases, callbacks to make first, each with its attempts, the number to call and the
    next step."""
    filters = _queue_filters(request, services)
    number = int(page_number) if page_number.isdigit() else 1
    with session_for(services.engine) as session:
        queue, plans = calling_queue(
            session=session, org=services.org, email=principal.email, now=datetime.now(UTC),
            status=filters["status"], program=filters["program"] or None,  # type: ignore[arg-type]
            band=filters["band"] or None, page=number)  # type: ignore[arg-type]
    clocks = {item.case_id: sla_clock(
        due_at=item.callback_due_at, finished=item.status in CLOSED_STATUSES,
        called_back=not item.awaiting_callback and item.status not in CLOSED_STATUSES)
        for item in queue.items}

    def page_link(number: int) -> str:
        return "/queue?" + urlencode({**{k: v for k, v in filters.items() if v}, "page": number})

    return page(request, services, principal, "queue.html", queue=queue, clocks=clocks,
                plans=plans, filters=filters, programs=list(services.org.programs),
                statuses=get_args(QueueStatus), bands=get_args(ScoreBand),
                zones={team.id: team.time_zone for team in services.org.teams},
                filtered=filters != DEFAULT_QUEUE_FILTERS,
                previous_page=page_link(queue.page - 1) if queue.page > 1 else None,
                next_page=page_link(queue.page + 1) if queue.page < queue.pages else None)


# The case page ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    """An action the case refused: which form, why (as the API says it, and read back for the
    page to say in the reader's language), and the field it is about."""

    form: str
    message: str
    field: str | None
    reading: Reading


def _case_page(request: Request, services: Services, principal: Principal, case_id: str, *,
               status_code: int = 200, refusal: Refusal | None = None,
               values: dict[str, dict[str, str]] | None = None,
               preview: Email | str | None = None, written_in: str | None = None
               ) -> HTMLResponse:
    """The case page; `values` refills a form by its name (after a refusal, or a preview);
    `written_in` is the language the previewed closing words look written in, if clear."""
    try:
        case = case_in_scope(services, principal, case_id)
    except Refused:
        return problem(request, services, principal, "not_found", 404)
    with session_for(services.engine) as session:
        public = case_public(session=session, case_id=case_id)
        adoption = _adoption(session, services, principal, case_id)
        messages = messages_of(session=session, case_id=case_id)
        found = case_with_response(session=session, case_id=case_id)
        assert found is not None
        origin = found[1]
        history = respondent_history(session=session, principal=principal, case=case,
                                     origin=origin) \
            if isinstance(origin, SurveyResponse) else []
    assert public is not None
    team = next((t for t in services.org.teams if t.id == case.team_id), None)
    policy = services.org.programs.get(case.program)  # type: ignore[call-overload]
    finished = case.resolved_at is not None or case.status in CLOSED_STATUSES
    closed = case.status == "closed"
    reassign_to = _colleagues(services, team, leaving_out=case.assignee_email) \
        if team and principal.leads(case.team_id) else []
    forms = {"callback-attempts": not finished, "notes": not closed,
             "reassign": bool(reassign_to) and not finished, "resolve": not finished,
             "relay-replies": public.relay and not finished,
             "pause": not finished and case.status != "waiting",
             "resume": case.status == "waiting",
             "adopt": adoption["can_adopt"],
             "answers": not closed and not public.relay and bool(origin.email)
             and any(m.direction == "in" and m.kind == "reply" for m in messages)}
    return page(
        request, services, principal, "case.html", status_code=status_code,
        case=public, team=team, time_zone=team.time_zone if team else "Europe/Amsterdam",
        clock=sla_clock(due_at=case.callback_due_at,
                        called_back=case.first_attempt_at is not None, finished=finished),
        anonymous=not any(public.respondent.get(k) for k in ("name", "email", "phone")),
        forms=forms, root_causes=policy.root_causes if policy else [],
        outcomes=CALLBACK_OUTCOMES, reassign_to=reassign_to,
        reassign_absent=absence_days({m.email: m.absent_until for m in reassign_to
                                      if m.absent_until}, principal),
        refusal=refusal, values=values or {}, preview=preview, adoption=adoption,
        messages=messages, history=history, written_in=written_in)


def _colleagues(services: Services, team: LoyaltyTeam, *, leaving_out: str | None
                ) -> list[TeamMember]:
    """Whom the lead can give the case to: everyone in the team but its assignee, each with
    their open cases and absence (the team list's own count)."""
    with session_for(services.engine) as session:
        members = team_members(session=session, team=team, now=datetime.now(UTC))
    return [m for m in members if m.email != leaving_out]


def _adoption(session: Session, services: Services, principal: Principal, case_id: str
              ) -> dict[str, Any]:
    """Who adopted the customer behind the case, and whether the reader may adopt them."""
    found = case_with_response(session=session, case_id=case_id)
    assert found is not None
    case, origin = found
    if not adoptable(case, origin):
        return {"adopter": None, "can_adopt": False}
    adopter = adopter_of(session=session, org=services.org, respondent_id=origin.respondent_id)
    return {"adopter": services.org.member(adopter).name if adopter else None,
            "can_adopt": adopter is None and case.team_id in principal.team_ids}


@router.get("/cases/{case_id}")
def case_page(case_id: str, request: Request, services: ServicesDep,
              principal: PageUser) -> HTMLResponse:
    return _case_page(request, services, principal, case_id)


@dataclass(frozen=True)
class _Action:
    shape: type[BaseModel]  # the JSON API's shape: a form is validated exactly like a request
    perform: Callable[[Services, Principal, str, Any], Awaitable[None]]
    done: str  # the flash message shown afterwards


ACTIONS = {
    "callback-attempts": _Action(CallbackAttemptIn, case_actions.log_callback_attempt,
                                 "attempt_logged"),
    "notes": _Action(NoteIn, case_actions.add_note, "note_added"),
    "reassign": _Action(ReassignIn, case_actions.reassign, "reassigned"),
    "resolve": _Action(ResolveIn, case_actions.resolve, "resolved"),
    "pause": _Action(PauseIn, case_actions.wait_on_respondent, "paused"),
    "resume": _Action(ResumeIn, case_actions.resume_clock, "resumed"),
    "relay-replies": _Action(RelayMessageIn, case_actions.reply_to_employee, "relay_replied"),
    "adopt": _Action(AdoptionIn, case_actions.adopt_customer, "adopted"),
    "answers": _Action(AnswerIn, case_actions.answer_respondent, "answered"),
}


def closing_email(services: Services, case_id: str, *, action_taken: str, message: str
                  ) -> Email | str:
    """The closing email as the respondent would get it now, or why they would get none."""
    with session_for(services.engine) as session:
        found = case_with_response(session=session, case_id=case_id)
    assert found is not None
    case, response = found  # detached from the session: the changes below are never stored
    case.action_taken, case.resolution_message = action_taken, message
    # The real email's own composition, so the preview cannot drift from what is sent.
    try:
        letter = case_emails.compose(kind="closing", case=case, origin=response,
                                     org=services.org, settings=services.settings)
    except case_emails.NoAddress:
        return "no_address"
    return letter.render(case_emails.template_for("closing", response))


# Declared before the case actions: their "/cases/{case_id}/{action}" would take this address.
@router.post("/cases/{case_id}/closing-preview")
async def closing_preview(case_id: str, request: Request, services: ServicesDep,
                          principal: PageUser) -> Response:
    """The case page with the closing email it would send, and the resolve form refilled. A
    POST with the session's CSRF token: what the member typed (the action taken, the message
    to the respondent) stays out of addresses, browser history and access logs."""
    form = await posted(request)
    return await run_in_threadpool(_preview_page, request, services, principal, case_id, form)


def _preview_page(request: Request, services: Services, principal: Principal, case_id: str,
                  form: dict[str, str]) -> Response:
    if refused := csrf_refusal(request, services, principal, form):
        return refused
    try:
        case_in_scope(services, principal, case_id)
    except Refused:
        return problem(request, services, principal, "not_found", 404)
    fields = {"root_cause": form.get("root_cause", "")[:64],
              "action_taken": form.get("action_taken", "")[:2_000],
              "message": form.get("message", "")[:5_000]}
    preview = closing_email(services, case_id, action_taken=fields["action_taken"],
                            message=fields["message"])
    # The page says so when this looks written in another language than the respondent's.
    written_in = looks_written_in(f"{fields['action_taken']}\n{fields['message']}")
    return _case_page(request, services, principal, case_id, values={"resolve": fields},
                      preview=preview, written_in=written_in)


@router.post("/cases/{case_id}/{action}")
async def act_on_case(
    case_id: str,
    action: Literal["callback-attempts", "notes", "reassign", "resolve", "relay-replies",
                    "adopt", "pause", "resume", "answers"],
    request: Request, services: ServicesDep, principal: PageUser,
) -> Response:
    """Do the action, then back to the case page (303) with a flash message; a refusal shows
    the case page again with the reason and the form as it was filled in."""
    form = await posted(request)
    if refused := csrf_refusal(request, services, principal, form):
        return refused
    handling = ACTIONS[action]
    values = {name: form.get(name, "") for name in handling.shape.model_fields}
    try:
        await handling.perform(services, principal, case_id, handling.shape.model_validate(values))
    except ValidationError as invalid:
        first = invalid.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else None
        return await run_in_threadpool(
            _case_page, request, services, principal, case_id, status_code=422,
            refusal=Refusal(action, f"{field}: {first['msg']}", field, read_invalid(first)),
            values={action: values})
    except Refused as error:
        if error.status_code == 404:  # outside the principal's scope
            return problem(request, services, principal, "not_found", 404)
        return await run_in_threadpool(
            _case_page, request, services, principal, case_id, status_code=error.status_code,
            refusal=Refusal(action, error.message, error.field, read_refusal(error.message)),
            values={action: values})
    request.session["flash"] = handling.done
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
