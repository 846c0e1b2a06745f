"""The fault suite's fixtures: Kringloop as separate processes (`kringloop worker`, `kringloop
web`) against a Temporal dev server, a mail server and a database a scenario can break and mend
(tests/faults/breakable.py), the audit each scenario ends with, and the table of audits printed
at the end of the run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from temporalio.client import Client

from kringloop.database import make_engine
from kringloop.network import free_port
from tests.faults.audit import (
    MAIL_FROM,
    Audit,
    Expected,
    FaultRow,
    FaultTable,
    audit,
    table_lines,
)
from tests.faults.breakable import (
    THROWAWAY_POSTGRES,
    DatabaseOutage,
    Deployment,
    Launch,
    MailRelay,
    TemporalServer,
)
from tests.faults.survey_tool import SurveyTool
from tests.support.command import KRINGLOOP, clean_environment
from tests.support.working_days import round_the_clock_org_file

ADMIN_TOKEN = "faults-admin"
FAULT_ROWS = pytest.StashKey[list[FaultRow]]()


# --- the table of audits -----------------------------------------------------------------------

@pytest.fixture
def fault_table(request: pytest.FixtureRequest) -> FaultTable:
    return FaultTable(request.config.stash.setdefault(FAULT_ROWS, []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = terminalreporter.config.stash.get(FAULT_ROWS, [])
    if rows:
        terminalreporter.section("fault audit")
        for line in table_lines(rows):
            terminalreporter.write_line(line)


# --- Temporal ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
async def shared_temporal(tmp_path_factory: pytest.TempPathFactory
                          ) -> AsyncIterator[TemporalServer]:
    """One dev server for the scenarios that do not restart Temporal (each has its own queue)."""
    server = TemporalServer(log=tmp_path_factory.mktemp("temporal") / "temporal.log")
    await server.start()
    yield server
    await server.kill()


@pytest.fixture
async def restartable_temporal(tmp_path: Path) -> AsyncIterator[TemporalServer]:
    """A dev server of the scenario's own, on disk, to restart (ask for it before `kringloop`,
    so that it outlives the worker's shutdown)."""
    server = TemporalServer(log=tmp_path / "temporal.log", database=tmp_path / "temporal.db")
    await server.start()
    yield server
    await server.kill()


# --- the mail server ---------------------------------------------------------------------------

@pytest.fixture
def mail() -> Iterator[MailRelay]:
    relay = MailRelay()
    relay.up()
    yield relay
    relay.down()


# --- Kringloop's own processes -----------------------------------------------------------------

@pytest.fixture
async def kringloop(tmp_path: Path, database_url: str, shared_temporal: TemporalServer,
                    mail: MailRelay) -> AsyncIterator[Launch]:
    """Start Kringloop's worker and web processes, healthy; `temporal` and `database` replace
    the shared dev server and the test database, other keywords are KRINGLOOP_* settings."""
    started: list[Deployment] = []

    async def launch(*, temporal: TemporalServer | None = None, database: str | None = None,
                     **settings: str) -> Deployment:
        temporal = temporal or shared_temporal
        url = database or database_url
        port = free_port()
        environment = clean_environment(
            KRINGLOOP_TEMPORAL_ADDRESS=temporal.address, KRINGLOOP_DATABASE_URL=url,
            KRINGLOOP_SMTP_HOST="127.0.0.1", KRINGLOOP_SMTP_PORT=str(mail.server.port),
            KRINGLOOP_MAIL_FROM=MAIL_FROM, KRINGLOOP_HOME=str(tmp_path / "home"),
            KRINGLOOP_WEB_PORT=str(port), KRINGLOOP_ADMIN_TOKEN=ADMIN_TOKEN,
            KRINGLOOP_SECRET_KEY="faults-secret",
            KRINGLOOP_TASK_QUEUE=f"faults-{uuid.uuid4().hex[:8]}",
            **{"KRINGLOOP_ORG_FILE": str(round_the_clock_org_file(tmp_path)), **settings})
        upgrade = await asyncio.create_subprocess_exec(
            str(KRINGLOOP), "db", "upgrade", cwd=tmp_path, env=environment,
            stdout=asyncio.subprocess.DEVNULL)
        assert await upgrade.wait() == 0, "kringloop db upgrade failed"
        deployment = Deployment(folder=tmp_path, environment=environment,
                                web_url=f"http://127.0.0.1:{port}", engine=make_engine(url),
                                temporal=await Client.connect(temporal.address))
        started.append(deployment)
        for part in ("worker", "web"):
            await deployment.start(part)
        await deployment.healthy()
        return deployment

    yield launch
    for deployment in started:
        await deployment.stop()


# --- the audit, bound to the scenario's mail server and the table ---------------------------------

@pytest.fixture
def audited(mail: MailRelay, fault_table: FaultTable) -> Audit:
    """The audit a scenario ends with (tests/faults/audit.py), its row put in the table."""

    async def run(scenario: str, expected: Expected, deployment: Deployment,
                  survey_tool: SurveyTool) -> FaultRow:
        return await audit(scenario, expected, deployment=deployment, mail=mail,
                           table=fault_table, deliveries=survey_tool.deliveries)

    return run


# --- a database that goes away -----------------------------------------------------------------

@pytest.fixture
def database_outage(database_url: str) -> Iterator[DatabaseOutage]:
    """SQLite unless the suite runs on PostgreSQL (KRINGLOOP_TEST_DATABASE_URL, CI's second
    pass); then a cluster from scripts/throwaway-postgres whose settings outlive a restart."""
    if not os.environ.get("KRINGLOOP_TEST_DATABASE_URL"):
        yield DatabaseOutage(url=database_url, how="locked")
        return
    started = subprocess.run([THROWAWAY_POSTGRES], capture_output=True, text=True, check=True)
    server, cluster = started.stdout.split()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text('CREATE DATABASE "faults"'))
        version = connection.execute(text("SELECT current_setting('server_version_num')"))
        major = int(version.scalar_one()) // 10000
        # The script passes these on the command line; pg_ctl start must find them again.
        for name in ("port", "listen_addresses", "unix_socket_directories", "fsync",
                     "max_connections"):
            value = connection.execute(text("SELECT current_setting(:name)"),
                                       {"name": name}).scalar()
            connection.execute(text(f"ALTER SYSTEM SET {name} = '{value}'"))
    admin.dispose()
    try:
        yield DatabaseOutage(url=f"{server.rsplit('/', 1)[0]}/faults", how="stopped",
                             cluster=Path(cluster),
                             pg_ctl=f"/usr/lib/postgresql/{major}/bin/pg_ctl")
    finally:
        subprocess.run([THROWAWAY_POSTGRES, "stop", cluster], check=False)
