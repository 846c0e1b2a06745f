"""End to end: `kringloop up` as an operator starts it, a detractor posted over HTTP; and what
`/health` says when a part does not answer."""

from __future__ import annotations

import asyncio
import signal
import socket
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from kringloop.database import make_engine
from kringloop.network import free_port
from kringloop.org.organisation import Organisation
from kringloop.services import Services
from kringloop.web.app import create_app
from tests.support.kringloop import Kringloop
from tests.support.mail import MailServer, body_of
from tests.support.stack import ANNA, case_when, kringloop_up, post_detractor


def acknowledgements_in(outbox: Path) -> list[EmailMessage]:
    found = [message_from_bytes(path.read_bytes(), policy=default_policy)
             for path in sorted(outbox.glob("*.eml"))]
    return [m for m in found  # type: ignore[misc]
            if m["X-Kringloop-Kind"] == "acknowledgement" and ANNA["email"] in str(m["To"])]


async def test_a_detractor_posted_to_kringloop_up_is_acknowledged_personally_within_two_seconds(
    tmp_path: Path, smtp: MailServer, org: Organisation, database_url: str, engine: Engine,
) -> None:
    # `engine` has put the schema in the test database: a shared (PostgreSQL) database is
    # migrated by an operator, never by `kringloop up` behind other processes' backs.
    async with kringloop_up(tmp_path, KRINGLOOP_SMTP_HOST="127.0.0.1",
                            KRINGLOOP_SMTP_PORT=str(smtp.port),
                            KRINGLOOP_DATABASE_URL=database_url) as stack:
        await stack.healthy()

        case_id, posted_at = await post_detractor(stack.web_url)
        while not smtp.to(ANNA["email"], "acknowledgement"):
            assert asyncio.get_running_loop().time() - posted_at < 10, "no acknowledgement"
            await asyncio.sleep(0.005)
        latency = asyncio.get_running_loop().time() - posted_at
        print(f"\nacknowledgement reached the SMTP server {latency:.3f} s after the POST")

        case = await case_when(stack.web_url, case_id, {
            "opened", "routed", "assigned", "callback_scheduled", "email_sent"})
        [acknowledgement] = smtp.to(ANNA["email"], "acknowledgement")
        text = body_of(acknowledgement)
        assert latency < 2.0
        assert case["team"] in {team.id for team in org.teams}
        assert case["assignee"]["name"] and "@" in case["assignee"]["email"]
        assert case["assignee"]["email"] in {m.email for m in org.team(case["team"]).members}
        due = datetime.fromisoformat(case["callback_due_at"])
        local_due = due.astimezone(ZoneInfo(org.team(case["team"]).time_zone))
        assert "Anna" in text
        assert case["assignee"]["name"] in text
        assert f"{local_due:%H:%M}" in text, "tells Anna when she will be called"
        assert any(e["kind"] == "email_sent" and "acknowledgement" in e["detail"]
                   for e in case["timeline"])

        assert await stack.terminate() == 0, stack.output()
        assert "stopped" in stack.output()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
async def test_without_an_smtp_host_kringloop_up_keeps_every_email_in_the_outbox(
    tmp_path: Path, stop: signal.Signals,
) -> None:
    outbox = (tmp_path / "home" / "outbox").resolve()
    async with kringloop_up(tmp_path) as stack:
        await stack.healthy()
        web_url = (await stack.printed(r"web app[ \t]+(\S+)")).group(1)
        ui_url = (await stack.printed(r"Temporal UI[ \t]+(\S+)")).group(1)
        printed_outbox = (await stack.printed(r"outbox[ \t]+(\S+)")).group(1)
        assert web_url == stack.web_url
        assert Path(printed_outbox) == outbox

        await post_detractor(stack.web_url)
        deadline = asyncio.get_running_loop().time() + 10
        while not (kept := acknowledgements_in(outbox)):
            assert asyncio.get_running_loop().time() < deadline, "no .eml in the outbox"
            await asyncio.sleep(0.05)
        assert "Anna" in body_of(kept[0])

        async with httpx.AsyncClient(timeout=5, follow_redirects=True) as browser:
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                try:
                    if (await browser.get(ui_url)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass  # the UI server may still be starting
                assert asyncio.get_running_loop().time() < deadline, f"{ui_url} never answered"
                await asyncio.sleep(0.2)

        assert await stack.terminate(by=stop) == 0, stack.output()
        assert "stopped" in stack.output()


# --- /health names the part that does not answer ----------------------------------------------

async def health_of(live: Kringloop, **services: Any) -> httpx.Response:
    """/health of a web app given `live`'s services but for those named."""
    app = create_app(Services(**{"settings": live.settings, "org": live.org,
                                 "engine": live.engine, "temporal": live.env.client,
                                 **services}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://kringloop.test") as web:
        return await asyncio.wait_for(web.get("/health"), 10)


async def worker_polling(live: Kringloop) -> None:
    """Until the live worker's first poll has reached Temporal: only the broken part fails."""
    for _ in range(150):
        if (await health_of(live)).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never healthy: {(await health_of(live)).text}")


async def test_health_is_unavailable_naming_the_database_when_it_does_not_answer(
    live: Kringloop,
) -> None:
    await worker_polling(live)
    stopped = make_engine(f"postgresql+psycopg://kringloop@127.0.0.1:{free_port()}/kringloop")
    try:
        answer = await health_of(live, engine=stopped)
    finally:
        stopped.dispose()

    assert answer.status_code == 503, answer.text
    assert answer.json() == {"status": "unavailable", "database": False,
                             "database_writable": False, "temporal": True, "worker": True}


@pytest.mark.parametrize("silent", [False, True],
                         ids=["refuses connections", "accepts and never answers"])
async def test_health_is_unavailable_naming_temporal_when_it_does_not_answer(
    live: Kringloop, silent: bool,
) -> None:
    await worker_polling(live)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        if silent:
            listener.listen()  # connections are taken by the kernel, and nobody replies
        gone = await Client.connect(f"127.0.0.1:{listener.getsockname()[1]}", lazy=True)
        answer = await health_of(live, temporal=gone)

    assert answer.status_code == 503, answer.text
    assert answer.json() == {"status": "unavailable", "database": True,
                             "database_writable": True, "temporal": False, "worker": False}
