"""Team actions on a case are Temporal updates: validated first, refused without a trace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Kringloop

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
