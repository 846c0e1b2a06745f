"""The queue and the team board, straight from the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Executable, Row

from kringloop.cases.workspace import PAGE_SIZE, queue_of, queue_statements, team_board
from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from tests.support.cases import NOW, add_case
from tests.support.people import SANNE


def test_due_callbacks_come_first_and_overdue_ones_are_marked(engine: Engine) -> None:
    later = add_case(engine, 1, due_in=timedelta(hours=20))
    called = add_case(engine, 2, due_in=timedelta(hours=-30), attempted=True)
    overdue = add_case(engine, 3, due_in=timedelta(hours=-2))
    soon = add_case(engine, 4, due_in=timedelta(hours=1))
    add_case(engine, 5, assignee="someone.else@fietsenwinkel.example")
    add_case(engine, 6, status="closed")
    with session_for(engine) as session:
        page = queue_of(session=session, email=SANNE, now=NOW)
    assert [i.case_id for i in page.items] == [overdue, soon, later, called]
    assert [i.overdue for i in page.items] == [True, False, False, False]
    assert page.items[-1].awaiting_callback is False


@pytest.mark.parametrize(("filters", "expected"), [
    ({"band": "0-3"}, {"case-q-1"}),
    ({"band": "4-6"}, {"case-q-2", "case-q-3"}),
    ({"program": "employee"}, {"case-q-3"}),
    ({"status": "escalated"}, {"case-q-3"}),
    ({"status": "resolved"}, {"case-q-4"}),
])
def test_queue_filters(engine: Engine, filters: dict[str, str], expected: set[str]) -> None:
    add_case(engine, 1, score=2)
    add_case(engine, 2, score=5)
    add_case(engine, 3, score=6, program="employee", status="escalated")
    add_case(engine, 4, score=6, status="resolved")
    with session_for(engine) as session:
        page = queue_of(session=session, email=SANNE, now=NOW, **filters)  # type: ignore[arg-type]
    assert {i.case_id for i in page.items} == expected


def test_the_queue_pages(engine: Engine) -> None:
    for n in range(PAGE_SIZE + 3):
        add_case(engine, n, due_in=timedelta(minutes=n + 1))
    with session_for(engine) as session:
        first = queue_of(session=session, email=SANNE, now=NOW)
        second = queue_of(session=session, email=SANNE, now=NOW, page=2)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (
        PAGE_SIZE + 3, 2, PAGE_SIZE, 3)
    assert not {i.case_id for i in first.items} & {i.case_id for i in second.items}


def plan(engine: Engine, statement: Executable) -> list[Row[Any]]:
    """How the database would run `statement`, compiled exactly as the app sends it (with its
    values inlined, since EXPLAIN takes no parameters)."""
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return list(connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all())
        # PostgreSQL plans from statistics (autovacuum keeps them on a live database), and a
        # near-empty table is cheapest to scan: ask what it would do at scale.
        connection.exec_driver_sql('ANALYZE "case"')
        connection.exec_driver_sql("SET enable_seqscan = off")
        return list(connection.exec_driver_sql(f"EXPLAIN {sql}").all())


@pytest.mark.parametrize("filters", [
    {}, {"program": "employee"}, {"band": "0-3"}, {"status": "resolved"}])
def test_the_queue_query_uses_its_index(engine: Engine, filters: dict[str, str]) -> None:
    for n in range(40):  # a team's cases, spread over its members and statuses
        add_case(engine, n, assignee=SANNE if n % 8 == 0 else f"lid{n % 8}@fietsenwinkel.example",
                 status=("assigned", "resolved", "closed", "open")[n % 4])
    counting, listing = queue_statements(email=SANNE, **filters)  # type: ignore[arg-type]

    for statement in (counting, listing.offset(PAGE_SIZE).limit(PAGE_SIZE)):
        steps = plan(engine, statement)
        assert any("ix_case_queue" in str(step) for step in steps), steps


def test_team_board_counts_open_and_overdue_and_recognises_good_work(
    engine: Engine, org: Organisation,
) -> None:
    team = org.team("zakelijk")
    joost = "joost.bakker@fietsenwinkel.example"
    add_case(engine, 1, assignee=joost, due_in=timedelta(hours=-1))  # overdue
    add_case(engine, 2, assignee=joost, due_in=timedelta(hours=3))  # due today
    on_time = add_case(engine, 3, assignee=SANNE, attempted=True, status="closed",
                       recovered=True, closed_at=NOW - timedelta(hours=1))
    with session_for(engine) as session:
        board = team_board(session=session, team=team, now=NOW)
    loads = {m.email: (m.open, m.overdue) for m in board.members}
    assert loads[joost] == (2, 1) and loads[SANNE] == (0, 0)
    assert [i.case_id for i in board.due_today] == ["case-q-1", "case-q-2"]
    best = board.leaderboard[0]
    assert (best.email, best.on_time_callbacks, best.recovered) == (SANNE, 1, 1), on_time
    assert len(board.members) == len(team.members)
