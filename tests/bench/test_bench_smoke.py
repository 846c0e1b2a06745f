"""The benchmark harness's own parts: the organisation it times reminders with, the bulk loads
the queue page is measured on (SQLite and PostgreSQL), and how a figure is reported.
(`kringloop bench --quick` runs in CI as a smoke run; these catch a harness that drifted from
the schema or the org file.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.figures import Figure, percentile
from bench.queue_load import bulk_load, bulk_load_postgres, postgres_database
from bench.queue_page import MEMBER
from bench.timers import NEVER_HOURS, timer_org
from kringloop.cases.workspace import calling_queue, queue_of
from kringloop.database import make_engine, session_for
from kringloop.org.organisation import load_organisation
from kringloop.settings import DEFAULT_ORG_FILE, Settings


def test_timer_benchmark_organisation_is_the_example_with_only_the_reminder_moved(
        tmp_path: Path) -> None:
    example = load_organisation(DEFAULT_ORG_FILE)
    changed = load_organisation(timer_org(DEFAULT_ORG_FILE, tmp_path / "org.toml",
                                          reminder_before_hours=123.5))
    policy = changed.programs["customer"]
    assert policy.reminder_before_hours == 123.5
    assert policy.escalation_grace_hours == NEVER_HOURS
    team = changed.route(program="customer", segment=None, language="nl")
    assert team.working_days == [1, 2, 3, 4, 5, 6, 7]
    assert policy.root_causes == example.programs["customer"].root_causes
    assert [t.id for t in changed.teams] == [t.id for t in example.teams]
    assert changed.adopted == example.adopted


@pytest.fixture(params=["sqlite", "postgresql"])
def bulk_loaded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """3,000 cases loaded as the queue benchmark loads them, into SQLite with sqlite3 or into
    PostgreSQL (the suite's server) with COPY: the database's URL."""
    if request.param == "sqlite":
        bulk_load(tmp_path / "bench.db", Settings(), 3_000)
        yield f"sqlite:///{tmp_path / 'bench.db'}"
        return
    with postgres_database(request.getfixturevalue("postgresql_server")) as url:
        bulk_load_postgres(url, Settings(), 3_000)
        yield url


def test_bulk_loaded_cases_are_what_a_members_queue_shows(bulk_loaded: str) -> None:
    engine, now = make_engine(bulk_loaded), datetime.now(UTC)
    try:
        with session_for(engine) as session:
            queue, plans = calling_queue(session=session, org=load_organisation(DEFAULT_ORG_FILE),
                                         email=MEMBER, now=now)
            api = queue_of(session=session, email=MEMBER, now=now)
    finally:
        engine.dispose()
    assert queue.total > 0 and api == queue
    first = queue.items[0]
    assert first.respondent_name and first.comment and first.callback_due_at is not None
    assert first.callback_due_at.tzinfo is not None
    assert all(plans[item.case_id].phone for item in queue.items)
    tried = [plan for plan in plans.values() if plan.last_attempt_at is not None]
    assert tried and all(plan.attempts == 1 and plan.step in ("try_again", "call_again")
                         for plan in tried)


def test_a_figure_reads_as_name_value_and_goal() -> None:
    assert Figure("pipeline_ratio", 0.52, ">= 0.8").line() == \
        "pipeline_ratio: 0.52 (goal ≥ 0.8; NOT met)"
    assert Figure("ack_latency_p99_s", 0.7, "<= 2", unit="s").line() == \
        "ack_latency_p99_s: 0.7 (goal ≤ 2 s; met)"
    assert Figure("rejection_mail_ratio", None, ">= 0.7",
                  note="rejection API not available").line() == \
        "rejection_mail_ratio: n/a (rejection API not available)"
    assert percentile([float(n) for n in range(1, 201)], 0.95) == 190.0
