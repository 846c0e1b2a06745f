"""Survey answers as a survey tool sends them to the intake API, and the case one opens, once it
has been taken in and acknowledged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.web.app import create_app
from tests.support.kringloop import Kringloop

INTAKE = "/api/responses"


def unique(prefix: str) -> str:
    """A response id no other test on the shared dev server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def detractor(response_id: str, **fields: Any) -> dict[str, Any]:
    return {"response_id": response_id, "program": "customer", "score": 3,
            "respondent": {"name": "Anna de Vries", "email": "anna@example.nl",
                           "language": "nl"}, **fields}


def stored_counts(engine: Engine) -> tuple[int, int]:
    """(survey responses, cases) in the database."""
    with session_for(engine) as session:
        responses = session.execute(select(func.count()).select_from(SurveyResponse)).scalar_one()
        cases = session.execute(select(func.count()).select_from(Case)).scalar_one()
    return responses, cases


def promoter() -> dict[str, Any]:
    """A complete, valid answer from a happy customer (a promoter opens no case)."""
    return {
        "response_id": f"hostile-{uuid.uuid4().hex[:12]}", "program": "customer", "score": 9,
        "comment": "Snel geholpen in de winkel.",
        "respondent": {"id": "klant-1", "name": "Anna de Vries", "email": "anna@example.nl",
                       "phone": "+31 6 12345678", "language": "nl", "segment": "webshop"},
        "answered_at": "2026-01-05T10:00:00+01:00", "meta": {"survey": "winkel-q1"},
    }


async def settled(live: Kringloop, case_id: str) -> dict[str, Any]:
    """The case once it has been opened, assigned and every email it queued has been sent."""
    case = await live.case_when(case_id, lambda c: any(
        e["kind"] == "email_sent" for e in c["timeline"]))
    handle = live.env.client.get_workflow_handle(case_id)
    deadline = asyncio.get_running_loop().time() + 15
    # Queried by name: the typed query (dict[str, object]) cannot be decoded by the client.
    while (await handle.query("state"))["outgoing_mail"]:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{case_id} still has emails to send")
        await asyncio.sleep(0.05)
    return case


@asynccontextmanager
async def api_with(live: Kringloop, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The web app as an operator configured it, against the live dev server and database."""
    app = create_app(Services(settings=settings, org=live.org, engine=live.engine,
                              temporal=live.env.client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://kringloop.test") as api:
        yield api
