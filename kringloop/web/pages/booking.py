"""The link in a respondent's emails to book their callback (`/b/{token}`): the assignee's free
half hours, one button each. Mail scanners open every link, so opening it books nothing: the
button's POST does, and only a time still offered at that moment. Booking again moves it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from itertools import groupby

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kringloop.cases import flows
from kringloop.cases.booking import (
    Slot,
    is_booked,
    moment_label,
    offered_slots,
    offers_booking,
)
from kringloop.cases.messages import CallbackBooking
from kringloop.cases.models import Case, CaseOrigin
from kringloop.cases.queries import CLOSED_STATUSES, case_with_response
from kringloop.database import session_for
from kringloop.refusal import Refused
from kringloop.security.signed_links import InvalidLink, read_booking_token
from kringloop.services import Services
from kringloop.web.deps import ServicesDep
from kringloop.web.pages.rendering import posted
from kringloop.web.pages.respondent import link_invalid, templates
from kringloop.web.pages.score_answers import private

router = APIRouter(tags=["respondents"])


def _linked(request: Request, services: Services, token: str
            ) -> tuple[Case, CaseOrigin] | HTMLResponse:
    """The case the link books a callback for, or the page saying the link does not work."""
    try:
        case_id = read_booking_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return link_invalid(request, str(invalid))
    with session_for(services.engine) as session:
        found = case_with_response(session=session, case_id=case_id)
    if found is None or not offers_booking(*found):
        return link_invalid(request, "this link is not valid", 404)
    return found


def _page(request: Request, services: Services, case: Case, origin: CaseOrigin, *,
          problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    """The free times to pick from, and the booked one if there is one."""
    if case.status in CLOSED_STATUSES:
        return _finished(request, services, origin)
    team = services.org.team(case.team_id) if case.team_id else None
    with session_for(services.engine) as session:
        booked = is_booked(session=session, case_id=case.id)
    slots = offered_slots(engine=services.engine, org=services.org, case=case,
                          now=datetime.now(UTC))
    return private(templates.TemplateResponse(request, "booking.html", {
        "language": origin.language, "organisation": services.org.name,
        "name": (origin.name or "").strip().partition(" ")[0],
        "assignee_name": case.assignee_name, "problem": problem,
        "booked": moment_label(case.callback_due_at, time_zone=team.time_zone,
                               language=origin.language)
        if booked and team and case.callback_due_at else None,
        "days": _by_day(slots, origin.language),
    }, status_code=status_code))


def _finished(request: Request, services: Services, origin: CaseOrigin, *,
              status_code: int = 200) -> HTMLResponse:
    """The case is resolved or closed: there is no call left to book."""
    return private(templates.TemplateResponse(request, "booking_finished.html", {
        "language": origin.language, "organisation": services.org.name,
    }, status_code=status_code))


def _by_day(slots: list[Slot], language: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The slots under their day: (day, [(form value, label)])."""
    return [(day, [(slot.value, slot.label(language)) for slot in day_slots])
            for day, day_slots in groupby(slots, key=lambda slot: slot.day(language))]


@router.get("/b/{token}", response_class=HTMLResponse)
def booking_page(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The free times, each a button; opening the page books nothing."""
    linked = _linked(request, services, token)
    if isinstance(linked, HTMLResponse):
        return linked
    return _page(request, services, *linked)


@router.post("/b/{token}", response_class=HTMLResponse)
async def book_a_time(token: str, request: Request, services: ServicesDep) -> Response:
    """Book the posted time if it is still free; the case's workflow takes it from there."""
    linked = await asyncio.to_thread(_linked, request, services, token)
    if isinstance(linked, HTMLResponse):
        return linked
    case, origin = linked
    if case.status in CLOSED_STATUSES:
        return _finished(request, services, origin, status_code=409)
    posted_slot = (await posted(request)).get("slot", "")
    slots = await asyncio.to_thread(offered_slots, engine=services.engine, org=services.org,
                                    case=case, now=datetime.now(UTC))
    chosen = next((slot for slot in slots if slot.value == posted_slot), None)
    if chosen is None:
        return await asyncio.to_thread(_page, request, services, case, origin,
                                       problem="slot", status_code=422)
    try:
        await flows.take_action(services.temporal, case.id, flows.book_callback,
                                CallbackBooking(at=chosen.start))
    except Refused as refused:
        if refused.status_code == 409:  # the case was resolved or closed meanwhile
            return _finished(request, services, origin, status_code=409)
        # A time the case refuses (passed meanwhile) is the slot's problem, like one not free.
        problem = "slot" if refused.field in (None, "at") else refused.field
        return await asyncio.to_thread(_page, request, services, case, origin,
                                       problem=problem, status_code=refused.status_code)
    return RedirectResponse(f"/b/{token}", status_code=303,
                            headers={"Referrer-Policy": "no-referrer"})
