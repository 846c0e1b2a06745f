"""The links in a rejection's emails: ask for a feedback call, give the candidate-NPS score.

Mail scanners open links before people do, so the feedback-call link only shows a page with a
button; asking for the call is the POST behind it. The survey's score links record the first
click, like the re-survey's (one-click, as the email promises; a later click changes nothing).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kringloop.models import Rejection
from kringloop.rejection_followup import (
    feedback_call_of,
    record_survey_score,
    rejection_of,
    request_feedback_call,
)
from kringloop.rejections import signer_of
from kringloop.signed_links import InvalidLink, read_feedback_call_token, read_survey_token
from kringloop.web.deps import Services, ServicesDep
from kringloop.web.pages import templates
from kringloop.web.routes.pages import posted

router = APIRouter(tags=["applicants"])
PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")
NOTE_MAX = 1_000


def _invalid(request: Request, reason: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "link_invalid.html",
                                      {"reason": reason, "language": "nl"}, status_code=400)


def _linked(request: Request, services: Services, rejection_id: str
            ) -> Rejection | HTMLResponse:
    """The rejection a link is about, or the page saying the link does not work."""
    rejection = rejection_of(services.engine, rejection_id)
    return rejection if rejection is not None else _invalid(request, "this link is not valid")


def _feedback_call_link(request: Request, services: Services, token: str
                        ) -> Rejection | HTMLResponse:
    """Both sides of the feedback-call link: the page, and the POST behind its button."""
    try:
        rejection_id = read_feedback_call_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return _invalid(request, str(invalid))
    return _linked(request, services, rejection_id)


def _feedback_page(request: Request, services: Services, rejection: Rejection, *,
                   requested: bool, problem: str | None = None, phone: str = "",
                   note: str = "", status_code: int = 200) -> HTMLResponse:
    recruiter = signer_of(services.org, rejection.recruiter_email)
    return templates.TemplateResponse(request, "feedback_call.html", {
        "language": rejection.language, "name": rejection.applicant_name.split(" ")[0],
        "vacancy_title": rejection.vacancy_title, "organisation": services.org.name,
        "recruiter_name": recruiter.name if recruiter else None, "requested": requested,
        "problem": problem, "phone": phone, "note": note}, status_code=status_code)


@router.get("/f/{token}", response_class=HTMLResponse)
async def feedback_call_page(token: str, request: Request, services: ServicesDep
                             ) -> HTMLResponse:
    """Asks the applicant to confirm (and how to reach them); changes nothing by itself."""
    rejection = _feedback_call_link(request, services, token)
    if isinstance(rejection, HTMLResponse):
        return rejection
    requested = feedback_call_of(services.engine, rejection.id) is not None
    return _feedback_page(request, services, rejection, requested=requested)


@router.post("/f/{token}", response_class=HTMLResponse)
async def ask_for_feedback_call(token: str, request: Request, services: ServicesDep
                                ) -> HTMLResponse:
    """The applicant asks for the call: a case for the recruiting team, with a callback."""
    rejection = _feedback_call_link(request, services, token)
    if isinstance(rejection, HTMLResponse):
        return rejection
    form = await posted(request)
    phone, note = form.get("phone", "").strip(), form.get("note", "").strip()[:NOTE_MAX]
    if phone and not PHONE.fullmatch(phone):
        return _feedback_page(request, services, rejection, requested=False, problem="phone",
                              phone=phone, note=note, status_code=422)
    await request_feedback_call(rejection, phone=phone or None, note=note or None,
                                engine=services.engine, client=services.temporal,
                                task_queue=services.settings.task_queue)
    return _feedback_page(request, services, rejection, requested=True)


@router.get("/c/{token}", response_class=HTMLResponse)
async def candidate_score(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """One click records the candidate-NPS score; a later click shows the first one."""
    try:
        click = read_survey_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return _invalid(request, str(invalid))
    rejection = _linked(request, services, click.rejection_id)
    if isinstance(rejection, HTMLResponse):
        return rejection
    answer = await record_survey_score(rejection, click.score, engine=services.engine,
                                       client=services.temporal, org=services.org,
                                       task_queue=services.settings.task_queue)
    return templates.TemplateResponse(request, "survey_thanks.html", {
        "language": rejection.language, "name": rejection.applicant_name.split(" ")[0],
        "score": answer.score, "first": answer.first, "organisation": services.org.name,
        "low": answer.case_id is not None})
