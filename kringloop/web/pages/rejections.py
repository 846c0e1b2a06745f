"""The recruiter's rejection pages: pick a vacancy, write one or two reasons per applicant,
preview every email, schedule the batch, watch it go out, read a scheduled email again, and
cancel what has not gone out yet (after a confirmation step: a mistaken click cancels nothing).

For recruiters and leads of the recruiting team, and admins; everyone else finds nothing here
(404). Every action posts the vacancy page's one form, which carries the draft along.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from kringloop.database import session_for
from kringloop.org.access import Principal
from kringloop.refusal import Refused
from kringloop.rejections.actions import (
    cancel,
    rejection_in_reach,
    schedule_batch,
    scheduled_email,
)
from kringloop.rejections.drafts import (
    FIELDS,
    DraftLine,
    anything_typed,
    batch_of,
    checked,
    draft_json,
    draft_of,
    typed,
)
from kringloop.rejections.models import ApplicationStage, Rejection
from kringloop.rejections.queries import (
    rejections_for_vacancy,
    vacancies_with_rejections,
    vacancy_title_of,
)
from kringloop.rejections.rules import PROGRAM, may_reject, recruiting_teams
from kringloop.rejections.schemas import VacancyIn
from kringloop.services import Services
from kringloop.web.deps import PageUser, ServicesDep
from kringloop.web.pages.rendering import csrf_refusal, page, posted, problem

router = APIRouter(include_in_schema=False)


def _vacancy(services: Services, vacancy_id: str, title: str
             ) -> VacancyIn | dict[str, list[str]]:
    """The vacancy as the API shapes it (a known one keeps its title); else what is wrong."""
    if not title.strip():
        with session_for(services.engine) as session:
            title = vacancy_title_of(session=session, vacancy_id=vacancy_id.strip()) or ""
    try:
        return VacancyIn.model_validate({"id": vacancy_id.strip(), "title": title.strip()})
    except ValidationError as invalid:
        return _by_field(tuple((f"vacancy_{e['loc'][0]}", e["msg"]) for e in invalid.errors()))


def _vacancy_url(vacancy: VacancyIn) -> str:
    return "/rejections/vacancy?" + urlencode({"vacancy_id": vacancy.id,
                                                "vacancy_title": vacancy.title})


def _picker(request: Request, services: Services, principal: Principal, *,
            values: dict[str, str] | None = None,
            problems: dict[str, list[str]] | None = None) -> HTMLResponse:
    with session_for(services.engine) as session:
        found = vacancies_with_rejections(session=session)
    return page(request, services, principal, "rejections.html",
                status_code=422 if problems else 200, vacancies=found, values=values or {},
                problems=problems or {})


def _vacancy_page(request: Request, services: Services, principal: Principal,
                  vacancy: VacancyIn, *, draft: list[DraftLine] | None = None,
                  values: dict[str, str] | None = None,
                  problems: dict[str, list[str]] | None = None, alert: str | None = None,
                  confirm: Rejection | None = None, too_late: Rejection | None = None,
                  status_code: int = 200) -> HTMLResponse:
    """The vacancy page; `confirm` is a scheduled rejection the recruiter asked to cancel,
    shown with its email and the question whether to cancel it; `too_late` one that could
    not be cancelled any more."""
    draft = draft or []
    with session_for(services.engine) as session:
        rejections = rejections_for_vacancy(session=session, vacancy_id=vacancy.id)
    letters = {row.id: scheduled_email(services, row) for row in rejections
               if row.status == "scheduled"}
    teams = [t for t in recruiting_teams(services.org) if principal.sees_team(t.id)]
    return page(
        request, services, principal, "rejections_vacancy.html", status_code=status_code,
        vacancy=vacancy, rejections=rejections,
        counts=Counter(r.status for r in rejections), draft=draft,
        draft_json=draft_json([line.cells for line in draft]), values=values or {},
        problems=problems or {}, form_fields=FIELDS, alert=alert, letters=letters,
        too_late=too_late,
        confirm=confirm if confirm is not None and confirm.id in letters else None,
        reason_codes=services.org.programs[PROGRAM].reason_codes,
        stages=get_args(ApplicationStage),
        time_zone=teams[0].time_zone if teams else "Europe/Amsterdam")


@router.get("/rejections")
def vacancies(request: Request, services: ServicesDep, principal: PageUser
              ) -> HTMLResponse:
    """Vacancies with rejections, and a form to start on a new one."""
    if not may_reject(principal, services.org):
        return problem(request, services, principal, "not_found", 404)
    return _picker(request, services, principal)


@router.get("/rejections/vacancy")
def vacancy_page(request: Request, services: ServicesDep, principal: PageUser,
                 vacancy_id: str = "", vacancy_title: str = "") -> HTMLResponse:
    if not may_reject(principal, services.org):
        return problem(request, services, principal, "not_found", 404)
    vacancy = _vacancy(services, vacancy_id, vacancy_title)
    if isinstance(vacancy, dict):
        return _picker(request, services, principal, problems=vacancy,
                       values={"vacancy_id": vacancy_id, "vacancy_title": vacancy_title})
    return _vacancy_page(request, services, principal, vacancy)


@router.post("/rejections/vacancy")
async def act_on_vacancy(request: Request, services: ServicesDep, principal: PageUser
                         ) -> Response:
    """Add an applicant to the draft, take one out, schedule the draft, or cancel one that has
    not gone out yet (the button pressed is `do`)."""
    form = await posted(request)
    if refused := csrf_refusal(request, services, principal, form):
        return refused
    if not may_reject(principal, services.org):
        return problem(request, services, principal, "not_found", 404)
    vacancy = _vacancy(services, form.get("vacancy_id", ""), form.get("vacancy_title", ""))
    if isinstance(vacancy, dict):
        return await run_in_threadpool(
            _picker, request, services, principal, problems=vacancy, values=form)
    draft = [checked(services, principal, vacancy, cells) for cells in draft_of(form)]
    values = {name: form.get(name, "") for name in FIELDS}
    action = form.get("do", "")
    if action.startswith("remove:"):
        index = action.removeprefix("remove:")
        draft = [line for n, line in enumerate(draft) if str(n) != index]
    elif action.startswith("cancel:"):
        return await _cancel(request, services, principal, vacancy, action.removeprefix(
            "cancel:"), draft=draft, values=values, confirmed=False)
    elif action.startswith("cancel-confirmed:"):
        return await _cancel(request, services, principal, vacancy, action.removeprefix(
            "cancel-confirmed:"), draft=draft, values=values, confirmed=True)
    elif action == "add" or (action == "schedule" and anything_typed(form)):
        line = checked(services, principal, vacancy, typed(form))
        if not line.problems and any(d.cells["applicant_id"] == line.cells["applicant_id"]
                                     for d in draft):
            line = replace(line, problems=(("applicant_id", "this applicant is in the list "
                                            "already; remove that line to change it"),))
        if line.problems:
            return await _shown(request, services, principal, vacancy, draft=draft,
                                values=values, status_code=422,
                                problems=_by_field(line.problems))
        draft, values = [*draft, line], {}
    if action == "schedule":
        return await _schedule(request, services, principal, vacancy, draft)
    return await _shown(request, services, principal, vacancy, draft=draft, values=values)


async def _shown(request: Request, services: Services, principal: Principal,
                 vacancy: VacancyIn, **view: Any) -> Response:
    """The vacancy page, built off the event loop: it reads the vacancy's rejections."""
    return await run_in_threadpool(_vacancy_page, request, services, principal, vacancy, **view)


