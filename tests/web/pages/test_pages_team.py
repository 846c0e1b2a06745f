"""The team board: recognition for the team, and only for the people who lead it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kringloop.cases.models import Case
from kringloop.database import session_for
from tests.support.cases import case_for
from tests.support.kringloop import Kringloop
from tests.support.pages import element
from tests.support.people import BRAM, ESTHER, INGRID
from tests.support.web import signed_in


def last_wednesday_morning() -> datetime:
    """Wednesday 10:00 of last week in Amsterdam: inside the board's spotlight week."""
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    monday = today - timedelta(days=today.weekday() + 7)
    return datetime.combine(monday + timedelta(days=2), time(10),
                            ZoneInfo("Europe/Amsterdam")).astimezone(UTC)


async def test_the_lead_sees_where_to_help_today_and_whom_to_thank(live: Kringloop) -> None:
    this_month = await case_for(live, BRAM)
    await live.act(this_month["case_id"], "callback-attempts", {"outcome": "reached"})
    last_week = await case_for(live, BRAM)
    with session_for(live.engine) as session:  # called back on time last week, and recovered
        case = session.get(Case, last_week["case_id"])
        assert case is not None
        case.first_attempt_at = last_wednesday_morning()
        case.callback_due_at = case.first_attempt_at + timedelta(hours=4)
        case.recovered, case.closed_at = True, case.first_attempt_at + timedelta(days=1)
        session.add(case)
        session.commit()
    waiting = await case_for(live, BRAM, score=2)
    with session_for(live.engine) as session:  # due this morning, not called yet
        case = session.get(Case, waiting["case_id"])
        assert case is not None
        case.callback_due_at = datetime.now(UTC) - timedelta(minutes=30)
        session.add(case)
        session.commit()
    esther = await signed_in(live, ESTHER)

    answer = await esther.get("/team")
    board = await esther.get(answer.headers["location"])

    assert answer.headers["location"] == "/teams/particulier" and board.status_code == 200
    spotlight = element(board.text, "spotlight")
    assert "Dank je wel, Bram:" in spotlight and "1 keer op tijd teruggebeld" in spotlight
    assert "1 criticus teruggewonnen" in spotlight
    assert "Dank je wel, Bram:" in element(board.text, "leaderboard")
    # Only those with something to thank them for are named: nobody is singled out as the
    # one without a thank-you.
    assert "Ook in het team:" not in board.text
    assert "Noor Hendriks" not in element(board.text, "leaderboard")
    assert "Noor Hendriks" in element(board.text, "workload"), "her cases are still counted"
    risk = element(board.text, "sla-risk")
    assert f'data-case-id="{waiting["case_id"]}" class="overdue"' in risk
    assert "30 min te laat" in risk
    workload = re.search(r">Bram de Groot</a></td>\s*<td>(\d+)</td>\s*<td>(\d+)</td>", board.text)
    assert workload and workload.groups() == ("3", "1")
    for blame in ("worst", "slechtst", "laatste plaats"):
        assert blame not in board.text.lower()


async def test_the_team_board_is_for_leads_and_admins(live: Kringloop) -> None:
    bram, esther, ingrid = (await signed_in(live, BRAM), await signed_in(live, ESTHER),
                            await signed_in(live, INGRID))

    assert (await bram.get("/team")).status_code == 403
    assert (await bram.get("/teams/particulier")).status_code == 403
    assert (await bram.get("/teams/english")).status_code == 404
    assert (await esther.get("/teams/english")).status_code == 404
    assert (await esther.get("/teams/no-such-team")).status_code == 404
    picker = await ingrid.get("/team")
    assert picker.status_code == 200
    assert {t.id for t in live.org.teams} == set(re.findall(r'href="/teams/([^"]+)"', picker.text))
    assert (await ingrid.get("/teams/english")).status_code == 200
    assert 'href="/team"' not in (await bram.get("/queue")).text
    assert 'href="/team"' in (await esther.get("/queue")).text


async def test_a_member_finds_the_teams_callbacks_due_today_and_the_lead_keeps_the_board(
    live: Kringloop,
) -> None:
    bram, esther = await signed_in(live, BRAM), await signed_in(live, ESTHER)

    queue = (await bram.get("/queue")).text
    link = re.search(r'<a href="([^"]+)" id="team-today">Vandaag in het team</a>', queue)
    assert link and link.group(1) == "/teams/particulier/cases?due=today"
    today = await bram.get(link.group(1))

    assert today.status_code == 200
    assert "<h1>Vandaag terugbellen: Particulieren</h1>" in today.text
    assert 'id="team-today" aria-current="page"' in today.text
    lead_queue = (await esther.get("/queue")).text
    assert 'id="team-today"' not in lead_queue and 'href="/team"' in lead_queue
