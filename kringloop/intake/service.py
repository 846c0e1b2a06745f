"""Taking in survey responses, one or a spreadsheet's batch: store each once, and open a case
workflow for a low score."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from temporalio.client import Client

from kringloop.cases import flows
from kringloop.cases.messages import CaseInput, RespondentUpdate, case_id_for
from kringloop.database import session_for
from kringloop.intake.schemas import IntakeResult, ResponseCreate
from kringloop.org.organisation import Organisation
from kringloop.responses.anonymity import kept_id, stays_anonymous
from kringloop.responses.models import SurveyResponse, category_of

# Case workflows starting at once for a batch: enough to hide Temporal's round trips, few
# enough that a big import does not crowd out the intake API's own starts.
CASE_STARTS_AT_ONCE = 32
# A batch whose answers a concurrent delivery stored first is read again this many times.
STORE_ATTEMPTS = 3


@dataclass(frozen=True)
class Intake:
    result: IntakeResult
    created: bool
    updated: bool = False


class KeptAnswer(Protocol):
    """What the intake answers about a kept answer, and what its case starts from: a stored
    row, or a new answer's columns on their way in."""

    @property
    def id(self) -> str: ...
    @property
    def program(self) -> str: ...
    @property
    def score(self) -> int: ...
    @property
    def category(self) -> str: ...
    @property
    def case_id(self) -> str | None: ...


class _Kept(NamedTuple):
    id: str
    program: str
    score: int
    category: str
    case_id: str | None


_KEPT_COLUMNS = tuple(getattr(SurveyResponse, name) for name in _Kept._fields)
_SURVEY_RESPONSE = SurveyResponse.__table__  # type: ignore[attr-defined]


def kept_response_id(payload: ResponseCreate, *, key: str) -> str:
    """The id the answer is kept under (an anonymous one's: a keyed hash of the tool's)."""
    return kept_id(payload.response_id, program=payload.program, meta=payload.meta, key=key)


def _to_the_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _columns_for(payload: ResponseCreate, org: Organisation, *, response_id: str,
                 source: str, tool: str | None) -> dict[str, Any]:
    """The answer as it is kept, column by column (the same keys for every answer: a batch
    goes in as one statement, and building a row object costs more than storing it)."""
    respondent = payload.respondent
    meta = payload.meta or {}
    now = datetime.now(UTC)
    needs_case = payload.score <= org.programs[payload.program].case_threshold
    columns: dict[str, Any] = {
        "id": response_id, "program": payload.program, "score": payload.score,
        "category": category_of(payload.score), "comment": payload.comment,
        "language": (respondent.language if respondent else None) or org.default_language,
        "segment": respondent.segment if respondent else None,
        "answered_at": payload.answered_at or now, "received_at": now,
        "source": source, "tool": tool, "meta": meta,
        "case_id": case_id_for(response_id) if needs_case else None,
        "respondent_id": None, "name": None, "email": None, "phone": None,
    }
    if stays_anonymous(payload.program, meta):
        # No identity is kept anywhere: not the id, name, email or phone, nor other meta, nor
        # the moment to the second (which a door log or a calendar could match to a person).
        columns["meta"] = {"contact_consent": False}
        columns["answered_at"] = _to_the_hour(columns["answered_at"])
        columns["received_at"] = _to_the_hour(now)
    elif respondent is not None:
        columns["respondent_id"] = respondent.id
        columns["name"] = respondent.name
        columns["email"] = str(respondent.email) if respondent.email else None
        columns["phone"] = respondent.phone
    return columns


def result_of(row: KeptAnswer) -> IntakeResult:
    return IntakeResult(response_id=row.id, category=row.category,  # type: ignore[arg-type]
                        case_id=row.case_id)


async def start_case(client: Client, row: KeptAnswer, *, task_queue: str) -> None:
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
    intake, = await receive_responses([payload], engine=engine, client=client, org=org,
                                      task_queue=task_queue, id_key=id_key, source=source,
                                      tool=tool)
    if isinstance(intake, Exception):
        raise intake
    return intake


async def receive_responses(
    payloads: Sequence[ResponseCreate], *, engine: Engine, client: Client, org: Organisation,
    task_queue: str, id_key: str, source: str = "api", tool: str | None = None,
) -> list[Intake | Exception]:
    """`receive_response` for many at once (a spreadsheet's batch): the new ones stored in one
    transaction, the cases started CASE_STARTS_AT_ONCE at a time. For each payload, in order,
    its intake or why it was not taken in; a database that fails fails the whole batch."""
    new: dict[str, dict[str, Any]] = {}
    ids: list[str] = []
    for payload in payloads:
        columns = _columns_for(payload, org, response_id=kept_response_id(payload, key=id_key),
                               source=source, tool=tool)
        new.setdefault(columns["id"], columns)  # the same answer twice: the first counts
        ids.append(columns["id"])
    # The database work runs in a thread (never on the event loop), and holds no connection
    # across an await: a burst of repeated deliveries would otherwise empty the pool.
    known = await asyncio.to_thread(_store_new, engine, list(new.values()))
    kept = {id_: known.get(id_) or _Kept(*(columns[name] for name in _Kept._fields))
            for id_, columns in new.items()}
    cases = [answer for answer in kept.values() if answer.case_id]
    started: set[str] = set()
    failed: dict[str, Exception] = {}
    at_once = asyncio.Semaphore(CASE_STARTS_AT_ONCE)

    async def open_case(answer: _Kept) -> None:
        async with at_once:
            try:
                await start_case(client, answer, task_queue=task_queue)
            except Exception as error:
                failed[answer.id] = error
            else:
                started.add(answer.id)

    try:
        await asyncio.gather(*(open_case(answer) for answer in cases))
    finally:
        # Kept only with its case: a new answer whose case did not start (or may not have,
        # if we were cancelled) is forgotten, so its retry starts cleanly. A known one stays.
        unstarted = [answer.id for answer in cases
                     if answer.id not in known and answer.id not in started]
        if unstarted:
            await asyncio.to_thread(_forget, engine, unstarted)
    created = set(new) - set(known)  # each the first time it is in the batch
    intakes: list[Intake | Exception] = []
    for id_ in ids:
        intakes.append(failed.get(id_) or Intake(result_of(kept[id_]), created=id_ in created))
        created.discard(id_)
    return intakes


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


def _store_new(engine: Engine, answers: Sequence[dict[str, Any]]) -> dict[str, _Kept]:
    """Store, in one statement, the answers not stored yet; those that were, as stored."""
    ids = [answer["id"] for answer in answers]
    attempts = 1
    while True:
        try:
            with engine.begin() as connection:
                known = {row.id: _Kept(*row) for row in connection.execute(
                    select(*_KEPT_COLUMNS).where(col(SurveyResponse.id).in_(ids)))}
                fresh = [answer for answer in answers if answer["id"] not in known]
                if fresh:
                    connection.execute(insert(_SURVEY_RESPONSE), fresh)
            return known
        except IntegrityError:
            # A concurrent delivery stored one of them first: read again, and it is known.
            if attempts == STORE_ATTEMPTS:
                raise
            attempts += 1


def _forget(engine: Engine, response_ids: Sequence[str]) -> None:
    """Answers whose case could not be started: not kept, so the sender's retry is clean."""
    with session_for(engine) as session:
        session.exec(delete(SurveyResponse).where(  # type: ignore[call-overload]
            col(SurveyResponse.id).in_(response_ids)))
        session.commit()
