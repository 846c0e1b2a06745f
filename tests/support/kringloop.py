"""Kringloop in the test's own process: a worker and the web app against one Temporal server,
the admin token the tests call the JSON API with, and workflow histories as searchable text."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from kringloop.cases.queries import timeline_of
from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings
from tests.support.mail import MailServer

ADMIN = {"Authorization": "Bearer test-admin-token"}
# The committed workflow histories the replay test replays (--record-histories writes them).
HISTORIES = Path(__file__).resolve().parents[1] / "histories"


@dataclass
class Kringloop:
    """A worker and the web app against one Temporal server, as a test drives them."""

    env: WorkflowEnvironment
    settings: Settings
    org: Organisation
    engine: Engine
    smtp: MailServer
    api: httpx.AsyncClient
    worker: Worker
    started: list[str] = field(default_factory=list)

    async def post_response(self, response_id: str, score: int, **fields: Any) -> dict[str, Any]:
        body = {"response_id": response_id, "program": "customer", "score": score, **fields}
        answer = await self.api.post("/api/responses", json=body)
        assert answer.status_code in (200, 201), answer.text
        if answer.json()["case_id"]:
            self.started.append(answer.json()["case_id"])
        return answer.json()  # type: ignore[no-any-return]

    async def terminate_open_cases(self) -> None:
        """Stop what a test left running: on the time-skipping server a workflow without its
        worker would hold the clock still for every later test. An activity still running
        when its workflow is terminated also holds the clock, so let activities finish first."""
        for case_id in self.started:
            handle = self.env.client.get_workflow_handle(case_id)
            with contextlib.suppress(RPCError):
                for _ in range(100):
                    described = await handle.describe()
                    if not described.raw_description.pending_activities:
                        break
                    await asyncio.sleep(0.05)
                await handle.terminate("test over")

    async def case(self, case_id: str) -> dict[str, Any]:
        answer = await self.api.get(f"/api/cases/{case_id}", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def case_when(self, case_id: str, ready: Any, *, timeout: float = 15
                        ) -> dict[str, Any]:
        """The case as soon as `ready(case)` holds (the workflow works asynchronously)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            answer = await self.api.get(f"/api/cases/{case_id}", headers=ADMIN)
            if answer.status_code == 200 and ready(answer.json()):
                return answer.json()  # type: ignore[no-any-return]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{case_id} did not get there: {answer.text}")
            await asyncio.sleep(0.05)

    async def act(self, case_id: str, action: str, body: dict[str, Any]) -> httpx.Response:
        return await self.api.post(f"/api/cases/{case_id}/{action}", json=body, headers=ADMIN)

    def timeline(self, case_id: str) -> list[tuple[str, str]]:
        with session_for(self.engine) as session:
            return [(e.kind, e.detail) for e in timeline_of(session=session, case_id=case_id)]

    async def finished(self, case_id: str) -> str:
        """Wait for the case workflow's end; on the time-skipping server, skip time meanwhile."""
        handle = self.env.client.get_workflow_handle(case_id)
        unlocked = getattr(self.env, "time_skipping_unlocked", contextlib.nullcontext)
        async with unlocked():
            return await handle.result()  # type: ignore[no-any-return]


def readable(history_json: str) -> str:
    """A history as JSON with every payload (base64 in the JSON) decoded beside it."""
    decoded: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("data"), str) and "metadata" in node:
                decoded.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(history_json))
    return "\n".join([history_json, *decoded])
