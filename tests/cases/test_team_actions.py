"""Team actions on a case are Temporal updates: validated first, refused without a trace. And what
the JSON API shows of the work: a member's queue, and the team board their lead reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kringloop.cases.models import Case
from kringloop.cases.workspace import PAGE_SIZE
from kringloop.database import session_for
from kringloop.security.credentials import create_api_token
from kringloop.services import Services
from kringloop.web.app import create_app
from tests.support.cases import add_case
from tests.support.kringloop import Kringloop
from tests.support.people import JOOST, SANNE

BRAM = {"id": "klant-7", "name": "Bram Jansen", "email": "bram@example.nl", "language": "nl"}


async def open_case(live: Kringloop, response_id: str) -> dict[str, Any]:
    posted = await live.post_response(response_id, 3, respondent=BRAM,
                                      comment="Mijn fiets was kapot bij levering")
    # Settled: the assignee and the respondent have both had their email.
    return await live.case_when(
        posted["case_id"], lambda c: [e["kind"] for e in c["timeline"]].count("email_sent") == 2)


async def test_team_member_logs_a_callback_and_a_note_on_the_timeline(live: Kringloop) -> None:
    case = await open_case(live, "actions-1")
    answer = await live.act(case["case_id"], "callback-attempts",
                            {"outcome": "reached", "note": "Nieuwe levering afgesproken"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["attempts"] == 1
    answer = await live.act(case["case_id"], "notes", {"text": "Klant wil graag 's ochtends"})
    assert answer.status_code == 200
    entries = [(e["kind"], e["actor"], e["detail"]) for e in answer.json()["timeline"]]
    assert ("callback_attempt", "admin", "reached: Nieuwe levering afgesproken") in entries
    assert ("note", "admin", "Klant wil graag 's ochtends") in entries


@pytest.mark.parametrize(("action", "body", "field"), [
    ("resolve", {"root_cause": "weather", "action_taken": "x", "message": "y"}, "root_cause"),
    ("resolve", {"root_cause": "delivery-late", "action_taken": "  ", "message": "y"},
     "action_taken"),
    ("reassign", {"member": "nobody@fietsenwinkel.example"}, "member"),
    ("callback-attempts", {"outcome": "voicemail"}, "outcome"),
    ("notes", {"text": ""}, "text"),
])
async def test_invalid_actions_are_refused_and_leave_the_case_unchanged(
    live: Kringloop, action: str, body: dict[str, str], field: str,
) -> None:
    case = await open_case(live, f"invalid-{action}-{field}")
    before = await live.case(case["case_id"])
    answer = await live.act(case["case_id"], action, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["message"]
    assert await live.case(case["case_id"]) == before


async def test_reassigning_to_a_member_of_another_team_is_refused(live: Kringloop) -> None:
    case = await open_case(live, "other-team-1")
    outsider = next(m.email for t in live.org.teams if t.id != case["team"] for m in t.members)
    answer = await live.act(case["case_id"], "reassign", {"member": outsider})
    assert answer.status_code == 422 and answer.json()["field"] == "member"


async def test_lead_reassigns_and_the_new_member_is_told(live: Kringloop) -> None:
    case = await open_case(live, "reassign-1")
    team = live.org.team(case["team"])
    other = next(m for m in team.members if m.email != case["assignee"]["email"])
    answer = await live.act(case["case_id"], "reassign", {"member": other.email})
    assert answer.status_code == 200, answer.text
    assert answer.json()["assignee"] == {"name": other.name, "email": other.email}
    await live.smtp.wait_for(3)
    assert len(live.smtp.to(other.email, "assignment")) == 1


async def test_resolving_sends_the_closing_email_and_further_actions_are_refused(
    live: Kringloop,
) -> None:
    case = await open_case(live, "resolve-1")
    answer = await live.act(case["case_id"], "resolve", {
        "root_cause": "product-defect", "action_taken": "Fiets omgeruild",
        "message": "Je nieuwe fiets wordt morgen bezorgd."})
    assert answer.status_code == 200, answer.text
    resolved = answer.json()
    assert resolved["status"] == "resolved" and resolved["root_cause"] == "product-defect"
    await live.smtp.wait_for(3)
    assert len(live.smtp.to("bram@example.nl", "closing")) == 1
    resolved = await live.case_when(
        case["case_id"], lambda c: any("closing" in e["detail"] for e in c["timeline"]))

    for action, body in [("resolve", {"root_cause": "product-defect", "action_taken": "a",
                                      "message": "b"}),
                         ("callback-attempts", {"outcome": "reached"})]:
        again = await live.act(case["case_id"], action, body)
        assert again.status_code == 409, again.text
        assert "resolved" in again.json()["message"]
    assert (await live.case(case["case_id"]))["timeline"] == resolved["timeline"]


async def test_actions_on_a_closed_case_are_409(live: Kringloop) -> None:
    case = await open_case(live, "closed-1")
    await live.env.client.get_workflow_handle(case["case_id"]).terminate("closed for the test")
    answer = await live.act(case["case_id"], "notes", {"text": "te laat"})
    assert answer.status_code == 409


async def test_unknown_case_is_404(live: Kringloop) -> None:
    answer = await live.act("case-does-not-exist", "notes", {"text": "hallo"})
    assert answer.status_code == 404
    assert answer.json() == {"message": "no case case-does-not-exist", "field": None}


# --- the queue and the team board as JSON ---------------------------------------------------------

MARIEKE = "marieke.devries@fietsenwinkel.example"  # lead of Zakelijk & Lease


def token_of(live: Kringloop, email: str) -> dict[str, str]:
    with session_for(live.engine) as session:
        _, secret = create_api_token(session=session, email=email)
    return {"Authorization": f"Bearer {secret}"}


def change(live: Kringloop, case_id: str, **fields: Any) -> None:
    """Set a case's clock (or team) as the workflow would have, relative to the real now."""
    with session_for(live.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        for name, value in fields.items():
            setattr(case, name, value)
        session.add(case)
        session.commit()


async def test_a_member_filters_her_queue_by_program_and_pages_through_it(
    live: Kringloop,
) -> None:
    customers = [add_case(live.engine, n, due_in=timedelta(minutes=n + 1))
                 for n in range(PAGE_SIZE + 2)]
    employees = [add_case(live.engine, 100 + n, program="employee") for n in range(2)]
    add_case(live.engine, 200, assignee=JOOST)
    sanne = token_of(live, SANNE)

    async def queue(**params: str | int) -> dict[str, Any]:
        answer = await live.api.get("/api/queue", params=params, headers=sanne)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    staff = await queue(program="employee")
    assert (staff["total"], staff["page"], staff["pages"]) == (2, 1, 1)
    assert sorted(i["case_id"] for i in staff["items"]) == employees
    assert {i["program"] for i in staff["items"]} == {"employee"}
    first, second = await queue(program="customer"), await queue(program="customer", page=2)
    assert (first["total"], first["page"], first["pages"]) == (PAGE_SIZE + 2, 1, 2)
    assert (second["total"], second["page"], second["pages"]) == (PAGE_SIZE + 2, 2, 2)
    assert [i["case_id"] for i in first["items"] + second["items"]] == customers  # soonest first
    assert (await queue(page=3))["page"] == 2  # past the end: the last page
    assert len((await queue())["items"]) == PAGE_SIZE


@pytest.mark.parametrize(("program", "runs", "said"), [
    ("weather", ("customer", "employee", "candidate"), "program: Input should be 'customer'"),
    ("employee", ("customer",), "program: employee is not run in this organisation")])
async def test_a_program_the_organisation_does_not_run_is_refused_naming_it(
    live: Kringloop, program: str, runs: tuple[str, ...], said: str,
) -> None:
    org = live.org.model_copy(update={"programs": {p: live.org.programs[p] for p in runs}})
    app = create_app(Services(settings=live.settings, org=org, engine=live.engine,
                              temporal=live.env.client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://kringloop.test") as api:
        answer = await api.get("/api/queue", params={"program": program},
                               headers=token_of(live, SANNE))

    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "program"
    assert answer.json()["message"].startswith(said), answer.json()


async def test_the_lead_reads_the_team_board_as_json(live: Kringloop) -> None:
    now = datetime.now(UTC)
    late_sanne, later_sanne, on_time_sanne, late_joost, recovered_joost, elsewhere = (
        add_case(live.engine, n) for n in range(6))
    change(live, late_sanne, callback_due_at=now - timedelta(minutes=30))
    change(live, later_sanne, callback_due_at=now + timedelta(days=3))  # not due today
    change(live, on_time_sanne, callback_due_at=now + timedelta(hours=3), first_attempt_at=now)
    change(live, late_joost, assignee_email=JOOST, callback_due_at=now - timedelta(hours=2))
    change(live, recovered_joost, assignee_email=JOOST, callback_due_at=now - timedelta(hours=1),
           first_attempt_at=now, status="closed", recovered=True, closed_at=now)  # late, won back
    change(live, elsewhere, team_id="particulier", callback_due_at=now - timedelta(hours=1))

    answer = await live.api.get("/api/teams/zakelijk/board", headers=token_of(live, MARIEKE))

    assert answer.status_code == 200, answer.text
    board = answer.json()
    assert (board["team"], board["team_name"]) == ("zakelijk", "Zakelijk & Lease")
    team = live.org.team("zakelijk").members
    loads = {SANNE: (3, 1), JOOST: (1, 1)}
    assert [(m["name"], m["email"], m["open"], m["overdue"]) for m in board["members"]] == [
        (m.name, m.email, *loads.get(m.email, (0, 0))) for m in team]
    assert [(i["case_id"], i["overdue"]) for i in board["due_today"]] == [
        (late_joost, True), (late_sanne, True)]
    thanked = [(r["email"], r["on_time_callbacks"], r["recovered"])
               for r in board["leaderboard"]]
    assert thanked[:2] == [(JOOST, 0, 1), (SANNE, 1, 0)]  # won back first, then on time
    assert {email for email, *_ in thanked} == {m.email for m in team}
    assert all(counts == [0, 0] for _, *counts in thanked[2:])
    assert (board["spotlight"], board["spotlight_recovered"]) == ([], 0)  # last week: none
