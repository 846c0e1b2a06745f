"""Taking in a survey response: store it once, and open a case workflow for a low score."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from kringloop.case_messages import CaseInput, case_id_for
from kringloop.database import session_for
from kringloop.models import IntakeResult, ResponseCreate, SurveyResponse, category_of
from kringloop.org import Organisation


@dataclass(frozen=True)
class Intake:
    result: IntakeResult
    created: bool


def stays_anonymous(program: str, meta: Mapping[str, Any] | None) -> bool:
    """eNPS is anonymous unless the employee opted in to be contacted."""
    return program == "employee" and (meta or {}).get("contact_consent") is not True


def _record_for(payload: ResponseCreate, org: Organisation, *, source: str) -> SurveyResponse:
    respondent = payload.respondent
    meta = payload.meta or {}
    language = (respondent.language if respondent else None) or org.default_language
    segment = respondent.segment if respondent else None
    needs_case = payload.score <= org.programs[payload.program].case_threshold
    row = SurveyResponse(
        id=payload.response_id, program=payload.program, score=payload.score,
        category=category_of(payload.score), comment=payload.comment, language=language,
        segment=segment, answered_at=payload.answered_at or datetime.now(UTC),
        received_at=datetime.now(UTC), source=source, meta=meta,
        case_id=case_id_for(payload.response_id) if needs_case else None,
    )
    if stays_anonymous(payload.program, meta):
        # No identity is kept anywhere: not the id, name, email or phone, nor other meta.
        row.meta = {"contact_consent": False}
    elif respondent is not None:
        row.respondent_id = respondent.id
        row.name = respondent.name
        row.email = str(respondent.email) if respondent.email else None
        row.phone = respondent.phone
    return row


def result_of(row: SurveyResponse) -> IntakeResult:
    return IntakeResult(response_id=row.id, category=row.category,  # type: ignore[arg-type]
                        case_id=row.case_id)


async def start_case(client: Client, row: SurveyResponse, *, task_queue: str) -> None:
    """Start the case workflow; starting it again for the same response is harmless."""
    await start_case_workflow(
        client, CaseInput(response_id=row.id, program=row.program, score=row.score),
        task_queue=task_queue)


async def start_case_workflow(client: Client, case: CaseInput, *, task_queue: str) -> None:
    """Start the case workflow for any origin (a response, a feedback-call request), once."""
    try:
        await client.start_workflow(
            "CaseWorkflow", case, id=case_id_for(case.response_id), task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        pass  # the case ran and closed already


async def receive_response(
    payload: ResponseCreate, *, engine: Engine, client: Client, org: Organisation,
    task_queue: str, source: str = "api",
) -> Intake:
    """Store the response and open its case. The same response id again changes nothing.

    If the case cannot be started the response is not kept either, so the sender's retry
    starts cleanly; a repeated delivery also (re)starts a case that a crash left unstarted.
    """
    with session_for(engine) as session:
        existing = session.get(SurveyResponse, payload.response_id)
    if existing is not None:
        # Outside the session: a connection held across this await let a burst of repeated
        # deliveries empty the pool, and the next checkout then blocked the event loop.
        if existing.case_id:
            await start_case(client, existing, task_queue=task_queue)
        return Intake(result_of(existing), created=False)
    with session_for(engine) as session:
        row = _record_for(payload, org, source=source)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # a concurrent delivery of the same response won
            winner = session.get(SurveyResponse, payload.response_id)
            assert winner is not None
            return Intake(result_of(winner), created=False)
    if row.case_id:
        try:
            await start_case(client, row, task_queue=task_queue)
        except BaseException:
            with session_for(engine) as session:
                stored = session.get(SurveyResponse, row.id)
                if stored is not None:
                    session.delete(stored)
                    session.commit()
            raise
    return Intake(result_of(row), created=True)
