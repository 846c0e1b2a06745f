"""Working cases in the browser: my queue, the case page and its four forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

from kringloop.cases.workspace import PAGE_SIZE
from tests.support.cases import add_case, case_for, move_callback
from tests.support.kringloop import Kringloop
from tests.support.pages import element, row
from tests.support.people import BRAM, ESTHER, PRIYA
from tests.support.web import signed_in


def queue_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-case-id="([^"]+)"', html)


def paging(html: str) -> dict[str, dict[str, list[str]]]:
    """The queue's previous/next links by id, each as the query it asks for."""
    return {link_id: parse_qs(urlsplit(unescape(href)).query) for href, link_id in
            re.findall(r'<a href="([^"]+)" rel="(?:prev|next)" id="([\w-]+)"', html)}


# --- my queue ------------------------------------------------------------------------------------

async def test_my_queue_puts_due_callbacks_first_and_marks_the_overdue_one(
    live: Kringloop,
) -> None:
    soon = await case_for(live, BRAM, score=2)  # due within 24 business hours
    later = await case_for(live, BRAM, score=5)  # 48 business hours ...
    move_callback(live, later["case_id"], datetime.now(UTC) - timedelta(hours=2))  # ... missed
    called = await case_for(live, BRAM, score=3)
    await live.act(called["case_id"], "callback-attempts", {"outcome": "no_answer"})
    bram = await signed_in(live, BRAM)

    queue = (await bram.get("/queue")).text

    order = re.findall(r'<tr data-case-id="([^"]+)"', queue)
    assert order == [later["case_id"], soon["case_id"], called["case_id"]]
    overdue = row(queue, later["case_id"])
    assert 'class="overdue"' in overdue and "2 u te laat" in overdue
    assert f'<a href="/cases/{soon["case_id"]}">' in row(queue, soon["case_id"])
    assert "bellen binnen" in row(queue, soon["case_id"])
    assert "teruggebeld" in row(queue, called["case_id"])
    assert 'class="overdue"' not in row(queue, soon["case_id"])


async def test_queue_filters_and_a_kind_word_when_it_is_empty(live: Kringloop) -> None:
    angry = await case_for(live, BRAM, score=1)
    await case_for(live, BRAM, score=6)
    bram = await signed_in(live, BRAM)

    filtered = (await bram.get("/queue", band="0-3")).text
    resolved = (await bram.get("/queue", status="resolved")).text
    nonsense = await bram.get("/queue", status="<everything>", page="-3")

    assert re.findall(r'<tr data-case-id="([^"]+)"', filtered) == [angry["case_id"]]
    assert "Geen cases die bij deze filters passen" in resolved
    assert nonsense.status_code == 200 and len(re.findall("<tr data-case-id", nonsense.text)) == 2
    priya = await signed_in(live, PRIYA)
    assert "Your queue is empty" in (await priya.get("/queue")).text


async def test_what_respondents_wrote_is_shown_as_text_never_as_markup(live: Kringloop) -> None:
    case = await case_for(live, BRAM, name='<script>alert("naam")</script>',
                          comment="<img src=x onerror=alert(1)> & meer")
    bram = await signed_in(live, BRAM)

    for html in ((await bram.get("/queue")).text,
                 (await bram.get(f"/cases/{case['case_id']}")).text):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;naam&#34;)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt; &amp; meer" in html


async def test_the_queue_page_shows_only_the_program_asked_for(live: Kringloop) -> None:
    for n, program in enumerate(("customer", "employee", "customer", "employee")):
        add_case(live.engine, n, assignee=BRAM, program=program, due_in=timedelta(hours=n + 1))
    add_case(live.engine, 9, assignee=PRIYA, program="employee")
    bram = await signed_in(live, BRAM)

    html = (await bram.get("/queue", program="employee")).text

    assert queue_rows(html) == ["case-q-1", "case-q-3"]
    assert '<option value="employee" selected>' in html
    assert paging(html) == {}  # one page: no links to others


