"""What an operator watches: Prometheus metrics, readiness, and JSON logs without personal data."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, event
from sqlmodel import select

from kringloop.database import make_engine, session_for
from kringloop.migrations import create_at_head
from kringloop.responses.models import SurveyResponse
from kringloop.services import Services
from kringloop.web.app import create_app
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.mail import MailServer
from tests.support.stack import ADMIN_TOKEN, ANNA, kringloop_up, post_detractor


def counter(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{name}(?:{{{re.escape(label_text)}}})? (\S+)$" if labels else rf"^{name} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"no {name} {labels} in:\n{text}"
    return float(found.group(1))


async def test_metrics_count_cases_emails_breaches_and_recoveries(live: Kringloop) -> None:
    for n in range(3):
        posted = await live.post_response(f"metrics-{n}", 2, respondent={
            "name": "Klant", "email": f"klant{n}@example.nl"})
    await live.case_when(posted["case_id"], lambda c: [
        e["kind"] for e in c["timeline"]].count("email_sent") == 2)
    await live.smtp.wait_for(6)
    text = (await live.api.get("/metrics", headers=ADMIN)).text
    assert counter(text, "kringloop_cases_opened_total", program="customer") == 3
    assert counter(text, "kringloop_emails_sent_total", kind="acknowledgement") == 3
    assert counter(text, "kringloop_sla_breaches_total") == 0
    assert counter(text, "kringloop_recoveries_total") == 0


async def test_metrics_need_the_metrics_or_admin_token_and_are_counted_now_and_then(
    live: Kringloop,
) -> None:
    settings = live.settings.model_copy(update={"metrics_token": "prometheus-scrapes-this"})
    app = create_app(Services(settings=settings, org=live.org, engine=live.engine,
                              temporal=live.env.client))
    queries: list[str] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        queries.append(statement)

    event.listen(live.engine, "before_cursor_execute", seen)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://kringloop.test") as web:
            anonymous = await web.get("/metrics")
            guessed = await web.get("/metrics", headers={"Authorization": "Bearer guessed"})
            scrapes = [await web.get("/metrics", headers={
                "Authorization": "Bearer prometheus-scrapes-this"}) for _ in range(5)]
            as_admin = await web.get("/metrics", headers=ADMIN)
    finally:
        event.remove(live.engine, "before_cursor_execute", seen)

    assert (anonymous.status_code, guessed.status_code) == (401, 401)
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert [s.status_code for s in scrapes] == [200] * 5 and as_admin.status_code == 200
    assert "kringloop_cases_opened" in as_admin.text
    counting = [q for q in queries if "count(" in q.lower()]
    assert 0 < len(counting) <= 4, "six scrapes, one round of counting queries"


async def test_ready_needs_the_schema_this_version_expects(live: Kringloop, tmp_path: Path
                                                          ) -> None:
    for _ in range(100):  # until the new worker's first poll reaches the server
        if (await live.api.get("/ready")).status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert (await live.api.get("/ready")).json() == {
        "status": "ok", "database": True, "database_writable": True, "temporal": True,
        "worker": True, "schema": True}
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(Services(settings=live.settings, org=live.org, engine=unmigrated,
                              temporal=live.env.client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://kringloop.test") as web:
        answer = await web.get("/ready")
    assert answer.status_code == 503 and answer.json()["schema"] is False


async def test_kringloop_up_exports_sdk_metrics_and_logs_json_without_personal_data(
    tmp_path: Path, smtp: MailServer,
) -> None:
    async with kringloop_up(tmp_path, KRINGLOOP_SMTP_HOST="127.0.0.1",
                            KRINGLOOP_SMTP_PORT=str(smtp.port)) as stack:
        await stack.healthy()
        case_id, _ = await post_detractor(stack.web_url)
        async with httpx.AsyncClient(base_url=stack.web_url, timeout=5, headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}"}) as web:
            for _ in range(100):
                text = (await web.get("/metrics")).text
                if "kringloop_emails_sent_total{kind=\"acknowledgement\"}" in text:
                    break
        assert re.search(r"^temporal_\w+", text, re.MULTILINE), "no Temporal SDK metrics"
        assert await stack.terminate() == 0
    lines = [line for line in stack.output().splitlines() if line.startswith("{")]
    events = [json.loads(line) for line in lines]
    assert any(e.get("case_id") == case_id for e in events), lines
    for line in lines:
        assert ANNA["name"] not in line and ANNA["email"] not in line, line


# --- a full disk: a clear 503 and nothing half stored, and /health says so ---------------------

def full_sqlite_database(tmp_path: Path) -> Engine:
    """An SQLite database that cannot grow any more, as on a full disk: SQLite answers
    SQLITE_FULL ("database or disk is full") once a write needs a new page."""
    engine = make_engine(f"sqlite:///{tmp_path / 'full.db'}")
    create_at_head(engine)
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _no_room_to_grow(connection: Any, _record: Any) -> None:
        connection.execute(f"PRAGMA max_page_count = {pages}")

    return engine


async def test_intake_on_a_full_disk_answers_503_with_retry_after_and_stores_nothing(
    live: Kringloop, tmp_path: Path,
) -> None:
    engine = full_sqlite_database(tmp_path)
    app = create_app(Services(settings=live.settings, org=live.org, engine=engine,
                              temporal=live.env.client))
    comment = "De bel van mijn nieuwe fiets rinkelt niet meer. " * 40
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://kringloop.test") as web:
        answers = [await web.post("/api/responses", json={
            "response_id": f"vol-{n}", "program": "customer", "score": 9, "comment": comment})
            for n in range(30)]
    with session_for(engine) as session:
        stored = set(session.exec(select(SurveyResponse.id)).all())
    engine.dispose()

    refused = [a for a in answers if a.status_code != 201]
    assert refused, "the database never filled up"
    assert {a.status_code for a in refused} == {503}
    assert refused[0].headers["retry-after"] == "30"
    assert refused[0].json() == {
        "message": "the database has no room left to store this (disk full); nothing was "
                   "stored: try again later", "field": None}
    assert stored == {f"vol-{n}" for n, a in enumerate(answers) if a.status_code == 201}


async def test_health_says_the_database_is_not_writable_when_its_disk_is_nearly_full(
    live: Kringloop, tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.db'}")
    create_at_head(engine)
    free_mb = shutil.disk_usage(tmp_path).free // 2**20
    for _ in range(100):  # until the live worker's first poll has reached Temporal
        if (await live.api.get("/health")).status_code == 200:
            break
        await asyncio.sleep(0.05)

    async def health(min_free_disk_mb: int) -> httpx.Response:
        settings = live.settings.model_copy(update={"min_free_disk_mb": min_free_disk_mb})
        app = create_app(Services(settings=settings, org=live.org, engine=engine,
                                  temporal=live.env.client))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://kringloop.test") as web:
            return await web.get("/health")

    roomy, cramped = await health(1), await health(free_mb + 1024)
    engine.dispose()

    assert roomy.status_code == 200, roomy.text
    assert cramped.status_code == 503
    assert cramped.json() == {"status": "unavailable", "database": True,
                              "database_writable": False, "temporal": True, "worker": True}
