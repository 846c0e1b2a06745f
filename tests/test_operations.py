"""What an operator watches: Prometheus metrics, readiness, and JSON logs without personal data."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx

from kringloop.database import make_engine
from kringloop.web.app import create_app
from kringloop.web.deps import Services
from tests.conftest import Kringloop, MailServer
from tests.test_end_to_end import ANNA, kringloop_up, post_detractor


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
    text = (await live.api.get("/metrics")).text
    assert counter(text, "kringloop_cases_opened_total", program="customer") == 3
    assert counter(text, "kringloop_emails_sent_total", kind="acknowledgement") == 3
    assert counter(text, "kringloop_sla_breaches_total") == 0
    assert counter(text, "kringloop_recoveries_total") == 0


async def test_ready_needs_the_schema_this_version_expects(live: Kringloop, tmp_path: Path
                                                          ) -> None:
    for _ in range(100):  # until the new worker's first poll reaches the server
        if (await live.api.get("/ready")).status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert (await live.api.get("/ready")).json() == {
        "status": "ok", "database": True, "temporal": True, "worker": True, "schema": True}
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
        async with httpx.AsyncClient(base_url=stack.web_url, timeout=5) as web:
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
