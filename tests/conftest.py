"""Shared fixtures: real Temporal servers, a real SMTP server, a real database, a running worker."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, create_engine, text
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from kringloop.cases.queries import timeline_of
from kringloop.database import make_engine, session_for
from kringloop.migrations import create_at_head
from kringloop.network import free_port
from kringloop.org.organisation import Organisation, load_organisation
from kringloop.runtime.stack import bundled_binary
from kringloop.services import Services
from kringloop.settings import DEFAULT_ORG_FILE, Settings
from kringloop.web.app import create_app
from worker import build_worker

ADMIN = {"Authorization": "Bearer test-admin-token"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")
    parser.addoption("--record-histories", action="store_true",
                     help="save the histories of the scenario tests to tests/histories/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


HISTORIES = Path(__file__).parent / "histories"


@pytest.fixture
def keep_history(request: pytest.FixtureRequest) -> Any:
    """With --record-histories, save a finished case's history for the replay test."""

    async def keep(kringloop: Kringloop, case_id: str, name: str) -> None:
        if request.config.getoption("--record-histories"):
            history = await kringloop.env.client.get_workflow_handle(case_id).fetch_history()
            HISTORIES.mkdir(exist_ok=True)
            (HISTORIES / f"{name}.json").write_text(history.to_json())

    return keep


# --- a real SMTP server that the tests can read and make misbehave ---------------------------

@dataclass
class MailServer:
    """An aiosmtpd server keeping every accepted message; can refuse like a real relay."""

    port: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    refuse_recipients: dict[str, str] = field(default_factory=dict)
    temporary_failures: int = 0
    answer_delay_s: float = 0.0  # a slow relay: each email's final answer waits this long
    connections: set[tuple[str, int]] = field(default_factory=set)  # client (host, port) seen

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.connections.add(tuple(session.peer))
        if self.answer_delay_s:
            await asyncio.sleep(self.answer_delay_s)
        if self.temporary_failures > 0:
            self.temporary_failures -= 1
            return "451 Try again later"
        message = message_from_bytes(envelope.original_content or b"", policy=default_policy)
        self.received.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str, kind: str | None = None) -> list[EmailMessage]:
        return [m for m in self.received if address in str(m["To"])
                and (kind is None or m["X-Kringloop-Kind"] == kind)]

    async def wait_for(self, count: int, *, timeout: float = 10) -> list[EmailMessage]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} emails, got {len(self.received)}")
            await asyncio.sleep(0.02)
        return self.received


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer(port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    yield server
    controller.stop()


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


# --- workflow histories, as text a test can search ---------------------------------------------

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


# --- database, organisation, settings ----------------------------------------------------------

@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite by default; KRINGLOOP_TEST_DATABASE_URL (a PostgreSQL server) runs the same
    tests on PostgreSQL, each in a database of its own."""
    server = os.environ.get("KRINGLOOP_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'k.db'}"
        return
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{server.rsplit('/', 1)[0]}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_at_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def org() -> Organisation:
    return load_organisation(DEFAULT_ORG_FILE)


@pytest.fixture
def settings(tmp_path: Path, smtp: MailServer, database_url: str) -> Settings:
    return Settings(
        database_url=database_url, home=tmp_path / "home", smtp_host="127.0.0.1",
        smtp_port=smtp.port, admin_token=ADMIN["Authorization"].split()[1],
        secret_key="test-signing-key", task_queue=f"test-{uuid.uuid4().hex[:8]}",
        public_url="http://kringloop.test",
    )


# --- Temporal: the time-skipping test server and the dev server --------------------------------

@pytest.fixture
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own: with a shared one, a workflow left waiting by
    an earlier test makes the clock leap ahead (years) whenever the server idles."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=bundled_binary("temporal-test-server"))
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=bundled_binary("temporal"), dev_server_log_level="error")
    yield env
    await env.shutdown()


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


async def _kringloop(env: WorkflowEnvironment, settings: Settings, org: Organisation,
                     engine: Engine, smtp: MailServer) -> AsyncIterator[Kringloop]:
    app = create_app(Services(settings=settings, org=org, engine=engine, temporal=env.client))
    worker = build_worker(env.client, settings=settings, org=org, engine=engine,
                          strict_sandbox=True)
    async with worker, httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://kringloop.test") as api:
        kringloop = Kringloop(env=env, settings=settings, org=org, engine=engine, smtp=smtp,
                              api=api, worker=worker)
        yield kringloop
        await kringloop.terminate_open_cases()


@pytest.fixture
async def simulated(time_skipping: WorkflowEnvironment, settings: Settings, org: Organisation,
                    engine: Engine, smtp: MailServer) -> AsyncIterator[Kringloop]:
    """Kringloop on the time-skipping server: days of SLA pass in moments."""
    async for kringloop in _kringloop(time_skipping, settings, org, engine, smtp):
        yield kringloop


@pytest.fixture
async def live(dev_server: WorkflowEnvironment, settings: Settings, org: Organisation,
               engine: Engine, smtp: MailServer) -> AsyncIterator[Kringloop]:
    """Kringloop on the Temporal dev server, in real time (for updates)."""
    async for kringloop in _kringloop(dev_server, settings, org, engine, smtp):
        yield kringloop
