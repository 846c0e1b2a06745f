"""A team's open cases as its lead reads them, straight from the database: callbacks to make
first, overdue ones marked as the board counts them, filtered, and each colleague's load."""

from __future__ import annotations

from datetime import date, timedelta
from typing import get_args

import pytest
from sqlalchemy import Engine

from kringloop.cases.absences import mark_absent
from kringloop.cases.models import Case
from kringloop.cases.queries import ACTIVE_STATUSES
from kringloop.cases.schemas import TeamCaseStatus
from kringloop.cases.team_cases import (
    TeamCaseFilters,
    team_cases,
    team_members,
    visible_filters,
)
from kringloop.cases.workspace import team_board
from kringloop.database import session_for
from kringloop.org.access import principal_for
from kringloop.org.organisation import Organisation
from tests.support.cases import NOW, add_case
from tests.support.people import JOOST, SANNE

MARIEKE = "marieke.devries@fietsenwinkel.example"  # lead of Zakelijk & Lease


def elsewhere(engine: Engine, case_id: str) -> None:
    """The case belongs to another team."""
    with session_for(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.team_id = "particulier"
        session.add(case)
        session.commit()


def listed(engine: Engine, org: Organisation, **filters: object) -> list[str]:
    with session_for(engine) as session:
        return [i.case_id for i in team_cases(session=session, team=org.team("zakelijk"),
                                              now=NOW, filters=TeamCaseFilters(**filters))]


def test_the_lead_sees_every_open_case_of_the_team_callbacks_to_make_first(
    engine: Engine, org: Organisation,
) -> None:
    later = add_case(engine, 1, due_in=timedelta(hours=20))
    called = add_case(engine, 2, due_in=timedelta(hours=-30), attempted=True, assignee=JOOST)
    overdue = add_case(engine, 3, due_in=timedelta(hours=-2), assignee=JOOST)
    escalated = add_case(engine, 4, due_in=timedelta(hours=1), status="escalated")
    add_case(engine, 5, status="resolved")
    add_case(engine, 6, status="closed")
    elsewhere(engine, add_case(engine, 7))

    with session_for(engine) as session:
        items = team_cases(session=session, team=org.team("zakelijk"), now=NOW,
                           filters=TeamCaseFilters())

    assert [i.case_id for i in items] == [overdue, escalated, later, called]
    assert [i.overdue for i in items] == [True, False, False, False]
    assert [i.awaiting_callback for i in items] == [True, True, True, False]
    assert [i.assignee.email if i.assignee else None for i in items] == [
        JOOST, SANNE, SANNE, JOOST]
    assert items[-1].attempts == 0 and items[0].status == "assigned"
    assert "respondent_name" not in items[0].model_dump()  # the work, not who the person is


@pytest.mark.parametrize(("filters", "expected"), [
    ({"assignee": JOOST}, {"case-q-2", "case-q-3"}),
    ({"status": "escalated"}, {"case-q-4"}),
    ({"overdue": True}, {"case-q-3"}),
    ({"overdue": False}, {"case-q-1", "case-q-2", "case-q-4", "case-q-5"}),
    ({"program": "employee"}, {"case-q-5"}),
    # NOW is 11:00 in Amsterdam: due before midnight there, or overdue, and not called yet.
    ({"due_today": True}, {"case-q-3", "case-q-4"}),
    ({"assignee": JOOST, "overdue": False}, {"case-q-2"}),
])
def test_the_list_filters_by_assignee_status_overdue_program_and_due_today(
    engine: Engine, org: Organisation, filters: dict[str, object], expected: set[str],
) -> None:
    add_case(engine, 1, due_in=timedelta(hours=20))
    add_case(engine, 2, due_in=timedelta(hours=-30), attempted=True, assignee=JOOST)
    add_case(engine, 3, due_in=timedelta(hours=-2), assignee=JOOST)
    add_case(engine, 4, due_in=timedelta(hours=5), status="escalated")
    add_case(engine, 5, due_in=timedelta(days=3), program="employee")

    assert set(listed(engine, org, **filters)) == expected


def test_the_list_and_the_board_count_the_same_cases_overdue(
    engine: Engine, org: Organisation,
) -> None:
    for n, (hours, assignee, attempted) in enumerate([
            (-1, SANNE, False), (-5, SANNE, True), (2, SANNE, False), (-3, JOOST, False),
            (-48, JOOST, False), (10, JOOST, False)]):
        add_case(engine, n, due_in=timedelta(hours=hours), assignee=assignee,
                 attempted=attempted)
    with session_for(engine) as session:
        board = team_board(session=session, team=org.team("zakelijk"), now=NOW)
        items = team_cases(session=session, team=org.team("zakelijk"), now=NOW,
                           filters=TeamCaseFilters(overdue=True))

    on_the_board = {m.email: m.overdue for m in board.members if m.overdue}
    in_the_list = {email: sum(1 for i in items if i.assignee and i.assignee.email == email)
                   for email in (SANNE, JOOST)}
    assert on_the_board == in_the_list == {SANNE: 1, JOOST: 2}


def test_each_colleague_shows_their_open_load_and_absence(
    engine: Engine, org: Organisation,
) -> None:
    for n in range(3):
        add_case(engine, n)
    add_case(engine, 3, assignee=JOOST)
    add_case(engine, 4, assignee=JOOST, status="resolved")
    team = org.team("zakelijk")
    with session_for(engine) as session:
        mark_absent(session=session, team=team, member_email=JOOST, until=date(2026, 11, 27),
                    set_by=MARIEKE, now=NOW)
        members = {m.email: m for m in team_members(session=session, team=team, now=NOW)}
        a_week_on = team_members(session=session, team=team, now=NOW + timedelta(days=7))

    assert [m.email for m in members.values()] == [m.email for m in team.members]
    assert (members[SANNE].open, members[SANNE].absent_until) == (3, None)
    assert (members[JOOST].open, members[JOOST].absent_until) == (1, date(2026, 11, 27))
    assert members[MARIEKE].open == 0
    assert all(m.absent_until is None for m in a_week_on)  # back again


def test_a_member_sees_only_todays_callbacks_and_a_lead_what_she_asks_for(
    org: Organisation,
) -> None:
    team = org.team("zakelijk")
    asked = TeamCaseFilters(assignee=SANNE)
    lead, member = principal_for(org, MARIEKE), principal_for(org, JOOST)
    assert lead is not None and member is not None

    assert visible_filters(lead, team, asked) == asked
    assert visible_filters(member, team, asked) == TeamCaseFilters(assignee=SANNE,
                                                                   due_today=True)


def test_the_status_filter_offers_every_open_status() -> None:
    assert set(get_args(TeamCaseStatus)) == set(ACTIVE_STATUSES)
