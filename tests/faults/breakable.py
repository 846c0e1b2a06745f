"""What a fault scenario breaks and mends: a Temporal dev server it kills and starts again, a
mail server it switches off or makes refuse, a database it locks or stops, and Kringloop's own
worker and web processes, killed and started again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from kringloop.network import free_port
from kringloop.resources import CHECKOUT as PROJECT_ROOT
from kringloop.runtime.stack import bundled_binary
from tests.support.command import KRINGLOOP
from tests.support.mail import MailServer


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
                     # Hundreds of cases in flight at once: as in tests/runtime/test_scale_out.py.
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
    """`tests.support.mail.MailServer` that can run a fault the moment it has accepted its n-th
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
    """The SMTP server the worker delivers to (`tests.support.mail.MailServer`, which also refuses
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


# --- Kringloop's own processes -----------------------------------------------------------------

@dataclass
class Deployment:
    """Kringloop run as in production: a `kringloop worker` and a `kringloop web` process against
    one Temporal server, one database and one mail server."""

    folder: Path
    environment: dict[str, str]
    web_url: str
    engine: Engine
    temporal: Client
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    starts: Counter[str] = field(default_factory=Counter)

    @property
    def task_queue(self) -> str:
        return self.environment["KRINGLOOP_TASK_QUEUE"]

    async def start(self, part: str) -> None:
        """Start `kringloop worker` or `kringloop web`; each start logs to its own file."""
        self.starts[part] += 1
        log = self.folder / f"{part}-{self.starts[part]}.log"
        with log.open("wb") as output:
            self.processes[part] = await asyncio.create_subprocess_exec(
                str(KRINGLOOP), part, cwd=self.folder, env=self.environment, stdout=output,
                stderr=asyncio.subprocess.STDOUT)

    async def kill(self, part: str) -> None:
        """SIGKILL: no shutdown, no finishing of the tasks in hand."""
        process = self.processes.pop(part)
        with contextlib.suppress(ProcessLookupError):  # killed already (`killer`)
            process.send_signal(signal.SIGKILL)
        await process.wait()

    def killer(self, part: str) -> Callable[[], None]:
        """A SIGKILL of the part as it runs now, to be sent from any thread (then `kill` it)."""
        pid = self.processes[part].pid
        return lambda: os.kill(pid, signal.SIGKILL)

    async def healthy(self, *, timeout: float = 90) -> None:
        """Until `/health` is 200: the database, Temporal and a polling worker all answer."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.web_url, timeout=5) as web:
            while True:
                for part, process in self.processes.items():
                    assert process.returncode is None, f"kringloop {part} exited:\n{self.logs()}"
                try:
                    if (await web.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"never healthy:\n{self.logs()}"
                await asyncio.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
                         for log in sorted(self.folder.glob("*.log")))

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.terminate()
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        self.engine.dispose()


Launch = Callable[..., Awaitable[Deployment]]
