"""The benchmark harness's own parts: the organisation it times reminders with, the bulk load
the queue page is measured on, and how a figure is reported. (`kringloop bench --quick` runs
in CI as a smoke run; these catch a harness that drifted from the schema or the org file.)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.figures import Figure, percentile
from bench.queue_page import MEMBER, bulk_load
from bench.timers import NEVER_HOURS, timer_org
from kringloop.cases.workspace import queue_of
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


def test_bulk_loaded_cases_are_what_a_members_queue_shows(tmp_path: Path) -> None:
    database = tmp_path / "bench.db"
    bulk_load(database, Settings(), 3_000)
    engine = make_engine(f"sqlite:///{database}")
    try:
        with session_for(engine) as session:
            queue = queue_of(session=session, email=MEMBER, now=datetime.now(UTC))
    finally:
        engine.dispose()
    assert queue.total > 0
    first = queue.items[0]
    assert first.respondent_name and first.comment and first.callback_due_at is not None
    assert first.callback_due_at.tzinfo is not None


def test_a_figure_reads_as_name_value_and_goal() -> None:
    assert Figure("pipeline_ratio", 0.52, ">= 0.8").line() == \
        "pipeline_ratio: 0.52 (goal ≥ 0.8; NOT met)"
    assert Figure("ack_latency_p99_s", 0.7, "<= 2", unit="s").line() == \
        "ack_latency_p99_s: 0.7 (goal ≤ 2 s; met)"
    assert Figure("rejection_mail_ratio", None, ">= 0.7",
                  note="rejection API not available").line() == \
        "rejection_mail_ratio: n/a (rejection API not available)"
    assert percentile([float(n) for n in range(1, 201)], 0.95) == 190.0
