"""One-click re-survey links: the respondent's new score, recorded once, with a thank-you page."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from temporalio.service import RPCError

from kringloop.case_messages import ResurveyScore
from kringloop.case_queries import case_with_response
from kringloop.database import session_for
from kringloop.models import SurveyResponse, category_of
from kringloop.signed_links import InvalidLink, read_score_token
from kringloop.web.deps import ServicesDep
from kringloop.web.pages import templates
from workflows.case import CaseWorkflow

router = APIRouter(tags=["respondents"])


@router.get("/r/{token}", response_class=HTMLResponse)
async def record_score(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    """The first click counts; a later click shows the score we already have."""
    try:
        click = read_score_token(services.settings.signing_key, token)
    except InvalidLink as invalid:
        return templates.TemplateResponse(request, "link_invalid.html",
                                          {"reason": str(invalid), "language": "nl"},
                                          status_code=400)
    with session_for(services.engine) as session:
        found = case_with_response(session=session, case_id=click.case_id)
        if found is None:
            return templates.TemplateResponse(request, "link_invalid.html",
                                              {"reason": "unknown case", "language": "nl"},
                                              status_code=404)
        case, original = found
        response_id = f"resurvey-{case.response_id}"[:128]
        answer = session.get(SurveyResponse, response_id)
        if answer is None:
            now = datetime.now(UTC)
            answer = SurveyResponse(
                id=response_id, program=case.program, score=click.score,
                category=category_of(click.score), language=original.language,
                segment=original.segment, respondent_id=original.respondent_id,
                answered_at=now, received_at=now, source="resurvey", resurvey_of=case.id)
            session.add(answer)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                answer = session.get(SurveyResponse, response_id)
                assert answer is not None
    try:
        await services.temporal.get_workflow_handle(case.id).signal(
            CaseWorkflow.record_resurvey_score, ResurveyScore(score=answer.score))
    except RPCError:
        pass  # the case has closed; the answer is stored all the same
    return templates.TemplateResponse(request, "thanks.html", {
        "language": original.language, "score": answer.score,
        "name": original.name, "organisation": services.org.name})