async def test_the_queue_pages_and_its_links_keep_the_filters(live: Kringloop) -> None:
    for n in range(PAGE_SIZE + 3):
        add_case(live.engine, n, assignee=BRAM, program="employee",
                 due_in=timedelta(minutes=n + 1))
    for n in range(100, 105):  # filtered out: another program
        add_case(live.engine, n, assignee=BRAM, program="customer")
    bram = await signed_in(live, BRAM)
    filters = {"program": "employee", "band": "0-3"}

    first = (await bram.get("/queue", **filters)).text
    second = (await bram.get("/queue", **filters, page="2")).text

    assert queue_rows(first) == [f"case-q-{n}" for n in range(PAGE_SIZE)]
    assert queue_rows(second) == [f"case-q-{n}" for n in range(PAGE_SIZE, PAGE_SIZE + 3)]
    asked = {"status": ["active"], "program": ["employee"], "band": ["0-3"]}
    assert paging(first) == {"next-page": {**asked, "page": ["2"]}}
    assert paging(second) == {"previous-page": {**asked, "page": ["1"]}}
    assert "Pagina 1 van 2" in first and "Pagina 2 van 2" in second
    assert '<option value="0-3" selected>' in second


# --- the case page ---------------------------------------------------------------------------

async def test_the_case_page_shows_the_respondent_the_clock_and_the_timeline(
    live: Kringloop,
) -> None:
    case = await case_for(live, BRAM, score=3, phone="+31 6 1234 5678", segment="webshop")
    bram = await signed_in(live, BRAM)

    html = (await bram.get(f"/cases/{case['case_id']}")).text

    assert "Anna Visser" in html and "anna@example.nl" in html and "+31 6 1234 5678" in html
    assert "webshop" in html and "Fiets te laat" in html and "criticus" in html
    assert element(html, "case-status") == "toegewezen"
    assert "bellen binnen" in element(html, "sla-clock")
    kinds = re.findall(r'<li data-kind="([^"]+)"', element(html, "timeline"))
    assert {"opened", "assigned", "callback_scheduled", "email_sent"} <= set(kinds)
    assert 'id="reassign"' not in html  # a member does not reassign


async def test_another_teams_case_is_not_found_for_a_member(live: Kringloop) -> None:
    case = await case_for(live, PRIYA)
    bram = await signed_in(live, BRAM)

    page = await bram.get(f"/cases/{case['case_id']}")
    action = await bram.submit("/queue", f"/cases/{case['case_id']}/notes", {"text": "hallo"})

    assert (page.status_code, action.status_code) == (404, 404)
    assert "Anna Visser" not in page.text
    assert "note" not in [e["kind"] for e in (await live.case(case["case_id"]))["timeline"]]


async def test_a_member_logs_attempts_and_a_note_through_the_forms(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)

    tried = await bram.submit(page, f"{page}/callback-attempts",
                              {"outcome": "no_answer", "note": "Voicemail ingesproken"})
    shown = await bram.get(page)
    reached = await bram.submit(page, f"{page}/callback-attempts", {"outcome": "reached"})
    noted = await bram.submit(page, f"{page}/notes", {"text": "Belt liever na 17 uur"})

    assert (tried.status_code, tried.headers["location"]) == (303, page)
    assert re.search(r'role="status"[^>]*>Je belpoging staat op de tijdlijn', shown.text)
    assert "teruggebeld" in element(shown.text, "sla-clock")
    assert reached.status_code == noted.status_code == 303
    after = await live.case(case["case_id"])
    assert after["attempts"] == 2
    entries = [(e["kind"], e["actor"], e["detail"]) for e in after["timeline"]]
    assert ("callback_attempt", "Bram de Groot", "no_answer: Voicemail ingesproken") in entries
    assert ("callback_attempt", "Bram de Groot", "reached") in entries
    assert ("note", "Bram de Groot", "Belt liever na 17 uur") in entries
    timeline = element((await bram.get(page)).text, "timeline")
    assert "geen gehoor: Voicemail ingesproken" in timeline and "bereikt" in timeline
    assert "no_answer" not in timeline, "outcomes in the member's language, not as codes"


async def test_a_member_stops_the_clock_while_waiting_on_the_respondent(live: Kringloop
                                                                         ) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)

    empty = await bram.submit(page, f"{page}/pause", {"reason": "  "})
    paused = await bram.submit(page, f"{page}/pause", {"reason": "Gevraagd wanneer bellen past"})
    shown = await bram.get(page)

    assert empty.status_code == 422 and "pause-reason" in empty.text
    assert paused.status_code == 303
    assert re.search(r'role="status"[^>]*>De klok staat stil', shown.text)
    assert 'id="resume"' in shown.text and 'id="pause"' not in shown.text
    assert "wacht op de respondent" in element(shown.text, "timeline")
    assert (await live.case(case["case_id"]))["status"] == "waiting"

    resumed = await bram.submit(page, f"{page}/resume", {})
    assert resumed.status_code == 303
    after = await live.case(case["case_id"])
    assert after["status"] == "assigned"
    assert [e["kind"] for e in after["timeline"]].count("resumed") == 1


