"""In a real browser against `kringloop up`: a member falls ill; their lead marks them absent and
hands all their open cases to a colleague from the team's list, on a desk and on a phone."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, expect

from kringloop.org.organisation import load_organisation
from kringloop.settings import DEFAULT_ORG_FILE
from tests.support.chromium import sign_in
from tests.support.mail import MailServer
from tests.support.stack import ADMIN_TOKEN, Stack, case_when, post_detractor


async def assignee_of(stack: Stack, case_id: str) -> str:
    async with httpx.AsyncClient(base_url=stack.web_url, timeout=5, headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}"}) as web:
        case = (await web.get(f"/api/cases/{case_id}")).json()
    return str(case["assignee"]["email"])


async def no_sideways_scroll(page: Page) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_a_lead_marks_an_ill_member_absent_and_hands_over_all_their_cases(
    stack: Stack, smtp: MailServer, page: Page,
) -> None:
    posted = [(await post_detractor(stack.web_url))[0] for _ in range(3)]
    cases = [await case_when(stack.web_url, case_id, {"assigned"}) for case_id in posted]
    ill = cases[0]["assignee"]
    theirs = [c["case_id"] for c in cases if c["assignee"]["email"] == ill["email"]]
    team = load_organisation(DEFAULT_ORG_FILE).team(cases[0]["team"])
    colleague = next(m for m in team.members if m.email != ill["email"] and m.role != "lead")
    today = datetime.now(ZoneInfo(team.time_zone)).date()

    await sign_in(page, smtp, team.lead.email)
    await page.goto(f"/teams/{team.id}")
    # First click: the ill member's name on the board opens the list of their cases.
    await page.locator("#workload").get_by_role("link", name=ill["name"]).click()
    await expect(page).to_have_url(re.compile(rf"/teams/{team.id}/cases\?assignee="))
    for case_id in theirs:
        await expect(page.locator(f'tr[data-case-id="{case_id}"]')).to_be_visible()
    await no_sideways_scroll(page)

    # Absent for today: nothing of theirs is due before tomorrow, so nothing moves yet.
    await expect(page.locator("#absent-member")).to_have_value(ill["email"])
    await page.fill("#absent-until", today.isoformat())
    await page.click("#mark-absent")
    await expect(page.locator("#team-outcome")).to_contain_text("afwezig tot en met")
    await expect(page.locator("#absent-now")).to_contain_text(ill["name"])

    # Second click: every open case of theirs to the colleague chosen (none is preselected).
    await expect(page.locator("#from-member")).to_have_value(ill["email"])
    await expect(page.locator("#to-member")).to_have_value("")
    await page.select_option("#to-member", colleague.email)
    await page.click("#reassign-all-button")
    outcome = page.locator("#team-outcome")
    await expect(outcome).to_contain_text(
        f"{len(theirs)} case" + (" overgedragen aan een collega" if len(theirs) == 1
                                 else "s overgedragen aan collega's"))
    await expect(page.locator("tr[data-case-id]")).to_have_count(0)
    for case_id in theirs:
        for _ in range(100):
            if await assignee_of(stack, case_id) == colleague.email:
                break
            await asyncio.sleep(0.05)
        assert await assignee_of(stack, case_id) == colleague.email

    # The whole team's list, and the board saying who is away, fit a phone.
    await page.goto(f"/teams/{team.id}/cases")
    await expect(page.locator("tr[data-case-id]")).to_have_count(len(cases))
    await no_sideways_scroll(page)
    await page.goto(f"/teams/{team.id}")
    await expect(page.locator("#workload")).to_contain_text("afwezig tot en met")
    await no_sideways_scroll(page)
