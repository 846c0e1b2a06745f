"""The rejection contract against a running `kringloop up` with a real SMTP server: scheduled,
sent once with its own reason, status readable, too late to cancel; a held one is cancelled."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from tests.support.mail import MailServer, body_of
from tests.support.rejections import applicant, rejection
from tests.support.stack import ADMIN_TOKEN, kringloop_up


async def status_when(api: httpx.AsyncClient, rejection_id: str, wanted: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 15
    while (state := (await api.get(f"/api/rejections/{rejection_id}")).json())["status"] != wanted:
        assert asyncio.get_running_loop().time() < deadline, state
        await asyncio.sleep(0.1)
    return state  # type: ignore[no-any-return]


async def test_a_rejection_posted_to_kringloop_up_goes_out_once_and_a_held_one_can_be_cancelled(
    tmp_path: Path, smtp: MailServer, database_url: str, engine: Engine,
) -> None:
    now = datetime.now(UTC).isoformat()
    sent_now = rejection(applicant(uuid.uuid4().hex[:8]), send_at=now)
    held = rejection(applicant(uuid.uuid4().hex[:8]))  # the 24-hour hold applies
    async with kringloop_up(tmp_path, KRINGLOOP_SMTP_HOST="127.0.0.1",
                            KRINGLOOP_SMTP_PORT=str(smtp.port),
                            KRINGLOOP_DATABASE_URL=database_url) as stack:
        await stack.healthy()
        async with httpx.AsyncClient(base_url=stack.web_url, timeout=10, headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}"}) as api:
            first = await api.post("/api/rejections", json=sent_now)
            again = await api.post("/api/rejections", json=sent_now)
            later = await api.post("/api/rejections", json=held)
            assert (first.status_code, later.status_code) == (202, 202), first.text
            assert again.json()["rejection_id"] == first.json()["rejection_id"]
            sent = await status_when(api, first.json()["rejection_id"], "sent")
            too_late = await api.delete(f"/api/rejections/{sent['rejection_id']}")
            cancelled = await api.delete(f"/api/rejections/{later.json()['rejection_id']}")
            held_state = await status_when(api, later.json()["rejection_id"], "cancelled")
        await asyncio.sleep(1)  # a second copy, if any, would arrive now
        assert await stack.terminate() == 0, stack.output()

    [email] = smtp.to(sent_now["applicant"]["email"], "rejection")
    assert sent_now["reasons"][0]["sentence"] in body_of(email)
    assert sent["sent_at"] is not None
    assert too_late.status_code == 409 and "already been sent" in too_late.json()["message"]
    assert cancelled.status_code in (200, 204) and held_state["status"] == "cancelled"
    assert smtp.to(held["applicant"]["email"]) == []
