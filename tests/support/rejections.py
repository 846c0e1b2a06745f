"""Rejections as a recruiter makes them: over the API (a rejection and its applicant, and
Kringloop as the recruiter and the applicant meet it, on either Temporal server) and on the
vacancy page's form."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus

from kringloop.database import session_for
from kringloop.rejections.messages import RejectionInput
from kringloop.rejections.models import Rejection
from kringloop.rejections.queries import event
from kringloop.rejections.rules import mailing_id_for
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.pages import element
from tests.support.web import Browser
from workflows.rejection import RejectionWorkflow

CERTIFICATE = ("Voor deze rol is het diploma Fietstechnicus niveau 3 nodig, en dat heb je "
               "(nog) niet.")
REASON = {"code": "certification", "sentence": CERTIFICATE}


def applicant(number: int | str, *, language: str = "nl", name: str = "Lisa Jansen"
              ) -> dict[str, str]:
    return {"id": f"sol-{number}", "name": name, "email": f"sollicitant-{number}@example.nl",
            "language": language}


def rejection(who: dict[str, str] | None = None, *, vacancy: str = "v-fietsenmaker",
              reasons: list[dict[str, str]] | None = None, **fields: Any) -> dict[str, Any]:
    """A rejection as a recruiter posts it; every test gets fresh ids unless it passes its own."""
    return {"applicant": who or applicant(uuid.uuid4().hex[:8]),
            "vacancy": {"id": vacancy, "title": "Fietsenmaker"}, "stage": "interview",
            "reasons": [REASON] if reasons is None else reasons, **fields}


@dataclass
class Recruiting:
    """Kringloop as a recruiter and an applicant meet it, on either Temporal server."""

    kringloop: Kringloop

    @property
    def api(self) -> httpx.AsyncClient:
        return self.kringloop.api

    def follow(self, *workflow_ids: str | None) -> None:
        """Workflows to stop when the test ends (a leftover one holds the simulated clock)."""
        self.kringloop.started.extend(w for w in workflow_ids if w)

    async def start_as_before_mailings(self, row: Rejection) -> None:
        """Store `row` and start its own RejectionWorkflow, as the intake did before vacancy
        mailings existed (such rejections still run)."""
        with session_for(self.kringloop.engine) as session:
            session.add(row)
            session.add(event(row.id, "received", "received", at=row.created_at, actor="admin"))
            session.commit()
        await self.kringloop.env.client.start_workflow(
            RejectionWorkflow.run, RejectionInput(rejection_id=row.id), id=row.id,
            task_queue=self.kringloop.settings.task_queue)
        self.follow(row.id)

    async def reject(self, body: dict[str, Any], headers: dict[str, str] = ADMIN
                     ) -> httpx.Response:
        answer = await self.api.post("/api/rejections", json=body, headers=headers)
        if answer.status_code in (200, 202):
            self.follow(mailing_id_for(body["vacancy"]["id"]))
        return answer

    async def batch(self, vacancy: str, body: dict[str, Any]) -> httpx.Response:
        answer = await self.api.post(f"/api/vacancies/{vacancy}/rejections", json=body,
                                     headers=ADMIN)
        if answer.status_code in (202, 422) and answer.json().get("accepted"):
            self.follow(mailing_id_for(vacancy))
        return answer

    async def rejection(self, rejection_id: str) -> dict[str, Any]:
        answer = await self.api.get(f"/api/rejections/{rejection_id}", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def rejection_when(self, rejection_id: str, ready: Callable[[dict[str, Any]], Any],
                             *, timeout: float = 15) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.rejection(rejection_id)
            if ready(found):
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{rejection_id} did not get there: {found}")
            await asyncio.sleep(0.05)

    def mailing_of(self, rejection_id: str) -> str:
        """The workflow that sends the rejection: its vacancy's mailing."""
        with session_for(self.kringloop.engine) as session:
            row = session.get(Rejection, rejection_id)
        assert row is not None and row.mailing_id is not None
        return row.mailing_id

    async def ended(self, workflow_id: str, *, timeout: float = 10) -> str:
        """The workflow's status once it is no longer running (without unlocking time skipping,
        which `Kringloop.finished` does and which lets the simulated clock run ahead)."""
        handle = self.kringloop.env.client.get_workflow_handle(workflow_id)
        deadline = asyncio.get_running_loop().time() + timeout
        while (status := (await handle.describe()).status) == WorkflowExecutionStatus.RUNNING:
            assert asyncio.get_running_loop().time() < deadline, f"{workflow_id} still runs"
            await asyncio.sleep(0.05)
        assert status is not None
        return status.name

    async def cancel(self, rejection_id: str, headers: dict[str, str] = ADMIN
                     ) -> httpx.Response:
        return await self.api.delete(f"/api/rejections/{rejection_id}", headers=headers)

    def stored(self) -> list[Rejection]:
        with session_for(self.kringloop.engine) as session:
            return list(session.exec(select(Rejection)).all())

    async def now(self) -> datetime:
        return await self.kringloop.env.get_current_time()

    async def travel_to(self, moment: datetime) -> None:
        """Move the simulated clock forward to `moment` (the time-skipping server only)."""
        now = await self.now()
        assert moment > now, f"the simulated clock is already past {moment}"
        await self.kringloop.env.sleep(moment - now)

    async def sleep(self, duration: timedelta) -> None:
        await self.kringloop.env.sleep(duration)

    async def settle(self, *, timeout: float = 10) -> None:
        """Let every followed workflow finish what it is doing, an activity or a workflow task,
        before the test ends and they are terminated: a task taken by a worker that is gone
        holds the simulated clock, and the next test's first sleep times out."""
        deadline = asyncio.get_running_loop().time() + timeout
        for workflow_id in dict.fromkeys(self.kringloop.started):
            handle = self.kringloop.env.client.get_workflow_handle(workflow_id)
            while asyncio.get_running_loop().time() < deadline:
                described = await handle.describe()
                raw = described.raw_description
                if described.status != WorkflowExecutionStatus.RUNNING or not (
                        raw.pending_activities or raw.HasField("pending_workflow_task")):
                    break
                await asyncio.sleep(0.02)


# --- the vacancy page ---------------------------------------------------------------------------

def vacancy_page(vacancy: str, title: str = "Fietsenmaker") -> str:
    return f"/rejections/vacancy?vacancy_id={vacancy}&vacancy_title={title}"


def lisa(vacancy: str, **fields: str) -> dict[str, str]:
    """Lisa as a recruiter types her in on the vacancy page: no certificate, after an interview."""
    return {"name": "Lisa Jansen", "email": f"lisa.{vacancy}@example.nl", "language": "nl",
            "stage": "interview", "reason_code": "certification", "reason": CERTIFICATE,
            **fields}


def hidden_fields(page: str) -> dict[str, str]:
    """What the vacancy page's form carries along: the CSRF token, the vacancy, the draft."""
    form = element(page, "batch")
    return {name: html.unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)}


async def press(person: Browser, page: httpx.Response, button: str,
                fields: dict[str, str] | None = None) -> httpx.Response:
    """Fill in the vacancy page's form (as `page` shows it) and press `button` (its `do`)."""
    return await person.client.post("/rejections/vacancy", data={
        **hidden_fields(page.text), **(fields or {}), "do": button})


def stored(live: Kringloop, vacancy: str) -> list[Rejection]:
    """The vacancy's rejections in the database."""
    with session_for(live.engine) as session:
        rows = list(session.exec(select(Rejection).where(Rejection.vacancy_id == vacancy)))
    live.started.extend(row.id for row in rows)  # stopped when the test ends
    return rows
