"""Figure 5: a member's queue page and its JSON API with a million cases in the database, on
SQLite and on PostgreSQL, against the cheapest signed-in API call on the same server
(`GET /api/me`)."""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.embedded import KEEP_ALIVE, embedded_stack
from bench.figures import Figure, percentile
from bench.queue_load import (
    PostgreSQLUnavailable,
    bulk_load,
    bulk_load_postgres,
    postgres_database,
    throwaway_postgres,
)
from kringloop.cases.workspace import queue_of
from kringloop.database import session_for
from kringloop.security.credentials import create_api_token, set_password
from kringloop.settings import Settings

MEMBER = "bram.degroot@fietsenwinkel.example"  # a member of the catch-all customer team
PASSWORD = "bench-password-long-enough"
REQUESTS = 200
WARM_UP = 10
GOAL = "<= 50"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _timed(http: httpx.AsyncClient, path: str) -> tuple[list[float], float]:
    """Milliseconds per request; and this process's CPU milliseconds per request (client and
    server run in it: a number that a busy machine changes less than the wall clock)."""
    for _ in range(WARM_UP):
        (await http.get(path)).raise_for_status()
    took = []
    cpu = time.process_time()
    for _ in range(REQUESTS):
        begin = time.perf_counter()
        answer = await http.get(path)
        took.append((time.perf_counter() - begin) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
    return took, (time.process_time() - cpu) * 1000 / REQUESTS


async def _signed_in(base_url: str) -> httpx.AsyncClient:
    """A browser-like client with a session cookie, signed in with a password."""
    http = httpx.AsyncClient(base_url=base_url, timeout=60, limits=KEEP_ALIVE)
    form = await http.get("/login")
    token = CSRF.search(form.text)
    if token is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    answer = await http.post("/login/password", data={
        "email": MEMBER, "password": PASSWORD, "csrf_token": token[1], "next": "/queue"})
    if answer.status_code != 303:
        raise RuntimeError(f"password sign-in failed: {answer.status_code}")
    return http


async def _measure(settings: Settings, name: str, *, home: Path, count: int, quick: bool,
                   loading: float, **updates: object) -> Figure:
    """Time the page, the API and /api/me on a stack over the loaded database."""
    async with embedded_stack(settings, home=home, worker=False, **updates) as bench:
        with session_for(bench.running.engine) as session:
            set_password(session=session, email=MEMBER, password=PASSWORD)
            _, secret = create_api_token(session=session, email=MEMBER, label="bench")
            queue = queue_of(session=session, email=MEMBER, now=datetime.now(UTC))
            total = session.exec(text('SELECT count(*) FROM "case"')).one()[0]  # type: ignore[call-overload]
        assert total == count and queue.items, "the bulk load is not what the queue reads"
        base = bench.running.web_url or ""
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {secret}"},
                                     timeout=60, limits=KEEP_ALIVE) as api:
            me, me_cpu = await _timed(api, "/api/me")
            api_queue, api_cpu = await _timed(api, "/api/queue")
        browser = await _signed_in(base)
        try:
            page, page_cpu = await _timed(browser, "/queue")
        finally:
            await browser.aclose()
    floor = percentile(me, 0.95)
    return Figure(
        name, max(percentile(page, 0.95), percentile(api_queue, 0.95)), GOAL, unit="ms",
        baseline=f"GET /api/me with the same token (no queue query): p95 {floor:.1f} ms",
        versus=f"/api/me p95 {floor:.1f} ms",
        note=f"--quick: {count:,} cases, not 1,000,000" if quick else "",
        details={"cases": f"{count:,} loaded in {loading:.0f} s; {MEMBER} has "
                          f"{queue.total:,} active",
                 "page p50 / p95": f"{percentile(page, 0.5):.1f} / "
                                   f"{percentile(page, 0.95):.1f} ms",
                 "API p50 / p95": f"{percentile(api_queue, 0.5):.1f} / "
                                  f"{percentile(api_queue, 0.95):.1f} ms",
                 "/api/me p50 / p95": f"{percentile(me, 0.5):.1f} / {floor:.1f} ms",
                 "ratio to /api/me": f"page {percentile(page, 0.95) / floor:.1f}x, "
                                     f"API {percentile(api_queue, 0.95) / floor:.1f}x",
                 "Python CPU per request": f"page {page_cpu:.1f}, API {api_cpu:.1f}, "
                                           f"/api/me {me_cpu:.1f} ms"})


async def queue_page_p95(settings: Settings, *, count: int, quick: bool) -> Figure:
    """The queue page's p95 on the embedded SQLite file."""
    with tempfile.TemporaryDirectory(prefix="kringloop-bench-queue-") as folder:
        home = Path(folder)
        loading = await asyncio.to_thread(bulk_load, home / "bench.db", settings, count)
        return await _measure(settings, "queue_page_p95_ms", home=home, count=count,
                              quick=quick, loading=loading)


async def queue_page_p95_postgres(settings: Settings, *, count: int, quick: bool) -> Figure:
    """The queue page's p95 on PostgreSQL, a throw-away cluster of the benchmark's own; no
    value (and why) when none can be started here."""
    name = "queue_page_p95_ms_postgres"
    try:
        async with throwaway_postgres() as server:
            with tempfile.TemporaryDirectory(prefix="kringloop-bench-queue-") as folder, \
                    postgres_database(server) as url:
                loading = await asyncio.to_thread(bulk_load_postgres, url, settings, count)
                return await _measure(settings, name, home=Path(folder), count=count,
                                      quick=quick, loading=loading, database_url=url)
    except PostgreSQLUnavailable as why:
        return Figure(name, None, GOAL, unit="ms", note=f"PostgreSQL not started: {why}")
