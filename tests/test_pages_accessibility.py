"""Every workspace page works with a screen reader and a keyboard: each field has a label, each
form a real submit button, and each page its language and one main heading."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

from tests.conftest import Kringloop
from tests.test_enps_relay import anonymous_case
from tests.test_intake_api import settled
from tests.test_pages import BRAM, ESTHER, browser, sign_in_link, signed_in
from tests.test_pages_cases import case_for
from tests.test_pages_rejections import THIJS, lisa, press, stored, vacancy_page

WENDY = "wendy.vanleeuwen@fietsenwinkel.example"  # lead of People & Cultuur (eNPS)
FIELDS = ("input", "select", "textarea")
NOT_FIELDS = ("hidden", "submit", "reset", "button", "image")  # input types that are no field


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    form: int | None  # the enclosing <form>, by its place on the page
    text: str = ""


@dataclass
class Outline(HTMLParser):
    """What assistive technology makes of a page: its language, headings, labels and controls."""

    lang: str = ""
    headings: int = 0
    ids: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # for= -> the label's text
    forms: list[dict[str, str]] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    posing_as_buttons: list[str] = field(default_factory=list)  # role="button" on a non-button
    _form: int | None = None
    _label: str | None = None
    _label_text: list[str] = field(default_factory=list)
    _button: Control | None = None

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if "id" in found:
            self.ids.append(found["id"])
        if found.get("role") == "button" and tag != "button":
            self.posing_as_buttons.append(tag)
        if tag == "html":
            self.lang = found.get("lang", "")
        elif tag == "h1":
            self.headings += 1
        elif tag == "form":
            self.forms.append(found)
            self._form = len(self.forms) - 1
        elif tag == "label":
            self._label, self._label_text = found.get("for", ""), []
        elif tag in (*FIELDS, "button"):
            self.controls.append(Control(tag, found, self._form))
            if tag == "button":
                self._button = self.controls[-1]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "label" and self._label is not None:
            self.labels[self._label] = "".join(self._label_text).strip()
            self._label = None
        elif tag == "button":
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self._label_text.append(data)
        if self._button is not None:
            self._button.text += data


def is_submit(control: Control) -> bool:
    if control.tag == "button":
        return control.attrs.get("type", "submit") == "submit"
    return control.tag == "input" and control.attrs.get("type") in ("submit", "image")


def problems_of(html: str) -> list[str]:
    """What keeps a page from a screen reader or a keyboard, in words; none is good."""
    page = Outline()
    page.feed(html)
    found = [] if page.lang else ["<html> says no lang"]
    if page.headings != 1:
        found.append(f"{page.headings} <h1> headings, not one")
    twice = sorted({i for i in page.ids if page.ids.count(i) > 1})
    found += [f"id {i!r} used twice" for i in twice]
    for control in page.controls:
        described = f"<{control.tag} name={control.attrs.get('name')!r}>"
        if control.tag == "button":
            if control.attrs.get("type", "submit") != "submit":
                found.append(f"{described} does nothing without JavaScript")
            if not (control.text.strip() or control.attrs.get("aria-label", "").strip()):
                found.append(f"{described} has no text")
            continue
        if control.tag == "input" and control.attrs.get("type", "text") in NOT_FIELDS:
            continue
        missing = [i for i in control.attrs.get("aria-describedby", "").split()
                   if i not in page.ids]
        if missing:
            found.append(f"{described} is described by {missing}, not on the page")
        labelled_by = control.attrs.get("aria-labelledby", "").split()
        if not (page.labels.get(control.attrs.get("id", "")) or
                control.attrs.get("aria-label", "").strip() or
                (labelled_by and all(i in page.ids for i in labelled_by))):
            found.append(f"{described} has no label")
    found += [f"<{tag} role=button> is no real button" for tag in page.posing_as_buttons]
    for number, form in enumerate(page.forms):
        submits = [c for c in page.controls if is_submit(c) and (
            c.form == number or (form.get("id") and c.attrs.get("form") == form["id"]))]
        if not submits:
            found.append(f"<form action={form.get('action')!r}> has no submit button")
    return found


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