def _by_field(problems: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    """Each field's messages as the domain wrote them: the page says each in the reader's
    language (templates/workspace/_rejection_refusal_words.html)."""
    by_field: dict[str, list[str]] = {}
    for field, message in problems:
        by_field.setdefault(field, []).append(message)
    return by_field


async def _schedule(request: Request, services: Services, principal: Principal,
                    vacancy: VacancyIn, draft: list[DraftLine]) -> Response:
    """The draft through the batch API's own path; what it refused stays in the draft."""
    if not draft or any(line.problems for line in draft):
        return await _shown(request, services, principal, vacancy, draft=draft,
                            status_code=422, alert="nothing_to_schedule" if not draft
                            else "draft_has_problems")
    result = await schedule_batch(services, principal, vacancy.id, batch_of(vacancy, draft))
    left = [replace(draft[r.index], problems=((r.field or "", r.message or ""),))
            for r in result.results if not r.accepted]
    if result.accepted:
        request.session["flash"] = "rejections_scheduled"
    if not left:
        return RedirectResponse(_vacancy_url(vacancy), status_code=303)
    return await _shown(request, services, principal, vacancy, draft=left,
                        status_code=200 if result.accepted else 422)


async def _cancel(request: Request, services: Services, principal: Principal,
                  vacancy: VacancyIn, rejection_id: str, *, draft: list[DraftLine],
                  values: dict[str, str], confirmed: bool) -> Response:
    """The DELETE route's own path; a rejection already sent says why it stays. A scheduled
    one is first shown with its email and a question: only the confirmation cancels it."""
    try:
        row = await run_in_threadpool(rejection_in_reach, services, principal, rejection_id)
        if row.vacancy_id != vacancy.id:
            raise Refused(404, f"no rejection {rejection_id}")
        if not confirmed and row.status == "scheduled":
            return await _shown(request, services, principal, vacancy, draft=draft,
                                values=values, confirm=row)
        await cancel(services, principal, row)
    except Refused as error:
        if error.status_code == 404:
            return problem(request, services, principal, "not_found", 404)
        if error.field == "status":  # gone out, or going: the page says so in its own words
            latest = await run_in_threadpool(rejection_in_reach, services, principal,
                                             rejection_id)
            return await _shown(request, services, principal, vacancy, draft=draft,
                                values=values, alert="too_late", too_late=latest,
                                status_code=error.status_code)
        return await _shown(request, services, principal, vacancy, draft=draft,
                            values=values, alert=error.message,
                            status_code=error.status_code)
    request.session["flash"] = "rejection_cancelled"
    if not draft and not anything_typed(values):
        return RedirectResponse(_vacancy_url(vacancy), status_code=303)
    return await _shown(request, services, principal, vacancy, draft=draft, values=values)