async def test_forms_without_the_right_csrf_token_change_nothing(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    before = await live.case(case["case_id"])
    bram = await signed_in(live, BRAM)
    action = f"/cases/{case['case_id']}/callback-attempts"

    missing = await bram.client.post(action, data={"outcome": "reached"})
    wrong = await bram.client.post(action, data={"outcome": "reached", "csrf_token": "raden"})

    assert missing.status_code == wrong.status_code == 403
    assert await live.case(case["case_id"]) == before


async def test_a_lead_reassigns_to_a_colleague_from_the_case_page(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    esther = await signed_in(live, ESTHER)
    html = (await esther.get(page)).text
    choices = re.findall(r'<option value="([^"]+)"', element(html, "member"))
    assert BRAM not in choices and "noor.hendriks@fietsenwinkel.example" in choices

    answer = await esther.submit(page, f"{page}/reassign",
                                 {"member": "noor.hendriks@fietsenwinkel.example"})

    assert answer.status_code == 303
    after = await live.case(case["case_id"])
    assert after["assignee"]["email"] == "noor.hendriks@fietsenwinkel.example"
    bram = await signed_in(live, BRAM)
    refused = await bram.submit(page, f"{page}/reassign", {"member": BRAM})
    assert refused.status_code == 403 and 'role="alert"' in refused.text


async def test_resolving_with_a_preview_of_the_closing_email(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)
    fields = {"root_cause": "delivery-late", "action_taken": "Nieuwe fiets gratis bezorgd",
              "message": "Sorry! <script>alert(1)</script>"}

    # The preview button posts the resolve form: what Bram typed stays out of the address.
    html = (await bram.get(page)).text
    assert f'formaction="{page}/closing-preview#closing-preview" formnovalidate>' in html
    unguarded = await bram.client.post(f"{page}/closing-preview", data=fields)
    assert unguarded.status_code == 403, "the preview needs the session's CSRF token too"
    by_address = await bram.get(f"{page}/closing-preview", **fields)
    assert by_address.status_code == 405, "no preview from an address"
    preview = await bram.submit(page, f"{page}/closing-preview", fields)
    assert preview.status_code == 200
    shown = element(preview.text, "closing-preview")
    assert "Anna, dit hebben we met je feedback gedaan" in shown
    assert "Nieuwe fiets gratis bezorgd" in shown and "Bram de Groot" in shown
    assert "Sorry! &lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "<script>alert(1)" not in preview.text
    assert "Nieuwe fiets gratis bezorgd</textarea>" in preview.text  # the form is kept
    assert live.smtp.to("anna@example.nl", "closing") == []

    resolved = await bram.submit(page, f"{page}/resolve", fields)

    assert resolved.status_code == 303
    after = await live.case_when(case["case_id"], lambda c: c["resolved_at"])
    assert after["root_cause"] == "delivery-late"
    html = (await bram.get(page)).text
    assert element(html, "case-status") == "opgelost"
    assert 'id="resolve"' not in html and 'id="log-attempt"' not in html


async def test_a_refused_resolution_shows_why_and_keeps_what_was_typed(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)

    answer = await bram.submit(page, f"{page}/resolve", {
        "root_cause": "weather", "action_taken": "Regenpak gestuurd", "message": "Tot ziens"})

    assert answer.status_code == 422
    alert = element(answer.text, "resolve-error")
    assert "onbekende oorzaak ‘weather’" in alert
    assert 'id="root-cause" required aria-invalid="true"' in answer.text
    assert "Regenpak gestuurd</textarea>" in answer.text and "Tot ziens</textarea>" in answer.text
    empty = await bram.submit(page, f"{page}/notes", {"text": "  "})
    assert empty.status_code == 422
    assert "Tekst: dit is leeg" in element(empty.text, "notes-error")
    assert (await live.case(case["case_id"]))["resolved_at"] is None
