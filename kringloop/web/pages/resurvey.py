"""Re-survey score links (`/r/{token}`): opening one shows the score form, posting it records the
respondent's new score once (kringloop/web/score_answers.py says why), then a thank-you page."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kringloop.cases.flows import tell_resurvey_score
from kringloop.cases.models import Case, CaseOrigin
from kringloop.cases.queries import case_with_response
from kringloop.cases.resurvey import resurvey_answer, resurvey_answer_of
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse
from kringloop.security.signed_links import InvalidLink, ScoreClick, read_score_token
from kringloop.services import Services
from kringloop.web.deps import ServicesDep
from kringloop.web.pages.rendering import posted
from kringloop.web.pages.respondent import link_invalid, templates
from kringloop.web.pages.score_answers import answer_in, private, refused_answer, score_page

router = APIRouter(tags=["respondents"])


def _linked(request: Request, services: Services, token: str
            ) -> tuple[ScoreClick, Case, CaseOrigin] | HTMLResponse:
    """The click and the case the link is about, or the page saying the link does not work."""
    try:
        click = read_score_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return link_invalid(request, str(invalid))
    with session_for(services.engine) as session:
        found = case_with_response(session=session, case_id=click.case_id)
    if found is None:
        return link_invalid(request, "unknown case", 404)
    return click, *found


def _thanks(request: Request, services: Services, origin: CaseOrigin, answer: SurveyResponse,
            *, first: bool) -> HTMLResponse:
    """No name on it, and the comment only to whoever just wrote it: anyone holding the link
    (a forwarded email, a scanner) sees this page too."""
    return private(templates.TemplateResponse(request, "thanks.html", {
        "language": origin.language, "score": answer.score, "first": first,
        "comment": answer.comment if first else None, "organisation": services.org.name}))


@router.get("/r/{token}", response_class=HTMLResponse)
def score_form(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The clicked score, preselected, to send with an optional comment; records nothing."""
    linked = _linked(request, services, token)
    if isinstance(linked, HTMLResponse):
        return linked
    click, case, origin = linked
    answer = resurvey_answer_of(services.engine, case)
    if answer is not None:
        return _thanks(request, services, origin, answer, first=False)
    return score_page(request, link="resurvey", language=origin.language,
                      organisation=services.org.name, score=click.score)


@router.post("/r/{token}", response_class=HTMLResponse)
async def record_score(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The first answer counts; a later one shows the answer we already have."""
    linked = await asyncio.to_thread(_linked, request, services, token)
    if isinstance(linked, HTMLResponse):
        return linked
    click, case, origin = linked
    form = await posted(request)
    given = answer_in(form, click.score)
    if isinstance(given, str):
        return refused_answer(request, form, given, link="resurvey", language=origin.language,
                              organisation=services.org.name, link_score=click.score)
    answer, first = await asyncio.to_thread(resurvey_answer, services.engine, case, origin,
                                            score=given.score, comment=given.comment)
    # Also for a later POST: it heals a signal lost after the first one was stored.
    await tell_resurvey_score(services.temporal, case.id, answer.score)
    return _thanks(request, services, origin, answer, first=first)
