"""A calling day in Chromium against `kringloop up` with its own mail server (the outbox is part of
the day): a member works the queue and a case, the admin looks over the team, the reports, the
outbox and the rejections, and respondents open their links. At a desk (1280 px) and on a phone
(390 px) no page scrolls sideways (WCAG 1.4.10), axe-core finds nothing serious or critical
(nor two landmarks of one name), and every page is kept as a screenshot at both widths
(test-output/screenshots/calling-day-*.png)."""

from __future__ import annotations

import re
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from kringloop.security.signed_links import booking_token, score_token
from kringloop.settings import Settings
from tests.support.chromium import sign_in
from tests.support.mail import MailServer
from tests.support.people import INGRID
from tests.support.rejections import CERTIFICATE
from tests.support.stack import ADMIN_TOKEN, ANNA, case_when, kringloop_up

WIDTHS = {"desk": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
PHONE = "06 1234 5678"
AXE = Axe()
# Fails the test whatever its impact: two landmarks of one name leave a screen reader guessing.
ALWAYS = {"landmark-unique"}
# The innermost elements reaching past the page's right edge: what makes it scroll sideways.
STICKING_OUT = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
               && ![...e.children].some(c => c.getBoundingClientRect().right >
                                             document.documentElement.clientWidth + 1))
  .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)"""


class Outbox(MailServer):
    """The embedded mail server's folder of .eml files, read as the tests' SMTP server is."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def to(self, address: str, kind: str | None = None) -> list[EmailMessage]:
        self.received = [message_from_bytes(path.read_bytes(), policy=default_policy)  # type: ignore[misc]
                         for path in sorted(self.folder.glob("*.eml"))]
        return super().to(address, kind)


async def look_at(page: Page, name: str, screenshots: Path) -> None:
    """The page at both widths: a screenshot of the whole page, nothing scrolls sideways, and
    nothing serious for axe-core."""
    for size in WIDTHS.values():
        await page.set_viewport_size(size)
        await page.screenshot(path=screenshots / f"calling-day-{name}-{size['width']}.png",
                              full_page=True)
        scroll, client = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client, (f"{name} scrolls sideways at {size['width']} px, past its "
                                  f"edge: {await page.evaluate(STICKING_OUT)}")
        found = (await AXE.run(page)).response["violations"]
        serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                   for v in found if v["impact"] in ("serious", "critical") or v["id"] in ALWAYS]
        assert serious == [], f"axe-core on {name} at {size['width']} px: {serious}"
    await page.set_viewport_size(WIDTHS["desk"])


async def opened(browser: Browser, web_url: str, blocked: list[str]) -> Page:
    """A fresh browser (no cookies) that speaks Dutch; what our own security policy blocks is
    collected in `blocked`: a broken page."""
    context = await browser.new_context(base_url=web_url, locale="nl-NL")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    return page


async def api(web_url: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=web_url, timeout=10, headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}"}) as web:
        answer = await web.request(method, path, json=body)
    assert answer.status_code in (200, 201, 202), answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_a_calling_day_fits_a_phone_and_a_desk_and_axe_finds_nothing_serious(
    chromium: Browser, tmp_path: Path, screenshots: Path,
) -> None:
    blocked: list[str] = []
    async with kringloop_up(tmp_path) as stack:  # no mail server given: its own, and an outbox
        await stack.healthy()
        outbox = Outbox(tmp_path / "home" / "outbox")
        posted = await api(stack.web_url, "POST", "/api/responses", {
            "response_id": f"phone-{uuid.uuid4().hex[:10]}", "program": "customer", "score": 3,
            "comment": "De fiets werd een week te laat bezorgd, en niemand belde terug.",
            "respondent": {**ANNA, "phone": PHONE}})
        case = await case_when(stack.web_url, posted["case_id"], {"assigned"})
        case_id, team = case["case_id"], case["team"]
        key = Settings(home=tmp_path / "home").signing_key

        # A member's day: the case page (nothing chosen for them), one attempt, the queue.
        member = await opened(chromium, stack.web_url, blocked)
        await sign_in(member, outbox, case["assignee"]["email"])
        await member.goto(f"/cases/{case_id}")
        await expect(member.locator("#outcome")).to_have_value("")
        await look_at(member, "case", screenshots)
        await member.select_option("#outcome", "no_answer")
        await member.fill("#attempt-note", "Voicemail ingesproken.")
        await member.click("#log-attempt")
        await expect(member.locator('#timeline li[data-kind="callback_attempt"]')).to_have_count(1)
        await member.goto("/queue")
        row = member.locator(f'tr[data-case-id="{case_id}"]')
        await expect(row.locator(".attempts")).to_contain_text("1")
        await expect(row.locator("a.phone")).to_have_attribute("href", "tel:0612345678")
        await expect(row.locator(".next-step")).to_contain_text(
            re.compile("opnieuw proberen na|opnieuw bellen"))
        await look_at(member, "queue", screenshots)

        # The respondent's links: the re-survey, the booking page, one that does not open.
        respondent = await opened(chromium, stack.web_url, blocked)
        for name, link in (("resurvey", f"/r/{score_token(key, case_id=case_id, score=6)}"),
                           ("booking", f"/b/{booking_token(key, case_id=case_id)}"),
                           ("invalid-link", "/r/forged")):
            await respondent.goto(link)
            await expect(respondent.locator("h1")).to_be_visible()
            await look_at(respondent, name, screenshots)

        # The admin: the team, the reports, the outbox, a vacancy's scheduled rejection.
        vacancy = f"v-{uuid.uuid4().hex[:8]}"
        await api(stack.web_url, "POST", f"/api/vacancies/{vacancy}/rejections", {
            "vacancy_title": "Fietsenmaker", "items": [{
                "applicant": {"id": "a-1", "name": "Lisa Jansen", "email": "lisa@example.nl",
                              "language": "nl"}, "stage": "interview",
                "reasons": [{"code": "certification", "sentence": CERTIFICATE}]}]})
        admin = await opened(chromium, stack.web_url, blocked)
        await sign_in(admin, outbox, INGRID)
        for name, path in (("team-pick", "/team"), ("team-board", f"/teams/{team}"),
                           ("team-cases", f"/teams/{team}/cases"), ("reports", "/reports"),
                           ("outbox", "/outbox"), ("rejections", "/rejections"),
                           ("vacancy", f"/rejections/vacancy?vacancy_id={vacancy}")):
            await admin.goto(path)
            await expect(admin.locator("h1")).to_be_visible()
            await look_at(admin, name, screenshots)
        await admin.get_by_role("button", name="Deze e-mail annuleren").click()
        await expect(admin.locator("#confirm-cancel")).to_contain_text("Lisa Jansen")
        await look_at(admin, "vacancy-cancel-confirmation", screenshots)
        await admin.click("#keep-email")
        await expect(admin.locator("#confirm-cancel")).to_have_count(0)

        assert not blocked, f"the page's own security policy blocked parts of it: {blocked}"
        assert await stack.terminate() == 0, stack.output()
