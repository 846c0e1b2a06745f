"""The embedded stack for one benchmark: a fresh home, in-memory Temporal dev server, SQLite,
the SMTP sink, Kringloop's worker and web app, plus the bare baseline worker beside them."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import org_file
from bench.baseline_workflow import BareActivities, bare_worker
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

    @property
    def outbox(self) -> Path:
        assert self.running.outbox is not None
        return self.running.outbox


@asynccontextmanager
async def embedded_stack(settings: Settings, *, home: Path | None = None, worker: bool = True,
                         **updates: object) -> AsyncIterator[Bench]:
    """Start everything in a fresh home (or `home`), yield it, then stop every part."""
    with tempfile.TemporaryDirectory(prefix="kringloop-bench-") as folder:
        home = home or Path(folder)
        home.mkdir(parents=True, exist_ok=True)
        if "org_file" not in updates:
            updates["org_file"] = org_file.write(org_file.round_the_clock(
                org_file.read(settings.org_file)), home / "org-round-the-clock.toml")
        chosen = settings.model_copy(update={
            "home": home, "database_url": f"sqlite:///{home / 'bench.db'}", "web_port": 0,
            "temporal_address": None, "temporal_storage": "memory", "smtp_host": None,
            "public_url": None, "admin_token": secrets.token_urlsafe(24),
            # The benchmark measures the pipeline, not the flood guard in front of it.
            "rate_limit_intake": "1000000/second", **updates})
        stop = asyncio.Event()
        ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
        stack = asyncio.create_task(run_stack(chosen, worker=worker, on_ready=ready.set_result,
                                              stop=stop))
        await asyncio.wait([stack, ready], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            await stack  # raises why the stack did not start
            raise RuntimeError("the embedded stack stopped before it was ready")
        running = ready.result()
        bare = BareActivities()
        baseline = bare_worker(running.client, bare)
        baseline_task = asyncio.create_task(baseline.run())
        auth = {"Authorization": f"Bearer {running.settings.api_admin_token}"}
        try:
            # Idle connections expire before uvicorn's 5 s keep-alive closes them under us.
            async with httpx.AsyncClient(base_url=running.web_url or "", headers=auth,
                                         timeout=120, limits=KEEP_ALIVE) as http:
                yield Bench(running=running, http=http, bare=bare, home=home)
        finally:
            await baseline.shutdown()
            await asyncio.gather(baseline_task, return_exceptions=True)
            stop.set()
            await stack
