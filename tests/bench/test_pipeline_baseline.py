"""The pipeline benchmark's two sides on a few items: the bare baseline really does a step of
each kind (rows in the database, two emails at the mail server in its own process), and a
detractor counts as through only when both of its emails arrived."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bench.baseline_workflow import BARE_CASE
from bench.embedded import embedded_stack
from bench.pipeline import bare_throughput, kringloop_throughput
from bench.traffic import PIPELINE_EMAILS, delivered
from kringloop.settings import Settings

COUNT = 3


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
