"""Taking in a survey response: store it once, and open a case workflow for a low score."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from temporalio.client import Client

from kringloop.cases import flows
from kringloop.cases.messages import CaseInput, RespondentUpdate, case_id_for
from kringloop.database import session_for
from kringloop.intake.schemas import IntakeResult, ResponseCreate
from kringloop.org.organisation import Organisation
from kringloop.responses.anonymity import kept_id, stays_anonymous
from kringloop.responses.models import SurveyResponse, category_of


@dataclass(frozen=True)
class Intake:
    result: IntakeResult
    created: bool
    updated: bool = False


def kept_response_id(payload: ResponseCreate, *, key: str) -> str:
    """The id the answer is kept under (an anonymous one's: a keyed hash of the tool's)."""
    return kept_id(payload.response_id, program=payload.program, meta=payload.meta, key=key)


def _to_the_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _record_for(payload: ResponseCreate, org: Organisation, *, response_id: str,
                source: str, tool: str | None) -> SurveyResponse:
    respondent = payload.respondent
    meta = payload.meta or {}
    language = (respondent.language if respondent else None) or org.default_language
    segment = respondent.segment if respondent else None
    needs_case = payload.score <= org.programs[payload.program].case_threshold
    row = SurveyResponse(
        id=response_id, program=payload.program, score=payload.score,
        category=category_of(payload.score), comment=payload.comment, language=language,
        segment=segment, answered_at=payload.answered_at or datetime.now(UTC),
        received_at=datetime.now(UTC), source=source, tool=tool, meta=meta,
        case_id=case_id_for(response_id) if needs_case else None,
    )
    if stays_anonymous(payload.program, meta):
        # No identity is kept anywhere: not the id, name, email or phone, nor other meta, nor
        # the moment to the second (which a door log or a calendar could match to a person).
        row.meta = {"contact_consent": False}
        row.answered_at, row.received_at = (_to_the_hour(row.answered_at),
                                            _to_the_hour(row.received_at))
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
    await flows.start_case(
        client, CaseInput(response_id=row.id, program=row.program, score=row.score),
        task_queue=task_queue)


async def receive_response(
    payload: ResponseCreate, *, engine: Engine, client: Client, org: Organisation,
    task_queue: str, id_key: str, source: str = "api", tool: str | None = None,
) -> Intake:
    """Store the response and open its case. The same response id again changes nothing.
    `id_key` hashes an anonymous answer's id (`kept_response_id`): the signing key.

    If the case cannot be started the response is not kept either, so the sender's retry
    starts cleanly; a repeated delivery also (re)starts a case that a crash left unstarted.
    """
    response_id = kept_response_id(payload, key=id_key)
    # The database work runs in a thread (never on the event loop), and holds no connection
    # across an await: a burst of repeated deliveries would otherwise empty the pool.
    existing = await asyncio.to_thread(stored_response, engine, response_id)
    if existing is not None:
        if existing.case_id:
            await start_case(client, existing, task_queue=task_queue)
        return Intake(result_of(existing), created=False)
    row = _record_for(payload, org, response_id=response_id, source=source, tool=tool)
    winner = await asyncio.to_thread(_store, engine, row)
    if winner is not None:  # a concurrent delivery of the same response won
        return Intake(result_of(winner), created=False)
    if row.case_id:
        try:
            await start_case(client, row, task_queue=task_queue)
        except BaseException:
            await asyncio.to_thread(_forget, engine, row.id)
            raise
    return Intake(result_of(row), created=True)


async def update_response(payload: ResponseCreate, *, engine: Engine, client: Client,
                          id_key: str) -> Intake | None:
    """A later delivery of a response we have (Delighted's `survey_response.updated`): a new
    comment or a changed score is kept and told to its open case, never opening a second one.
    None when the response is not here yet (the update outran its creation)."""
    response_id = kept_response_id(payload, key=id_key)
    changed = await asyncio.to_thread(_apply_update, engine, response_id, payload)
    if changed is None:
        return None
    row, update = changed
    if update is not None and row.case_id:
        await flows.tell_respondent_update(client, row.case_id, update)
    return Intake(result_of(row), created=False, updated=update is not None)


def _apply_update(engine: Engine, response_id: str, payload: ResponseCreate
                  ) -> tuple[SurveyResponse, RespondentUpdate | None] | None:
    with session_for(engine) as session:
        row = session.get(SurveyResponse, response_id)
        if row is None:
            return None
        # A tool sends the whole response again: only what is new counts, and an update that
        # leaves the comment out (Delighted's, for a changed score) does not erase it.
        comment = payload.comment if payload.comment and payload.comment != row.comment else None
        rescored = payload.score != row.score
        if comment is None and not rescored:
            return row, None
        update = RespondentUpdate(comment=comment, score_before=row.score if rescored else None,
                                  score=payload.score if rescored else None)
        row.comment = comment or row.comment
        row.score, row.category = payload.score, category_of(payload.score)
        session.add(row)
        session.commit()
        session.refresh(row)
        return row, update


def stored_response(engine: Engine, response_id: str) -> SurveyResponse | None:
    with session_for(engine) as session:
        return session.get(SurveyResponse, response_id)


def _store(engine: Engine, row: SurveyResponse) -> SurveyResponse | None:
    """Store the new answer; None, or the answer a concurrent delivery stored first."""
    with session_for(engine) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            winner = session.get(SurveyResponse, row.id)
            assert winner is not None
            return winner
    return None


def _forget(engine: Engine, response_id: str) -> None:
    """An answer whose case could not be started: not kept, so the sender's retry is clean."""
    with session_for(engine) as session:
        stored = session.get(SurveyResponse, response_id)
        if stored is not None:
            session.delete(stored)
            session.commit()
