"""Re-survey score links (`/r/{token}`): opening one shows the score form, posting it records the
respondent's new score once (kringloop/web/score_answers.py says why), then a thank-you page."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio.service import RPCError

from kringloop.case_messages import ResurveyScore
from kringloop.case_queries import case_with_response
from kringloop.database import session_for
from kringloop.models import Case, CaseOrigin, SurveyResponse, category_of
from kringloop.signed_links import InvalidLink, ScoreClick, read_score_token
from kringloop.web.deps import Services, ServicesDep
from kringloop.web.pages import templates
from kringloop.web.routes.pages import posted
from kringloop.web.score_answers import answer_in, private, refused_answer, score_page
from workflows.case import CaseWorkflow

router = APIRouter(tags=["respondents"])


def _invalid(request: Request, reason: str, status_code: int) -> HTMLResponse:
    return templates.TemplateResponse(request, "link_invalid.html",
                                      {"reason": reason, "language": "nl"},
                                      status_code=status_code)


def _linked(request: Request, services: Services, token: str
            ) -> tuple[ScoreClick, Case, CaseOrigin] | HTMLResponse:
    """The click and the case the link is about, or the page saying the link does not work."""
    try:
        click = read_score_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return _invalid(request, str(invalid), 400)
    with session_for(services.engine) as session:
        found = case_with_response(session=session, case_id=click.case_id)
    if found is None:
        return _invalid(request, "unknown case", 404)
    return click, *found


def _answer_id(case: Case) -> str:
    return f"resurvey-{case.response_id}"[:128]


def _answer_of(session: Session, case: Case) -> SurveyResponse | None:
    return session.get(SurveyResponse, _answer_id(case))


def _thanks(request: Request, services: Services, origin: CaseOrigin, answer: SurveyResponse,
            *, first: bool) -> HTMLResponse:
    """No name on it, and the comment only to whoever just wrote it: anyone holding the link
    (a forwarded email, a scanner) sees this page too."""
    return private(templates.TemplateResponse(request, "thanks.html", {
        "language": origin.language, "score": answer.score, "first": first,
        "comment": answer.comment if first else None, "organisation": services.org.name}))


@router.get("/r/{token}", response_class=HTMLResponse)
async def score_form(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The clicked score, preselected, to send with an optional comment; records nothing."""
    linked = _linked(request, services, token)
    if isinstance(linked, HTMLResponse):
        return linked
    click, case, origin = linked
    with session_for(services.engine) as session:
        answer = _answer_of(session, case)
    if answer is not None:
        return _thanks(request, services, origin, answer, first=False)
    return score_page(request, link="resurvey", language=origin.language,
                      organisation=services.org.name, score=click.score)


@router.post("/r/{token}", response_class=HTMLResponse)
async def record_score(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The first answer counts; a later one shows the answer we already have."""
    linked = _linked(request, services, token)
    if isinstance(linked, HTMLResponse):
        return linked
    click, case, origin = linked
    form = await posted(request)
    given = answer_in(form, click.score)
    if isinstance(given, str):
        return refused_answer(request, form, given, link="resurvey", language=origin.language,
                              organisation=services.org.name, link_score=click.score)
    with session_for(services.engine) as session:
        answer, first = _answer_of(session, case), False
        if answer is None:
            now = datetime.now(UTC)
            answer = SurveyResponse(
                id=_answer_id(case), program=case.program, score=given.score,
                category=category_of(given.score), comment=given.comment,
                language=origin.language, segment=origin.segment,
                respondent_id=origin.respondent_id, answered_at=now, received_at=now,
                source="resurvey", resurvey_of=case.id)
            session.add(answer)
            try:
                session.commit()
                first = True
            except IntegrityError:
                session.rollback()  # an answer posted at the same moment: that one counts
                answer = _answer_of(session, case)
                assert answer is not None
    try:  # also for a later POST: it heals a signal lost after the first one was stored
        await services.temporal.get_workflow_handle(case.id).signal(
            CaseWorkflow.record_resurvey_score, ResurveyScore(score=answer.score))
    except RPCError:
        pass  # the case has closed; the answer is stored all the same
    return _thanks(request, services, origin, answer, first=first)
