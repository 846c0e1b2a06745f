"""Scale-out: two worker processes and two web processes share one Temporal dev server and one
PostgreSQL. 300 detractors posted round-robin become 300 cases, each acknowledged exactly once,
and both workers did part of the work."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from kringloop.network import free_ports
from kringloop.runtime.stack import start_dev_server
from tests.support.command import KRINGLOOP, clean_environment
from tests.support.mail import MailServer

RESPONSES = 300
pytestmark = pytest.mark.slow


@pytest.fixture
async def dev_server_for_load() -> AsyncIterator[WorkflowEnvironment]:
    env, _ = await start_dev_server(
        dev_server_extra_args=["--dynamic-config-value", "frontend.namespaceCount=4000"])
    yield env
    await env.shutdown()


async def _processes(tmp_path: Path, environment: dict[str, str], web_ports: list[int]
                     ) -> list[asyncio.subprocess.Process]:
    started = []
    for n, part in enumerate(["worker", "worker", "web", "web"]):
        env = dict(environment)
        if part == "web":
            env["KRINGLOOP_WEB_PORT"] = str(web_ports[n - 2])
        log = (tmp_path / f"{part}-{n}.log").open("wb")
        started.append(await asyncio.create_subprocess_exec(
            str(KRINGLOOP), part, cwd=tmp_path, env=env, stdout=log,
            stderr=asyncio.subprocess.STDOUT))
    return started


async def _wait_healthy(urls: list[str]) -> None:
    async with httpx.AsyncClient(timeout=2) as web:
        for _ in range(300):
            try:
                answers = [await web.get(f"{u}/health") for u in urls]
                if all(a.status_code == 200 for a in answers):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("the web processes never became healthy")


async def _worker_identities(client: Client, case_ids: list[str]) -> Counter[str]:
    """Which worker process ran each case's activities (from the workflow histories)."""
    seen: Counter[str] = Counter()
    for case_id in case_ids[::10]:
        history = await client.get_workflow_handle(case_id).fetch_history()
        for event in history.events:
            if event.HasField("activity_task_started_event_attributes"):
                seen[event.activity_task_started_event_attributes.identity] += 1
    return seen


async def test_two_workers_and_two_web_processes_share_the_load_exactly_once(
    tmp_path: Path, smtp: MailServer, postgresql_database: str,
    dev_server_for_load: WorkflowEnvironment,
) -> None:
    web_ports = free_ports(2)
    environment = clean_environment(
        KRINGLOOP_TEMPORAL_ADDRESS=dev_server_for_load.client.service_client.config.target_host,
        KRINGLOOP_DATABASE_URL=postgresql_database,
        KRINGLOOP_SMTP_HOST="127.0.0.1", KRINGLOOP_SMTP_PORT=str(smtp.port),
        KRINGLOOP_HOME=str(tmp_path / "home"), KRINGLOOP_ADMIN_TOKEN="scale-admin",
        KRINGLOOP_SECRET_KEY="scale-secret", KRINGLOOP_TASK_QUEUE="scale-out")
    upgrade = await asyncio.create_subprocess_exec(str(KRINGLOOP), "db", "upgrade",
                                                   env=environment, cwd=tmp_path)
    assert await upgrade.wait() == 0
    processes = await _processes(tmp_path, environment, web_ports)
    urls = [f"http://127.0.0.1:{port}" for port in web_ports]
    try:
        await _wait_healthy(urls)
        limit = asyncio.Semaphore(16)
        started = asyncio.get_running_loop().time()

        async def post(n: int, web: httpx.AsyncClient) -> str:
            delivery = {"response_id": f"load-{n}", "program": "customer", "score": n % 7,
                        "respondent": {"name": f"Klant {n}", "email": f"klant{n}@example.nl"}}
            async with limit:
                for attempt in range(3):
                    # Like a survey tool's webhook, deliver again when the connection drops:
                    # the same response id is one case, however often it arrives.
                    try:
                        answer = await web.post(f"{urls[n % 2]}/api/responses", json=delivery)
                        break
                    except httpx.TransportError:
                        if attempt == 2:
                            raise
            assert answer.status_code in (200, 201), answer.text
            return str(answer.json()["case_id"])

        async with httpx.AsyncClient(timeout=30) as web:
            case_ids = await asyncio.gather(*(post(n, web) for n in range(RESPONSES)))
        acknowledgements = [m for m in await _all_acknowledged(smtp)]
        elapsed = asyncio.get_running_loop().time() - started
        print(f"\n{RESPONSES} detractors acknowledged in {elapsed:.1f} s "
              f"({RESPONSES / elapsed:.1f}/s) by 2 workers and 2 web processes")

        ids = Counter(str(m["Message-ID"]) for m in acknowledgements)
        assert len(ids) == RESPONSES and max(ids.values()) == 1
        assert {str(m["To"]).split("<")[-1].rstrip(">") for m in acknowledgements} == {
            f"klant{n}@example.nl" for n in range(RESPONSES)}
        counting = create_engine(postgresql_database)
        with counting.connect() as connection:
            cases = connection.execute(text('SELECT count(*) FROM "case"')).scalar()
        counting.dispose()
        assert cases == RESPONSES
        workers = await _worker_identities(dev_server_for_load.client, case_ids)
        assert len(workers) == 2, f"one worker did everything: {workers}"
    finally:
        for process in processes:
            process.terminate()
        await asyncio.gather(*(p.wait() for p in processes))


async def _all_acknowledged(smtp: MailServer, *, timeout: float = 240) -> list:  # type: ignore[type-arg]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        acknowledgements = [m for m in smtp.received if m["X-Kringloop-Kind"] == "acknowledgement"]
        if len(acknowledgements) >= RESPONSES:
            await asyncio.sleep(2)  # a duplicate would arrive late: give it the chance
            return [m for m in smtp.received if m["X-Kringloop-Kind"] == "acknowledgement"]
        assert asyncio.get_running_loop().time() < deadline, (
            f"only {len(acknowledgements)} of {RESPONSES} acknowledged")
        await asyncio.sleep(0.5)
