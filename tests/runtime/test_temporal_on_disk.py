"""`kringloop up` keeps its embedded Temporal on disk under its home by default: stopping and
starting it strands nothing. An open case still takes the team's actions, a rejection waiting
for its moment still goes out, and an anonymous employee's conversation still reaches the case."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.rejections import rejection
from tests.support.stack import ADMIN_TOKEN, case_when, kringloop_up, post_detractor

pytestmark = pytest.mark.slow  # two starts of the whole stack: 10 to 15 s

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def rejection_status(web_url: str, rejection_id: str) -> str:
    async with httpx.AsyncClient(base_url=web_url, timeout=10, headers=AUTH) as web:
        answer = await web.get(f"/api/rejections/{rejection_id}")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


async def test_open_cases_rejections_and_conversations_outlive_a_restart_of_kringloop_up(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    async with kringloop_up(tmp_path) as stack:  # no Temporal setting at all: the default
        await stack.healthy()
        case_id, _ = await post_detractor(stack.web_url)
        async with httpx.AsyncClient(base_url=stack.web_url, timeout=10, headers=AUTH) as web:
            # Sent a little after the restart: its timer must survive the stop.
            scheduled = await web.post("/api/rejections", json=rejection(
                send_at=(datetime.now(UTC) + timedelta(seconds=20)).isoformat()))
            employee = await web.post("/api/responses", json={
                "response_id": "enps-restart-1", "program": "employee", "score": 2,
                "respondent": {"segment": "Werkplaats"}})
        assert scheduled.status_code == 202, scheduled.text
        assert employee.status_code == 201, employee.text
        rejection_id = scheduled.json()["rejection_id"]
        conversation = urlsplit(employee.json()["conversation_url"]).path
        await case_when(stack.web_url, case_id, {"assigned", "callback_scheduled"})
        await case_when(stack.web_url, employee.json()["case_id"], {"assigned"})
        assert await rejection_status(stack.web_url, rejection_id) == "scheduled"
        assert await stack.terminate() == 0, stack.output()

    assert (home / "temporal.db").is_file(), "the dev server kept its workflows on disk"
    # With a write-ahead log, not synced at every commit: a workflow step waits on no disk.
    with closing(sqlite3.connect(home / "temporal.db")) as temporal_db:
        assert temporal_db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    outbox = home / "outbox"
    rejections_before = [p for p in outbox.glob("*.eml") if b"X-Kringloop-Kind: rejection"
                         in p.read_bytes()]

    async with kringloop_up(tmp_path) as stack:
        await stack.healthy()
        async with httpx.AsyncClient(base_url=stack.web_url, timeout=10, headers=AUTH) as web:
            noted = await web.post(f"/api/cases/{case_id}/notes",
                                   json={"text": "Na de herstart: Anna morgen bellen."})
            page = await web.get(conversation)
            token = re.search(r'name="form_token" value="([^"]+)"', page.text)
            assert token, page.text
            written = await web.post(conversation, data={
                "text": "Nog steeds hetzelfde rooster.", "form_token": token.group(1)})
        case = await case_when(stack.web_url, case_id, {"note"})
        relayed = await case_when(stack.web_url, employee.json()["case_id"], {"relay_message"})
        deadline = asyncio.get_running_loop().time() + 60
        while (status := await rejection_status(stack.web_url, rejection_id)) != "sent":
            assert asyncio.get_running_loop().time() < deadline, (status, stack.output())
            await asyncio.sleep(0.5)
        assert await stack.terminate() == 0, stack.output()

    assert noted.status_code == 200, noted.text
    assert any("Na de herstart" in entry["detail"] for entry in case["timeline"])
    assert written.status_code == 303, written.text
    assert any(e["detail"] == "Nog steeds hetzelfde rooster." for e in relayed["timeline"])
    rejections_after = [p for p in outbox.glob("*.eml") if b"X-Kringloop-Kind: rejection"
                        in p.read_bytes()]
    assert (len(rejections_before), len(rejections_after)) == (0, 1)
