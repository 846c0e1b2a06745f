"""What the API and the case page read of a case: never a half-done step, even while the
worker commits one between the reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from kringloop.cases import queries
from kringloop.cases.models import Case
from kringloop.cases.steps import entry
from kringloop.database import change_once, session_for
from kringloop.responses.models import SurveyResponse

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
CASE = "case-read-1"


def assign_to_noor(engine: Engine) -> None:
    """The worker's assignment step, committed from its own session."""
    def assign(row: Case) -> None:
        row.assignee_email, row.assignee_name = "noor@example.nl", "Noor Hendriks"
        row.status = "assigned"

    with session_for(engine) as session:
        assert change_once(session=session, model=Case, key=CASE, change=assign,
                           step=entry(CASE, "assign", "kringloop", "assigned",
                                      "to Noor Hendriks", at=T0))


def commits_after_first_read(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    """Whichever of the two reads comes first, the assignment commits right after it."""
    done = False

    def then_assign(read: Callable[..., Any]) -> Callable[..., Any]:
        def reading(**kwargs: Any) -> Any:
            nonlocal done
            found = read(**kwargs)
            if not done:
                done = True
                assign_to_noor(engine)
            return found
        return reading

    for name in ("timeline_of", "case_with_response"):
        monkeypatch.setattr(queries, name, then_assign(getattr(queries, name)))


def test_a_case_showing_its_assignment_names_the_assignee_while_the_worker_assigns(
    engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with session_for(engine) as session:
        session.add(SurveyResponse(id="read-1", program="customer", score=3,
                                   category="detractor", name="Sem Bakker", language="nl",
                                   answered_at=T0, received_at=T0))
        session.add(Case(id=CASE, response_id="read-1", program="customer", score=3,
                         opened_at=T0))
        session.commit()
    commits_after_first_read(monkeypatch, engine)

    with session_for(engine) as session:
        case = queries.case_public(session=session, case_id=CASE)

    assert case is not None
    shows_assignment = "assigned" in {e.kind for e in case.timeline}
    assert not shows_assignment or case.assignee is not None, case
    with session_for(engine) as session:  # and the next read shows both
        again = queries.case_public(session=session, case_id=CASE)
    assert again is not None and again.assignee is not None
    assert "assigned" in {e.kind for e in again.timeline}
