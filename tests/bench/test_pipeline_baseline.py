"""The pipeline benchmark's two sides on a few items: the bare baseline really does a step of
each kind (rows in the database, two emails at the mail server in its own process), and a
detractor counts as through only when both of its emails arrived; each side's CPU is counted
by part."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from bench.baseline_workflow import BARE_CASE
from bench.embedded import embedded_stack
from bench.pipeline import bare_throughput, kringloop_throughput
from bench.traffic import (
    PIPELINE_EMAILS,
    delivered,
    finish_bare,
    post_detractor,
    start_bare,
    until_delivered,
)
from kringloop.cases.messages import case_id_for
from kringloop.settings import Settings

COUNT = 3
VERSION_MARKERS = 2  # workflow.patched: "working-hours-clock", "replies-reopen-closed-cases"


@pytest.mark.slow
async def test_the_bare_pipeline_writes_its_rows_and_sends_both_emails_like_a_case() -> None:
    async with embedded_stack(Settings()) as bench:
        bare = await bare_throughput(bench, "t", COUNT)
        loop = await kringloop_throughput(bench, "t", COUNT)

        with bench.running.engine.connect() as connection:
            rows = connection.execute(select(BARE_CASE)).all()
        emails = sorted(bench.outbox.glob("*.eml"))
        cases = delivered(bench, kinds=PIPELINE_EMAILS, key_prefix="case-bench-t-")

    assert bare.complete == COUNT and loop.complete == COUNT
    assert sorted(row.status for row in rows) == ["assigned"] * COUNT
    assert all(row.assignee and row.due_at for row in rows)
    # Two emails per bare pipeline and two per case, all received by the sink process.
    assert len(emails) == 4 * COUNT
    assert len(cases) == COUNT
    # Where each side's CPU went: the Temporal server and this process ran every pipeline.
    for side in (bare, loop):
        assert side.cpu_ms.keys() == {"this process", "Temporal server", "mail server"}
        assert side.cpu_ms["Temporal server"] > 0 and side.cpu_ms["this process"] > 0


@pytest.mark.slow
async def test_the_bare_pipeline_has_a_step_of_each_kind_a_case_takes_until_acknowledged() -> None:
    async with embedded_stack(Settings()) as bench:
        await start_bare(bench, "bare-kinds")
        await bench.bare.wait_for({"bare-kinds"}, bench.bare.finished, timeout=60)
        await post_detractor(bench.http, "kinds")
        await until_delivered(bench, kinds=PIPELINE_EMAILS, key_prefix="case-kinds",
                              count=1, timeout=60)
        client = bench.running.client
        bare = await _steps(client.get_workflow_handle("bare-kinds"))
        case = await _steps(client.get_workflow_handle(case_id_for("kinds")))
        await finish_bare(bench, ["bare-kinds"])

    # Activities (4 database steps, 2 emails), local activities (markers: the working hours
    # twice; a case's two version markers are its own) and the timer a case sleeps on.
    assert case["ACTIVITY_TASK_SCHEDULED"] == bare["ACTIVITY_TASK_SCHEDULED"] == 6
    assert case["MARKER_RECORDED"] - VERSION_MARKERS == bare["MARKER_RECORDED"] == 2
    assert case["TIMER_STARTED"] == bare["TIMER_STARTED"] == 1
    assert bare["WORKFLOW_EXECUTION_COMPLETED"] == case["WORKFLOW_EXECUTION_COMPLETED"] == 0
    assert bare["WORKFLOW_EXECUTION_SIGNALED"] == 0  # asleep until released


async def _steps(handle: WorkflowHandle[Any, Any]) -> Counter[str]:
    history = await handle.fetch_history()
    return Counter(EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
                   for event in history.events)
