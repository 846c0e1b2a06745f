"""The links in a rejection's emails: ask for a feedback call, give the candidate-NPS score.

Mail scanners open links before people do, so neither link does anything when opened: the
feedback-call link shows a page with a button, and asking for the call is the POST behind it;
a survey's score link shows the score form (kringloop/web/score_answers.py), and the answer is
the POST behind it. The first answer counts; a later one changes nothing.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kringloop.rejections.followup import (
    SurveyAnswer,
    feedback_call_of,
    record_survey_score,
    rejection_of,
    request_feedback_call,
    survey_answer_of,
)
from kringloop.rejections.models import Rejection
from kringloop.rejections.rules import signer_of
from kringloop.security.signed_links import (
    InvalidLink,
    SurveyClick,
    read_feedback_call_token,
    read_survey_token,
)
from kringloop.services import Services
from kringloop.web.deps import ServicesDep
from kringloop.web.pages.rendering import posted
from kringloop.web.pages.respondent import link_invalid, templates
from kringloop.web.pages.score_answers import answer_in, private, refused_answer, score_page

router = APIRouter(tags=["applicants"])
PHONE = re.compile(r"^\+?[0-9 ()./-]{6,30}$")
NOTE_MAX = 1_000


def _linked(request: Request, services: Services, rejection_id: str
            ) -> Rejection | HTMLResponse:
    """The rejection a link is about, or the page saying the link does not work."""
    rejection = rejection_of(services.engine, rejection_id)
    if rejection is None:
        return link_invalid(request, "this link is not valid")
    return rejection


def _feedback_call_link(request: Request, services: Services, token: str
                        ) -> Rejection | HTMLResponse:
    """Both sides of the feedback-call link: the page, and the POST behind its button."""
    try:
        rejection_id = read_feedback_call_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return link_invalid(request, str(invalid))
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
def feedback_call_page(token: str, request: Request, services: ServicesDep
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
    rejection = await asyncio.to_thread(_feedback_call_link, request, services, token)
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


def _survey_link(request: Request, services: Services, token: str
                 ) -> tuple[SurveyClick, Rejection] | HTMLResponse:
    """Both sides of a survey's score link: the form, and the POST that answers it."""
    try:
        click = read_survey_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return link_invalid(request, str(invalid))
    rejection = _linked(request, services, click.rejection_id)
    if isinstance(rejection, HTMLResponse):
        return rejection
    return click, rejection


def _survey_thanks(request: Request, services: Services, rejection: Rejection,
                   answer: SurveyAnswer, *, comment: str | None = None) -> HTMLResponse:
    """No name on it, and the comment only to whoever just wrote it: anyone holding the link
    (a forwarded email, a scanner) sees this page too."""
    return private(templates.TemplateResponse(request, "survey_thanks.html", {
        "language": rejection.language, "score": answer.score, "first": answer.first,
        "comment": comment if answer.first else None, "organisation": services.org.name,
        "low": answer.case_id is not None}))


@router.get("/c/{token}", response_class=HTMLResponse)
def candidate_score_form(token: str, request: Request, services: ServicesDep
                         ) -> HTMLResponse:
    """The clicked score, preselected, to send with an optional comment; records nothing."""
    linked = _survey_link(request, services, token)
    if isinstance(linked, HTMLResponse):
        return linked
    click, rejection = linked
    answer = survey_answer_of(services.engine, rejection.id)
    if answer is not None:
        return _survey_thanks(request, services, rejection, answer)
    return score_page(request, link="candidate", language=rejection.language,
                      organisation=services.org.name, score=click.score)


@router.post("/c/{token}", response_class=HTMLResponse)
async def candidate_score(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The applicant's answer: the first one counts, and a low score opens a case."""
    linked = await asyncio.to_thread(_survey_link, request, services, token)
    if isinstance(linked, HTMLResponse):
        return linked
    click, rejection = linked
    form = await posted(request)
    given = answer_in(form, click.score)
    if isinstance(given, str):
        return refused_answer(request, form, given, link="candidate",
                              language=rejection.language, organisation=services.org.name,
                              link_score=click.score)
    answer = await record_survey_score(rejection, given.score, comment=given.comment,
                                       engine=services.engine, client=services.temporal,
                                       org=services.org,
                                       task_queue=services.settings.task_queue,
                                       id_key=services.settings.signing_key)
    return _survey_thanks(request, services, rejection, answer, comment=given.comment)
