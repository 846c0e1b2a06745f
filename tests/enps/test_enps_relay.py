"""An anonymous employee and the people team talk through a private link: the conversation is on
the case timeline, the employee reads it only through their own link, and who they are stays
unknown. A reply from the team is the first contact the SLA asks for."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

from kringloop.security.signed_links import conversation_form_token, score_token
from tests.support.enps import anonymous_case, colleague, write
from tests.support.intake import settled, unique
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.mail import body_of
from tests.support.people import BRAM
from tests.support.web import signed_in

BASE = "http://kringloop.test"


def conversation(html: str) -> list[tuple[str, str]]:
    """The conversation as the employee reads it: (author, text) per message."""
    return [(author.split(" · ")[0].strip(), text) for author, text in re.findall(
        r'<p class="author">(.*?)</p>\s*<p class="text">(.*?)</p>', html, re.S)]


async def test_employee_and_team_talk_through_the_case_and_only_the_link_shows_it(
    live: Kringloop,
) -> None:
    posted = await anonymous_case(live)
    other = await anonymous_case(live, score=5)
    link, case_id = posted["conversation_url"], posted["case_id"]
    case = await settled(live, case_id)
    await settled(live, other["case_id"])
    assert link.startswith(f"{BASE}/e/") and case["relay"] is True
    assert case_id not in link, "the link does not name its case"

    first = await live.api.get(link)
    assert first.status_code == 200 and 'id="no-messages"' in first.text
    assert "set-cookie" not in first.headers and first.headers["referrer-policy"] == "no-referrer"

    sent = await write(live, link, "Ik durf het niet\r\nte zeggen <b>op de werkvloer</b>")
    assert (sent.status_code, sent.headers["location"]) == (303, f"{link[len(BASE):]}#sent")
    assert "set-cookie" not in sent.headers
    relayed = await live.case_when(case_id, lambda c: "relay_message" in [
        e["kind"] for e in c["timeline"]])
    [message] = [e for e in relayed["timeline"] if e["kind"] == "relay_message"]
    assert message["actor"] == "employee"
    assert message["detail"] == "Ik durf het niet\r\nte zeggen <b>op de werkvloer</b>"
    assignee = case["assignee"]
    notice = await mail_to(live, assignee["email"], "relay_message")
    assert f"{BASE}/cases/{case_id}" in body_of(notice)

    member = await signed_in(live, assignee["email"])
    page = f"/cases/{case_id}"
    assert 'id="reply-to-employee"' in (await member.get(page)).text
    replied = await member.submit(page, f"{page}/relay-replies",
                                  {"text": "Dank je. Zullen we het rooster samen bekijken?"})
    assert (replied.status_code, replied.headers["location"]) == (303, page)

    seen = (await live.api.get(link)).text
    you = "Jij"  # the employee answered in Dutch
    assert conversation(seen) == [
        (you, "Ik durf het niet\r\nte zeggen &lt;b&gt;op de werkvloer&lt;/b&gt;"),
        (assignee["name"], "Dank je. Zullen we het rooster samen bekijken?")]
    assert "<b>op de werkvloer</b>" not in seen
    other_page = (await live.api.get(other["conversation_url"])).text
    assert conversation(other_page) == [] and "rooster samen" not in other_page
    team_view = (await member.get(page)).text
    assert "rooster samen bekijken" in team_view
    assert "&lt;b&gt;op de werkvloer&lt;/b&gt;" in team_view
    outsider = await (await signed_in(live, BRAM)).get(page)
    assert outsider.status_code == 404 and "rooster samen" not in outsider.text
    after = await live.case(case_id)
    assert after["attempts"] == 0 and after["status"] == "assigned"

    answer = await live.act(case_id, "resolve", {
        "root_cause": "scheduling", "action_taken": "Roosters staan nu twee weken vast.",
        "message": "Vanaf deze maand ligt je rooster twee weken vooruit vast."})
    assert answer.status_code == 200, answer.text
    assert await live.finished(case_id) == "closed"
    closed = (await live.api.get(link)).text
    # The loop closes with the employee: the resolution's message, from whoever resolved it.
    assert conversation(closed)[-1] == (
        "admin", "Vanaf deze maand ligt je rooster twee weken vooruit vast.")
    assert 'id="closed"' in closed and 'id="reply"' not in closed
    late = await write(live, link, "Nog iets", form_token=conversation_form_token(
        live.settings.signing_key, link.rsplit("/", 1)[1]))
    assert late.status_code == 409 and 'id="problem"' in late.text and "Nog iets" not in [
        e["detail"] for e in (await live.case(case_id))["timeline"]]


async def mail_to(kringloop: Kringloop, address: str, kind: str) -> Any:
    for _ in range(500):
        if found := kringloop.smtp.to(address, kind):
            return found[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} email to {address}")


async def test_the_link_is_given_once_and_only_for_an_anonymous_employee(
    live: Kringloop,
) -> None:
    tool_id = unique("enps")
    posted = await anonymous_case(live, response_id=tool_id)
    again = await live.api.post("/api/responses", json={
        "response_id": tool_id, "program": "employee", "score": 3})
    consenting = await live.post_response(unique("enps-ok"), 3, program="employee",
                                          respondent=colleague(),
                                          meta={"contact_consent": True})
    customer = await live.post_response(unique("nps"), 3, respondent=colleague())

    assert posted["conversation_url"]
    assert again.status_code == 200 and "conversation_url" not in again.json()
    assert "conversation_url" not in consenting and "conversation_url" not in customer
    schema = (await live.api.get("/openapi.json")).json()
    assert "shown once" in schema["components"]["schemas"]["IntakeResult"]["properties"][
        "conversation_url"]["description"].lower()


async def test_a_forged_expired_or_borrowed_link_opens_nothing(live: Kringloop) -> None:
    posted = await anonymous_case(live)
    link, case_id = posted["conversation_url"], posted["case_id"]
    await settled(live, case_id)
    token = link.rsplit("/", 1)[1]
    # A re-survey score link for the same case is signed with the same key, for another use.
    borrowed = score_token(live.settings.signing_key, case_id=case_id, score=9)

    for path in (f"/e/{token[:-2]}xx", f"/e/{borrowed}", "/e/nothing"):
        page = await live.api.get(path)
        assert page.status_code == 404, path
        assert "niet gevonden" in page.text and "set-cookie" not in page.headers
    forged_form = await write(live, link, "Hallo", form_token="0" * 64)
    assert forged_form.status_code == 403
    blank = await write(live, link, "   ")
    too_long = await write(live, link, "x" * 5_001)
    assert (blank.status_code, too_long.status_code) == (422, 422)
    assert "x" * 5_001 in too_long.text, "what they wrote is kept for them to shorten"
    assert "relay_message" not in [kind for kind, _ in live.timeline(case_id)]


async def test_the_relay_is_refused_on_a_case_whose_respondent_is_known(
    live: Kringloop,
) -> None:
    customer = await live.post_response(unique("nps"), 3, respondent=colleague())
    await settled(live, customer["case_id"])
    empty = await anonymous_case(live)
    await settled(live, empty["case_id"])

    refused = await live.act(customer["case_id"], "relay-replies", {"text": "Hallo"})
    blank = await live.api.post(f"/api/cases/{empty['case_id']}/relay-replies",
                                json={"text": " "}, headers=ADMIN)

    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "text" and "anonymous" in refused.json()["message"]
    assert blank.status_code == 422 and blank.json()["field"] == "text"
    assert "relay_reply" not in [kind for kind, _ in live.timeline(customer["case_id"])]


# --- the SLA, in simulated time ----------------------------------------------------------------

async def test_without_a_reply_the_anonymous_case_is_reminded_and_escalated_like_any(
    simulated: Kringloop,
) -> None:
    posted = await anonymous_case(simulated, score=2)
    case = await simulated.case_when(posted["case_id"], lambda c: c["callback_due_at"])
    due = datetime.fromisoformat(case["callback_due_at"])
    lead = simulated.org.team("people").lead

    await simulated.env.sleep(due - await simulated.env.get_current_time()
                              + timedelta(minutes=5))

    await simulated.smtp.wait_for(3)
    assert len(simulated.smtp.to(case["assignee"]["email"], "reminder")) == 1
    assert len(simulated.smtp.to(lead.email, "escalation")) == 1
    assert (await simulated.case(posted["case_id"]))["status"] == "escalated"


async def test_a_reply_through_the_relay_before_the_deadline_is_the_callback(
    simulated: Kringloop, keep_history: Any,
) -> None:
    posted = await anonymous_case(simulated, score=2)
    case_id = posted["case_id"]
    case = await simulated.case_when(case_id, lambda c: c["callback_due_at"])

    answer = await simulated.act(case_id, "relay-replies",
                                 {"text": "Dank voor je eerlijke score. Wat speelt er?"})
    assert answer.status_code == 200, answer.text
    await simulated.env.sleep(timedelta(days=14))

    assert not [m for m in simulated.smtp.received
                if m["X-Kringloop-Kind"] in ("reminder", "escalation")]
    after = await simulated.case(case_id)
    assert after["status"] == "assigned" and after["assignee"] == case["assignee"]
    assert "escalated" not in [e["kind"] for e in after["timeline"]]

    resolved = await simulated.act(case_id, "resolve", {
        "root_cause": "workload", "action_taken": "Extra collega in de werkplaats.",
        "message": "Vanaf maandag staan we met z'n vieren in de werkplaats."})
    assert resolved.status_code == 200, resolved.text
    assert await simulated.finished(case_id) == "closed"
    await keep_history(simulated, case_id, "case_anonymous_relay_reply_in_time")
