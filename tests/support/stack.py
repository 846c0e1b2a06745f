"""`kringloop up` as an operator starts it, in a process of its own: waiting for it to be healthy,
reading what it printed, stopping it as a process manager or Ctrl-C does; and a detractor posted
to it over HTTP, followed through the case API."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from kringloop.network import free_port
from tests.support.command import KRINGLOOP, clean_environment

ADMIN_TOKEN = "end-to-end-admin"  # what `kringloop_up` sets unless told otherwise
# A detractor; her address is as long as real ones get, for the phone-width check.
ANNA = {"name": "Anna de Vries", "email": "anna.devries-vandenberg.e2e@klantenservice.example.nl",
        "language": "nl"}


@dataclass
class Stack:
    """A running `kringloop up` process and where to reach it."""

    process: asyncio.subprocess.Process
    log: Path
    web_url: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def healthy(self, *, timeout: float = 60) -> None:
        """Wait until `/health` says 200: database, Temporal and the worker all answer."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(base_url=self.web_url, timeout=2) as web:
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(f"kringloop up exited early:\n{self.output()}")
                try:
                    if (await web.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"never healthy within {timeout} s:\n{self.output()}")
                await asyncio.sleep(0.2)

    async def printed(self, pattern: str, *, timeout: float = 10) -> re.Match[str]:
        """`pattern` on one line of the start-up output (printed once every part answers)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (found := re.search(pattern, self.output(), re.MULTILINE)) is None:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{pattern!r} never printed:\n{self.output()}")
            await asyncio.sleep(0.1)
        return found

    async def terminate(self, *, by: signal.Signals = signal.SIGTERM, timeout: float = 20
                        ) -> int:
        """Stopped as a process manager does it (SIGTERM to the process) or as Ctrl-C in its
        terminal does (SIGINT to the whole process group, the dev server it started too);
        then the exit code."""
        if by == signal.SIGINT:
            os.killpg(self.process.pid, signal.SIGINT)
        else:
            self.process.send_signal(by)
        return await asyncio.wait_for(self.process.wait(), timeout)


@asynccontextmanager
async def kringloop_up(tmp_path: Path, **settings: str) -> AsyncIterator[Stack]:
    """`kringloop up` in its own process group, with its own home, database and web port
    (SQLite under tmp_path unless KRINGLOOP_DATABASE_URL is given, e.g. the test database)."""
    port = free_port()
    settings.setdefault("KRINGLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'kringloop.db'}")
    settings.setdefault("KRINGLOOP_ADMIN_TOKEN", ADMIN_TOKEN)
    environment = clean_environment(
        KRINGLOOP_HOME=str(tmp_path / "home"), KRINGLOOP_WEB_PORT=str(port), **settings)
    log = tmp_path / "kringloop-up.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            str(KRINGLOOP), "up", cwd=tmp_path, env=environment, stdout=output,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        yield Stack(process=process, log=log, web_url=f"http://127.0.0.1:{port}")
    finally:
        if process.returncode is None:  # a failed test: stop it and the dev server it started
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def post_detractor(web_url: str) -> tuple[str, float]:
    """Post a detractor over HTTP; the case id and when (loop time) it was posted."""
    response_id = f"e2e-{uuid.uuid4().hex[:10]}"
    async with httpx.AsyncClient(base_url=web_url, timeout=10) as web:
        posted_at = asyncio.get_running_loop().time()
        answer = await web.post("/api/responses", json={
            "response_id": response_id, "program": "customer", "score": 3,
            "comment": "De fiets werd een week te laat bezorgd.", "respondent": ANNA})
    assert answer.status_code == 201, answer.text
    return answer.json()["case_id"], posted_at


async def case_when(web_url: str, case_id: str, kinds: set[str], *, timeout: float = 10
                    ) -> dict[str, Any]:
    """The case from the API once its timeline holds every kind of step in `kinds`."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(base_url=web_url, timeout=5,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as web:
        while True:
            answer = await web.get(f"/api/cases/{case_id}")
            case = answer.json() if answer.status_code == 200 else {"timeline": []}
            if kinds <= {entry["kind"] for entry in case["timeline"]}:
                return case  # type: ignore[no-any-return]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{case_id} never showed {kinds}: {answer.text}")
            await asyncio.sleep(0.05)
