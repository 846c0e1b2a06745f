"""What a fault scenario breaks and mends: a Temporal dev server it kills and starts again, a
mail server it switches off or makes refuse, a database it locks or stops."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from kringloop.network import free_port
from kringloop.resources import CHECKOUT as PROJECT_ROOT
from kringloop.runtime.stack import bundled_binary
from tests.conftest import MailServer


@dataclass
class TemporalServer:
    """A Temporal dev server process on a fixed port, which a scenario can kill and start again;
    with `database` it keeps its state on disk, as a production server does across restarts."""

    log: Path
    port: int = field(default_factory=free_port)
    database: Path | None = None
    process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        arguments = ["server", "start-dev", "--headless", "--ip", "127.0.0.1",
                     "--port", str(self.port), "--log-level", "error",
                     # Hundreds of cases in flight at once: as in tests/test_scale_out.py.
                     "--dynamic-config-value", "frontend.namespaceCount=4000"]
        if self.database:
            arguments += ["--db-filename", str(self.database)]
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                bundled_binary("temporal"), *arguments, stdout=output,
                stderr=asyncio.subprocess.STDOUT)
        await self._answering()

    async def kill(self) -> None:
        """SIGKILL: the server goes away mid-work, as in a crash or a killed container."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    async def _answering(self, *, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None and self.process.returncode is None, (
                f"the Temporal dev server exited:\n{self.log.read_text(errors='replace')}")
            try:
                client = await Client.connect(self.address)
                await client.workflow_service.get_system_info(GetSystemInfoRequest())
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


@dataclass
class FaultingMailServer(MailServer):
    """`tests.conftest.MailServer` that can run a fault the moment it has accepted its n-th
    message, before the sender hears the 250."""

    accepted: int = 0
    faults: dict[int, Callable[[], None]] = field(default_factory=dict)  # at arrival n
    faulted: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if answer.startswith("250"):
            self.accepted += 1
            if fault := self.faults.pop(self.accepted, None):
                fault()  # in the server's thread: the 250 waits for it
                self.faulted.set()
        return answer


@dataclass
class MailRelay:
    """The SMTP server the worker delivers to (`tests.conftest.MailServer`, which also refuses
    recipients), switched off and on again on the same port, or answering 451 for a while."""

    server: FaultingMailServer = field(default_factory=lambda: FaultingMailServer(port=free_port()))
    controller: Controller | None = None

    def up(self) -> None:
        self.controller = Controller(self.server, hostname="127.0.0.1", port=self.server.port)
        self.controller.start()

    def down(self) -> None:
        """Stopped: open connections are closed, new ones refused."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def outage(self, kind: str, seconds: float) -> None:
        """`refused`: no server at all; `451`: every email answered "451 try again later"."""
        if kind == "refused":
            self.down()
        else:
            self.server.temporary_failures = 10**9
        try:
            await asyncio.sleep(seconds)
        finally:
            if kind == "refused":
                self.up()
            self.server.temporary_failures = 0

    async def fault_at_arrival(self, count: int, fault: Callable[[], None]) -> None:
        """Run `fault` once the `count`-th email is accepted, before the worker hears so;
        return when it has run."""
        self.server.faulted.clear()
        self.server.faults[count] = fault
        assert await asyncio.to_thread(self.server.faulted.wait, 120), (
            f"the {count}th email never arrived")

    def message_ids(self) -> Counter[str]:
        return Counter(str(message["Message-ID"]) for message in list(self.server.received))

    async def received(self, count: int, *, timeout: float = 120) -> None:
        """Wait until `count` emails have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.server.received) < count:
            assert time.monotonic() < deadline, (
                f"only {len(self.server.received)} of {count} emails arrived")
            await asyncio.sleep(0.1)


THROWAWAY_POSTGRES = str(PROJECT_ROOT / "scripts" / "throwaway-postgres")


@dataclass
class DatabaseOutage:
    """The scenario's database, made unavailable for a while: SQLite locked by an exclusive
    transaction the test holds (writers wait, then fail; readers go on, as WAL allows), or
    PostgreSQL stopped with pg_ctl: a throw-away cluster of the scenario's own, since stopping
    the suite's shared server would break every other test."""

    url: str
    how: str
    cluster: Path | None = None
    pg_ctl: str = ""
    lock: sqlite3.Connection | None = None
    stopped: bool = False

    def begin(self) -> None:
        """Lock or stop the database (blocking: it is called in the mail server's thread)."""
        if self.cluster is None:
            self.lock = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30,
                                        isolation_level=None, check_same_thread=False)
            self.lock.execute("BEGIN EXCLUSIVE")
        else:
            self._pg_ctl("stop", "-m", "fast")
            self.stopped = True

    def end(self) -> None:
        if self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.lock = None
        if self.stopped:
            self._pg_ctl("start")
            self.stopped = False

    def _pg_ctl(self, *arguments: str) -> None:
        assert self.cluster is not None
        subprocess.run(["runuser", "-u", "postgres", "--", self.pg_ctl, "-D",
                        str(self.cluster / "data"), "-l", str(self.cluster / "log"), "-w",
                        *arguments], check=True, stdout=subprocess.DEVNULL)
