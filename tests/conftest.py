"""Shared fixtures: real Temporal servers, a real SMTP server, a real database, a running worker.
(What tests share besides fixtures is in tests/support/.)"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from bench.queue_load import postgres_database
from kringloop.cases.models import Case
from kringloop.database import make_engine, session_for
from kringloop.migrations import create_at_head
from kringloop.network import free_port
from kringloop.org.organisation import Organisation, load_organisation
from kringloop.resources import CHECKOUT
from kringloop.responses.models import SurveyResponse
from kringloop.runtime.stack import bundled_binary, start_dev_server
from kringloop.services import Services
from kringloop.settings import DEFAULT_ORG_FILE, Settings
from kringloop.web.app import create_app
from worker import build_worker

# The support modules' assertions report what they compared, as a test's own do (pytest
# rewrites only test modules and conftest files unless told): registered before their import.
pytest.register_assert_rewrite("tests.support")

from tests.support.kringloop import ADMIN, HISTORIES, Kringloop  # noqa: E402
from tests.support.mail import LIEKE, MailServer  # noqa: E402
from tests.support.working_days import round_the_clock  # noqa: E402


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

@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer(port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    yield server
    controller.stop()


# --- database, organisation, settings ----------------------------------------------------------

@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite by default; KRINGLOOP_TEST_DATABASE_URL (a PostgreSQL server) runs the same
    tests on PostgreSQL, each in a database of its own."""
    server = os.environ.get("KRINGLOOP_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'k.db'}"
        return
    with postgres_database(server) as url:
        yield url


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[str]:
    """A PostgreSQL server for the tests that need one whatever the suite runs on: the suite's
    (KRINGLOOP_TEST_DATABASE_URL), else a throw-away cluster of our own."""
    if url := os.environ.get("KRINGLOOP_TEST_DATABASE_URL"):
        yield url
        return
    throwaway = str(CHECKOUT / "scripts" / "throwaway-postgres")
    started = subprocess.run([throwaway], capture_output=True, text=True, check=True)
    url, cluster = started.stdout.split()
    yield url
    subprocess.run([throwaway, "stop", cluster], check=True)


@pytest.fixture
def postgresql_database(postgresql_server: str) -> Iterator[str]:
    """An empty database of the test's own on that PostgreSQL server, dropped afterwards."""
    with postgres_database(postgresql_server) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_at_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def example_org() -> Organisation:
    return load_organisation(DEFAULT_ORG_FILE)


@pytest.fixture
def org(request: pytest.FixtureRequest, example_org: Organisation) -> Organisation:
    """The example organisation, its teams working round the clock: a test that is not about
    working hours must not wait for the morning when it runs at night. Tests marked
    `office_hours` get the teams as the file has them (09:00-17:00 on working days)."""
    if request.node.get_closest_marker("office_hours"):
        return example_org
    return round_the_clock(example_org)


@pytest.fixture
def settings(tmp_path: Path, smtp: MailServer, database_url: str) -> Settings:
    return Settings(
        database_url=database_url, home=tmp_path / "home", smtp_host="127.0.0.1",
        smtp_port=smtp.port, admin_token=ADMIN["Authorization"].split()[1],
        secret_key="test-signing-key", task_queue=f"test-{uuid.uuid4().hex[:8]}",
        public_url="http://kringloop.test",
    )


# --- a case straight in the database, as the workflow leaves it -------------------------------

@pytest.fixture
def assigned_case(engine: Engine, org: Organisation) -> str:
    """A case as the workflow leaves it after assignment, straight in the database."""
    now = datetime.now(UTC)
    team = org.team("particulier")
    member = next(m for m in team.members if m.role == "member")
    with session_for(engine) as session:
        session.add(SurveyResponse(
            id="mail-1", program="customer", score=2, category="detractor", name="Lieke Smit",
            email=LIEKE, language="nl", answered_at=now, received_at=now, case_id="case-mail-1"))
        session.add(Case(id="case-mail-1", response_id="mail-1", program="customer", score=2,
                         status="assigned", team_id=team.id, assignee_email=member.email,
                         assignee_name=member.name, opened_at=now,
                         callback_due_at=now + timedelta(days=1)))
        session.commit()
    return "case-mail-1"


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
    env, _ = await start_dev_server()
    yield env
    await env.shutdown()


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
