"""What `kringloop up` shows and keeps on its embedded default, seen as a new user and as an
attacker would: its files readable by its own user only, the admin token never printed, a
one-time way in for the admin, no answer to a foreign Host name, no forged client address,
and an outbox for admins only."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.stack import Stack, kringloop_up, post_detractor


@dataclass
class Started:
    stack: Stack
    home: Path


@pytest.fixture(scope="module")
async def started(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Started]:
    """One `kringloop up` with no admin token set, started from a shell whose umask lets
    everyone read what it writes; a detractor posted, so the outbox has mail."""
    folder = tmp_path_factory.mktemp("embedded")
    wide_open = os.umask(0o022)
    try:
        async with kringloop_up(folder, KRINGLOOP_ADMIN_TOKEN="",
                                KRINGLOOP_RATE_LIMIT_INTAKE="4/minute") as stack:
            await stack.healthy()
            await stack.printed(r"sign in\s+\S+")
            await post_detractor(stack.web_url)
            outbox = folder / "home" / "outbox"
            for _ in range(200):
                if list(outbox.glob("*.eml")):
                    break
                await asyncio.sleep(0.05)
            yield Started(stack=stack, home=folder / "home")
            assert await stack.terminate() == 0, stack.output()
    finally:
        os.umask(wide_open)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_what_kringloop_up_keeps_on_disk_only_its_own_user_can_read(
    started: Started,
) -> None:
    home, database = started.home, started.home.parent / "kringloop.db"
    files = [database, database.with_name("kringloop.db-wal"),
             database.with_name("kringloop.db-shm"), home / "temporal.db", home / "admin_token",
             *(home / "outbox").glob("*.eml")]
    assert len(files) >= 6, "an email in the outbox"

    assert {str(p): oct(mode(p)) for p in (home, home / "outbox")} == {
        str(home): "0o700", str(home / "outbox"): "0o700"}
    assert {str(p): oct(mode(p)) for p in files} == {str(p): "0o600" for p in files}


async def test_kringloop_up_says_where_the_admin_token_is_and_never_prints_it(
    started: Started,
) -> None:
    token = (started.home / "admin_token").read_text().strip()
    where = await started.stack.printed(r"admin token\s+in (\S+)")

    assert Path(where.group(1)) == (started.home / "admin_token").resolve()
    assert token not in started.stack.output()


async def test_the_sign_in_link_kringloop_up_prints_lets_the_admin_in_once(
    started: Started,
) -> None:
    printed = await started.stack.printed(r"sign in\s+(\S+)\s+\(for (\S+):")
    link, email = printed.group(1).removeprefix(started.stack.web_url), printed.group(2)

    async def press(client: httpx.AsyncClient) -> httpx.Response:
        page = await client.get(link)
        if page.status_code != 200:
            return page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        return await client.post(link, data={"csrf_token": token.group(1)})

    async with httpx.AsyncClient(base_url=started.stack.web_url, timeout=10) as admin, \
            httpx.AsyncClient(base_url=started.stack.web_url, timeout=10) as later:
        opened_by_a_scanner = await later.get(link)
        signed_in = await press(admin)
        outbox = await admin.get("/outbox")
        again = await press(later)

    assert email == "ingrid.hofman@fietsenwinkel.example"  # the first admin in the org file
    assert opened_by_a_scanner.status_code == 200, "opening the link does not use it up"
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/queue")
    assert outbox.status_code == 200 and "Anna" in outbox.text
    assert again.status_code == 400, "the link works once"


async def test_an_anonymous_visitor_reads_no_outbox(started: Started) -> None:
    async with httpx.AsyncClient(base_url=started.stack.web_url, timeout=10) as visitor:
        answer = await visitor.get("/outbox")

    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=/outbox")


async def test_a_request_for_another_host_name_is_refused(started: Started) -> None:
    """A web page that rebinds its own name to 127.0.0.1 sends its own name as the Host."""
    async with httpx.AsyncClient(base_url=started.stack.web_url, timeout=10) as web:
        rebound = await web.get("/outbox", headers={"Host": "attacker.example"})
        ours = await web.get("/health")

    assert rebound.status_code == 400
    assert ours.status_code == 200


async def test_a_forwarded_address_from_a_local_client_is_not_believed(
    started: Started,
) -> None:
    """Nobody configured a proxy: every client gets the connection's own address, so no
    made-up X-Forwarded-For buys a fresh allowance."""
    async with httpx.AsyncClient(base_url=started.stack.web_url, timeout=10) as web:
        answers = [await web.post("/api/responses", headers={
            "X-Forwarded-For": f"203.0.113.{n}"}, json={
            "response_id": f"xff-{n}", "program": "customer", "score": 9})
            for n in range(6)]

    assert 429 in [a.status_code for a in answers], [a.status_code for a in answers]
