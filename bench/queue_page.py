"""Figure 5: a member's queue page and its JSON API with a million cases in the database,
against the cheapest signed-in API call on the same server (`GET /api/me`)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.embedded import KEEP_ALIVE, embedded_stack
from bench.figures import Figure, percentile
from kringloop.cases.workspace import queue_of
from kringloop.database import make_engine, session_for
from kringloop.migrations import ensure_schema
from kringloop.org.organisation import load_organisation
from kringloop.security.credentials import create_api_token, set_password
from kringloop.settings import Settings

MEMBER = "bram.degroot@fietsenwinkel.example"  # a member of the catch-all customer team
PASSWORD = "bench-password-long-enough"
REQUESTS = 200
WARM_UP = 10
BATCH = 50_000
# Most cases of a long-running programme are closed; a few percent are still being worked.
STATUSES = (["closed"] * 88 + ["awaiting_resurvey"] * 4 + ["resolved"] * 2 + ["assigned"] * 4
            + ["escalated"] * 1 + ["open"] * 1)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's DateTime text on SQLite


def _rows(count: int, members: list[tuple[str, str, str]]
          ) -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
    """(case, response) rows: spread over every member and three years, most closed."""
    start = datetime.now(UTC) - timedelta(days=3 * 365)
    step = timedelta(days=3 * 365) / count
    for i in range(count):
        email, name, team = members[i % len(members)]
        status = STATUSES[(i * 7919) % len(STATUSES)]
        score = i % 7
        opened = start + i * step
        due = opened + timedelta(days=2)
        active = status in ("open", "assigned", "escalated")
        attempted = None if active and i % 3 else _stamp(opened + timedelta(hours=20))
        case = (f"case-r{i:07d}", f"r{i:07d}", "customer", score, status, team, email, name,
                _stamp(opened), _stamp(opened), _stamp(due), attempted,
                0 if attempted is None else 1, 0)
        response = (f"r{i:07d}", "customer", score, "detractor",
                    "De bestelling kwam te laat en niemand liet iets weten.", f"klant-{i}",
                    f"Klant {i}", f"klant{i}@bench.example", "nl", _stamp(opened),
                    _stamp(opened), "api", "{}", f"case-r{i:07d}")
        yield case, response


CASE_INSERT = (
    'INSERT INTO "case" (id, response_id, program, score, status, team_id, assignee_email, '
    "assignee_name, assigned_at, opened_at, callback_due_at, first_attempt_at, attempts, "
    "escalations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
RESPONSE_INSERT = (
    "INSERT INTO survey_response (id, program, score, category, comment, respondent_id, name, "
    "email, language, answered_at, received_at, source, meta, case_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def bulk_load(database: Path, settings: Settings, count: int) -> float:
    """Migrate a fresh SQLite file and load `count` cases with their responses, in one
    transaction with the indexes built afterwards; returns the seconds it took."""
    begin = time.perf_counter()
    engine = make_engine(f"sqlite:///{database}")
    ensure_schema(engine)
    engine.dispose()
    org = load_organisation(settings.org_file)
    members = [(m.email, m.name, t.id) for t in org.teams for m in t.members]
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('case', 'survey_response')").fetchall()
        connection.execute("BEGIN")
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        rows = _rows(count, members)
        while True:
            chunk = [row for _, row in zip(range(BATCH), rows, strict=False)]
            if not chunk:
                break
            connection.executemany(CASE_INSERT, [case for case, _ in chunk])
            connection.executemany(RESPONSE_INSERT, [response for _, response in chunk])
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()
    return time.perf_counter() - begin


async def _timed(http: httpx.AsyncClient, path: str) -> list[float]:
    for _ in range(WARM_UP):
        (await http.get(path)).raise_for_status()
    took = []
    for _ in range(REQUESTS):
        begin = time.perf_counter()
        answer = await http.get(path)
        took.append((time.perf_counter() - begin) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
    return took


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


async def queue_page_p95(settings: Settings, *, count: int, quick: bool) -> Figure:
    with tempfile.TemporaryDirectory(prefix="kringloop-bench-queue-") as folder:
        home = Path(folder)
        database = home / "bench.db"
        loading = await asyncio.to_thread(bulk_load, database, settings, count)
        async with embedded_stack(settings, home=home, worker=False) as bench:
            engine = bench.running.engine
            with session_for(engine) as session:
                set_password(session=session, email=MEMBER, password=PASSWORD)
                _, secret = create_api_token(session=session, email=MEMBER, label="bench")
                queue = queue_of(session=session, email=MEMBER, now=datetime.now(UTC))
                total = session.exec(text('SELECT count(*) FROM "case"')).one()[0]  # type: ignore[call-overload]
            assert total == count and queue.items, "the bulk load is not what the queue reads"
            token = {"Authorization": f"Bearer {secret}"}
            base = bench.running.web_url or ""
            async with httpx.AsyncClient(base_url=base, headers=token, timeout=60,
                                         limits=KEEP_ALIVE) as api:
                me = await _timed(api, "/api/me")
                api_queue = await _timed(api, "/api/queue")
            browser = await _signed_in(base)
            try:
                page = await _timed(browser, "/queue")
            finally:
                await browser.aclose()
    worst = max(percentile(page, 0.95), percentile(api_queue, 0.95))
    floor = percentile(me, 0.95)
    return Figure(
        "queue_page_p95_ms", worst, "<= 50", unit="ms",
        baseline=f"GET /api/me with the same token (no queue query): p95 {floor:.1f} ms",
        versus=f"/api/me p95 {floor:.1f} ms",
        note=f"--quick: {count:,} cases, not 1,000,000" if quick else "",
        details={"cases": f"{count:,} loaded in {loading:.0f} s; {MEMBER} has "
                          f"{queue.total:,} active",
                 "page p50 / p95": f"{percentile(page, 0.5):.1f} / "
                                   f"{percentile(page, 0.95):.1f} ms",
                 "API p50 / p95": f"{percentile(api_queue, 0.5):.1f} / "
                                  f"{percentile(api_queue, 0.95):.1f} ms",
                 "ratio to /api/me": f"page {percentile(page, 0.95) / floor:.1f}x, "
                                     f"API {percentile(api_queue, 0.95) / floor:.1f}x"})
