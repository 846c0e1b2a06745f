"""The embedded stack for one benchmark: a fresh home, the Temporal dev server (in memory, or on
disk as `kringloop up` keeps it), SQLite, the SMTP sink in a process of its own, Kringloop's
worker and web app, plus the bare baseline worker beside them."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import org_file
from bench.baseline_workflow import BareActivities, bare_worker
from bench.sink_process import sink_process
from kringloop.runtime.stack import Running, run_stack
from kringloop.settings import Settings

KEEP_ALIVE = httpx.Limits(max_connections=100, keepalive_expiry=2.0)


@dataclass
class Bench:
    """A running stack for a benchmark, with an HTTP client holding the admin token."""

    running: Running
    http: httpx.AsyncClient
    bare: BareActivities
    home: Path
    outbox: Path  # where the sink keeps what it received

    def command(self, *arguments: str, log: Path) -> subprocess.Popen[bytes]:
        """`kringloop <arguments>` in a process of its own against this stack's Temporal,
        database and mail server, logging to `log`: a pipe nobody reads fills up, and the
        process then stops at its next log line."""
        settings = self.running.settings
        environment = os.environ | {
            "KRINGLOOP_TEMPORAL_ADDRESS": self.running.client.service_client.config.target_host,
            "KRINGLOOP_TEMPORAL_NAMESPACE": settings.temporal_namespace,
            "KRINGLOOP_TASK_QUEUE": settings.task_queue,
            "KRINGLOOP_SMTP_HOST": str(settings.smtp_host),
            "KRINGLOOP_SMTP_PORT": str(settings.smtp_port),
            "KRINGLOOP_DATABASE_URL": settings.database_url,
            "KRINGLOOP_HOME": str(settings.home),
            "KRINGLOOP_ORG_FILE": str(settings.org_file),
            "KRINGLOOP_PUBLIC_URL": settings.base_url,
            "KRINGLOOP_TIME_SCALE": str(settings.time_scale),
            "KRINGLOOP_LOG_FORMAT": "text",
        }
        with log.open("wb") as output:
            return subprocess.Popen(
                [sys.executable, "-c", f"from kringloop.cli import app; app({list(arguments)!r})"],
                env=environment, stdout=output, stderr=subprocess.STDOUT)


@asynccontextmanager
async def embedded_stack(settings: Settings, *, home: Path | None = None, worker: bool = True,
                         temporal_storage: str = "memory", **updates: object
                         ) -> AsyncIterator[Bench]:
    """Start everything in a fresh home (or `home`), yield it, then stop every part."""
    with tempfile.TemporaryDirectory(prefix="kringloop-bench-") as folder:
        home = home or Path(folder)
        home.mkdir(parents=True, exist_ok=True)
        outbox = home / "sink"
        async with sink_process(outbox) as smtp_port:
            if "org_file" not in updates:
                updates["org_file"] = org_file.write(org_file.round_the_clock(
                    org_file.read(settings.org_file)), home / "org-round-the-clock.toml")
            chosen = settings.model_copy(update={
                "home": home, "database_url": f"sqlite:///{home / 'bench.db'}", "web_port": 0,
                "temporal_address": None, "temporal_storage": temporal_storage,
                "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                "public_url": None, "admin_token": secrets.token_urlsafe(24),
                # The benchmark measures the pipeline, not the flood guard in front of it.
                "rate_limit_intake": "1000000/second", **updates})
            async with _running(chosen, worker=worker) as running:
                bare = BareActivities(engine=running.engine, settings=running.settings)
                baseline = bare_worker(running.client, bare)
                baseline_task = asyncio.create_task(baseline.run())
                auth = {"Authorization": f"Bearer {running.settings.api_admin_token}"}
                try:
                    async with httpx.AsyncClient(base_url=running.web_url or "", headers=auth,
                                                 timeout=120, limits=KEEP_ALIVE) as http:
                        yield Bench(running=running, http=http, bare=bare, home=home,
                                    outbox=outbox)
                finally:
                    await baseline.shutdown()
                    await asyncio.gather(baseline_task, return_exceptions=True)


@asynccontextmanager
async def _running(settings: Settings, *, worker: bool) -> AsyncIterator[Running]:
    stop = asyncio.Event()
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stack = asyncio.create_task(run_stack(settings, worker=worker, on_ready=ready.set_result,
                                          stop=stop))
    await asyncio.wait([stack, ready], return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        await stack  # raises why the stack did not start
        raise RuntimeError("the embedded stack stopped before it was ready")
    try:
        yield ready.result()
    finally:
        stop.set()
        await stack
