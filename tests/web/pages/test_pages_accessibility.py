"""Every workspace page works with a screen reader and a keyboard: each field has a label, each
form a real submit button, and each page its language and one main heading."""

from __future__ import annotations

import uuid

import httpx

from tests.support.cases import case_for
from tests.support.enps import anonymous_case
from tests.support.intake import settled
from tests.support.kringloop import Kringloop
from tests.support.pages import problems_of
from tests.support.people import BRAM, ESTHER, THIJS, WENDY
from tests.support.rejections import lisa, press, stored, vacancy_page
from tests.support.web import browser, sign_in_link, signed_in


def test_the_check_notices_what_a_screen_reader_or_keyboard_would_miss() -> None:
    page = """<html><body><h1>Een</h1><h1>Twee</h1>
      <form action="/a"><input name="q" id="q"><a href="/b" role="button">Ga</a></form>
      <form action="/c"><label for="x"></label><select name="x" id="x"></select>
        <textarea name="t" aria-labelledby="gone" aria-describedby="gone-too"></textarea>
        <button type="button">Klik</button><button></button></form></body></html>"""

    assert problems_of(page) == [
        "<html> says no lang", "2 <h1> headings, not one", "<input name='q'> has no label",
        "<select name='x'> has no label",
        "<textarea name='t'> is described by ['gone-too'], not on the page",
        "<textarea name='t'> has no label",
        "<button name=None> does nothing without JavaScript", "<button name=None> has no text",
        "<a role=button> is no real button", "<form action='/a'> has no submit button"]


async def test_every_workspace_page_has_labelled_fields_real_buttons_a_language_and_a_heading(
    live: Kringloop,
) -> None:
    pages: dict[str, httpx.Response] = {}

    # Before signing in.
    visitor = browser(live)
    pages["sign-in page"] = await visitor.get("/login")
    pages["wrong password"] = await visitor.submit("/login", "/login/password",
                                                   {"email": BRAM, "password": "raden"})
    pages["link sent"] = await visitor.submit("/login", "/login/link", {"email": BRAM})
    link = await sign_in_link(live, BRAM)
    pages["sign-in link"] = await browser(live).get(link)
    pages["used sign-in link"] = await browser(live).follow_sign_in_link("/login/magic/forged")

    # A member working a case.
    case = f"/cases/{(await case_for(live, BRAM))['case_id']}"
    bram = await signed_in(live, BRAM)
    pages["queue"] = await bram.get("/queue")
    pages["empty queue"] = await bram.get("/queue", status="closed")
    pages["case"] = await bram.get(case)
    pages["refused resolution"] = await bram.submit(case, f"{case}/resolve", {
        "root_cause": "weather", "action_taken": "Regenpak gestuurd", "message": "Tot ziens"})
    pages["closing preview"] = await bram.submit(case, f"{case}/closing-preview", {
        "root_cause": "", "action_taken": "Fiets gebracht", "message": "Sorry"})
    pages["reports (member)"] = await bram.get("/reports")
    pages["not found"] = await bram.get("/cases/case-nobody")

    # A lead: reassigning, the team board, the reports.
    esther = await signed_in(live, ESTHER)
    pages["case (lead)"] = await esther.get(case)
    pages["team board"] = await esther.get((await esther.get("/team")).headers["location"])
    pages["reports"] = await esther.get("/reports", group_by="team")

    # The people team's lead answering an anonymous employee.
    relay = (await settled(live, (await anonymous_case(live))["case_id"]))["case_id"]
    pages["employee case"] = await (await signed_in(live, WENDY)).get(f"/cases/{relay}")

    # A recruiter writing, scheduling and watching a vacancy's rejections.
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    pages["rejections"] = await thijs.get("/rejections")
    opened = await thijs.get(vacancy_page(vacancy))
    pages["vacancy"] = opened
    pages["refused applicant"] = await press(thijs, opened, "add", lisa(vacancy, email="x"))
    pages["draft"] = await press(thijs, opened, "add", lisa(vacancy))
    scheduled = await press(thijs, pages["draft"], "schedule")
    pages["scheduled"] = await thijs.get(scheduled.headers["location"])
    stored(live, vacancy)  # their workflows end with the test

    # The pages are the ones meant, with the forms to check on them.
    assert {name: answer.status_code for name, answer in pages.items()
            if answer.status_code != 200} == {
        "wrong password": 401, "used sign-in link": 400, "refused resolution": 422,
        "not found": 404, "refused applicant": 422}
    for name, form_part in (("sign-in link", 'id="sign-in-link"'), ("case", 'id="log-attempt"'),
                            ("case (lead)", 'id="reassign"'), ("employee case", 'id="relay-text"'),
                            ("draft", 'value="remove:0"'), ("scheduled", 'value="cancel:')):
        assert form_part in pages[name].text, f"{name}: no {form_part}"
    problems = {name: problems_of(answer.text) for name, answer in pages.items()}
    assert {name: found for name, found in problems.items() if found} == {}
