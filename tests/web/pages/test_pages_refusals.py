"""A refused action says why in the member's own language: the case's refusals (written in
English for the API and the workflow's history) and a form that fails its shape read in Dutch
for a Dutch member and in English for an English one, naming the field by its label."""

from __future__ import annotations

from html import unescape

from tests.support.cases import case_for
from tests.support.kringloop import Kringloop
from tests.support.pages import element
from tests.support.people import BRAM, PRIYA
from tests.support.web import signed_in


async def test_a_dutch_member_reads_why_an_action_was_refused_in_dutch(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)

    empty_note = await bram.submit(page, f"{page}/notes", {"text": "   "})
    weather = await bram.submit(page, f"{page}/resolve", {
        "root_cause": "weather", "action_taken": "Regenpak gestuurd", "message": "Tot ziens"})
    not_waiting = await bram.submit(page, f"{page}/resume", {})
    bad_outcome = await bram.submit(page, f"{page}/callback-attempts", {"outcome": "maybe"})

    assert (empty_note.status_code, weather.status_code, not_waiting.status_code) == (
        422, 422, 422)
    assert unescape(element(empty_note.text, "notes-error")) == (
        "Dit is niet opgeslagen: Tekst: dit is leeg")
    assert 'id="note-text" rows="3" required aria-invalid="true"' in empty_note.text
    assert unescape(element(weather.text, "resolve-error")).startswith(
        "Dit is niet opgeslagen: onbekende oorzaak ‘weather’; kies een van: te late levering, ")
    assert "Regenpak gestuurd</textarea>" in weather.text  # what was typed stays
    # The clock's form is not on the page while the case is not waiting: said at the top.
    assert unescape(element(not_waiting.text, "resume-error")) == (
        "Dit is niet opgeslagen: de case wacht niet op de respondent")
    assert unescape(element(bad_outcome.text, "callback-attempts-error")) == (
        "Dit is niet opgeslagen: Resultaat: kies een van de mogelijkheden")
    for answer in (empty_note, weather, not_waiting, bad_outcome):
        for english in ("String should", "Input should", "unknown root cause", "waiting on"):
            assert english not in answer.text
    assert (await live.case(case["case_id"]))["resolved_at"] is None


async def test_an_english_member_reads_the_same_refusals_in_english(live: Kringloop) -> None:
    case = await case_for(live, PRIYA, language="en")
    page = f"/cases/{case['case_id']}"
    priya = await signed_in(live, PRIYA)

    empty_note = await priya.submit(page, f"{page}/notes", {"text": "   "})
    not_waiting = await priya.submit(page, f"{page}/resume", {})

    assert unescape(element(empty_note.text, "notes-error")) == (
        "This was not saved: Text: this is empty")
    assert unescape(element(not_waiting.text, "resume-error")) == (
        "This was not saved: the case is not waiting on the respondent")


async def test_a_case_already_waiting_says_so_in_dutch(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)
    asked = await bram.submit(page, f"{page}/pause", {"reason": "Foto van het frame gevraagd"})
    assert asked.status_code == 303
    await live.case_when(case["case_id"], lambda c: c["status"] == "waiting")

    again = await bram.submit(page, f"{page}/pause", {"reason": "Nog een foto"})

    assert again.status_code == 422
    assert unescape(element(again.text, "pause-error")) == (
        "Dit is niet opgeslagen: de case wacht al op de respondent")
