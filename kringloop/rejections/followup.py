"""After a rejection: the applicant asks for a feedback call, or answers the candidate survey.

A feedback call opens a case for the recruiting team through the foundation's case workflow,
with the request itself (not a survey response: there is no score) as the case's origin; the
recruiter who wrote the rejection gets the case and the applicant an email saying who calls
and when. A candidate-NPS score goes through the ordinary intake (program "candidate", one
response per rejection), so a low score opens a case like any other. The applicant's comment
on the survey's page is that response's comment: the case shows it, as any survey comment.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from temporalio.client import Client

from kringloop.cases.flows import start_case
from kringloop.cases.messages import CaseInput, case_id_for
from kringloop.cases.models import FeedbackCallRequest
from kringloop.database import session_for
from kringloop.intake.schemas import RespondentIn, ResponseCreate
from kringloop.intake.service import receive_response
from kringloop.org.organisation import Organisation
from kringloop.rejections import flows
from kringloop.rejections.models import Rejection
from kringloop.rejections.queries import event, record_step_once
from kringloop.rejections.rules import PROGRAM, feedback_call_id_for, survey_response_id_for
from kringloop.responses.models import SurveyResponse


@dataclass(frozen=True)
class SurveyAnswer:
    score: int
    first: bool
    case_id: str | None


def rejection_of(engine: Engine, rejection_id: str) -> Rejection | None:
    """The rejection an applicant's link is about; none once their data is erased (no one is
    left to call back or to survey)."""
    with session_for(engine) as session:
        row = session.get(Rejection, rejection_id)
    return row if row is not None and row.applicant_email else None


def feedback_call_of(engine: Engine, rejection_id: str) -> FeedbackCallRequest | None:
    with session_for(engine) as session:
        return session.get(FeedbackCallRequest, feedback_call_id_for(rejection_id))


async def request_feedback_call(rejection: Rejection, *, phone: str | None, note: str | None,
                                engine: Engine, client: Client, task_queue: str
                                ) -> FeedbackCallRequest:
    """Record the request once and open its case; asking twice opens nothing new."""
    request = await asyncio.to_thread(_feedback_call_request, engine, rejection, phone=phone,
                                      note=note)
    await start_case(client, CaseInput(response_id=request.id, program=PROGRAM, score=None),
                     task_queue=task_queue)
    if rejection.mailing_id is None:  # made before mailings (they read the request itself)
        await flows.feedback_call_requested(client, rejection.id)
    return request


def _feedback_call_request(engine: Engine, rejection: Rejection, *, phone: str | None,
                           note: str | None) -> FeedbackCallRequest:
    """The applicant's request for a call, stored once (with its step on the rejection)."""
    request_id = feedback_call_id_for(rejection.id)
    now = datetime.now(UTC)
    with session_for(engine) as session:
        request = session.get(FeedbackCallRequest, request_id)
        if request is not None:
            return request
        request = FeedbackCallRequest(
            id=request_id, rejection_id=rejection.id, respondent_id=rejection.applicant_id,
            name=rejection.applicant_name, email=rejection.applicant_email, phone=phone,
            language=rejection.language, comment=note, vacancy_title=rejection.vacancy_title,
            recruiter_email=rejection.recruiter_email, requested_at=now,
            case_id=case_id_for(request_id))
        session.add(request)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # a second click at the same moment: that one counts
            earlier = session.get(FeedbackCallRequest, request_id)
            assert earlier is not None
            return earlier
        record_step_once(session=session, step=event(
            rejection.id, "feedback-call", "feedback_call_requested", at=now,
            actor="applicant", detail=f"case {request.case_id} opened for the callback"))
    return request


def survey_answer_of(engine: Engine, rejection_id: str) -> SurveyAnswer | None:
    """The candidate-NPS answer already given for this rejection, if any."""
    with session_for(engine) as session:
        stored = session.get(SurveyResponse, survey_response_id_for(rejection_id))
    if stored is None:
        return None
    return SurveyAnswer(score=stored.score, first=False, case_id=stored.case_id)


async def record_survey_score(rejection: Rejection, score: int, *, comment: str | None = None,
                              engine: Engine, client: Client, org: Organisation,
                              task_queue: str, id_key: str) -> SurveyAnswer:
    """The applicant's candidate-NPS score (and comment) through the intake; the first answer
    counts, a later one changes nothing."""
    payload = ResponseCreate(
        response_id=survey_response_id_for(rejection.id), program=PROGRAM, score=score,
        comment=comment,
        respondent=RespondentIn(id=rejection.applicant_id, name=rejection.applicant_name,
                                email=rejection.applicant_email,
                                language=rejection.language),  # type: ignore[arg-type]
        meta={"rejection_id": rejection.id, "vacancy_id": rejection.vacancy_id})
    intake = await receive_response(payload, engine=engine, client=client, org=org,
                                    task_queue=task_queue, id_key=id_key,
                                    source="candidate_survey")
    score = await asyncio.to_thread(_answered, engine, rejection, payload.response_id,
                                    intake.created, intake.result.case_id)
    return SurveyAnswer(score=score, first=intake.created, case_id=intake.result.case_id)


def _answered(engine: Engine, rejection: Rejection, response_id: str, first: bool,
              case_id: str | None) -> int:
    """The score kept for the survey; the first answer also goes on the rejection's steps."""
    with session_for(engine) as session:
        stored = session.get(SurveyResponse, response_id)
        assert stored is not None
        if first:
            opened = f": case {case_id} opened" if case_id else ""
            record_step_once(session=session, step=event(
                rejection.id, "survey-answered", "survey_answered", at=datetime.now(UTC),
                actor="applicant", detail=f"candidate NPS {stored.score}{opened}"))
        return stored.score
