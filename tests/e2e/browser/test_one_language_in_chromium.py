"""In a real browser against `kringloop up`: a Dutch member reads a case's whole timeline in
Dutch and on the team's clock, and a lead reads the root causes as words, on a desk's screen."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Page, expect

from kringloop.org.organisation import load_organisation
from kringloop.settings import DEFAULT_ORG_FILE
from tests.support.chromium import sign_in
from tests.support.mail import MailServer
from tests.support.stack import ADMIN_TOKEN, Stack, case_when, post_detractor

# What the timeline said in English, before it spoke the member's language; and the clock.
ENGLISH = ("UTC", " to ", "due within", "business hour", "working hour", "not yet made",
           "calls by", "callback", "acknowledgement", "assignment", "routing rules",
           "no_answer", "no answer", "reached", "detractor", "customer", " by ")


async def act(stack: Stack, case_id: str, action: str, body: dict[str, Any] | None = None
              ) -> None:
    async with httpx.AsyncClient(base_url=stack.web_url, timeout=10, headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}"}) as web:
        answer = await web.post(f"/api/cases/{case_id}/{action}", json=body or {})
    assert answer.status_code == 200, answer.text


async def test_a_dutch_member_reads_a_rich_timeline_in_dutch_on_the_teams_clock(
    stack: Stack, smtp: MailServer, page: Page,
) -> None:
    case_id, _ = await post_detractor(stack.web_url)
    case = await case_when(stack.web_url, case_id, {"assigned", "email_sent", "promised"})
    team = load_organisation(DEFAULT_ORG_FILE).team(case["team"])
    colleague = next(m for m in team.members if m.email != case["assignee"]["email"]
                     and m.role == "member" and m.language == "nl")
    await act(stack, case_id, "reassign", {"member": colleague.email})
    await act(stack, case_id, "pause", {"reason": "Gevraagd wanneer bellen past"})
    await case_when(stack.web_url, case_id, {"reassigned", "paused"})
    await act(stack, case_id, "resume")
    await act(stack, case_id, "callback-attempts", {"outcome": "no_answer",
                                                    "note": "Voicemail ingesproken"})
    await act(stack, case_id, "callback-attempts", {"outcome": "reached"})
    await case_when(stack.web_url, case_id, {"resumed", "callback_attempt"})

    await sign_in(page, smtp, colleague.email)
    await page.goto(f"/cases/{case_id}")
    timeline = page.locator("#timeline")
    await expect(timeline.locator('li[data-kind="callback_attempt"]')).to_have_count(2)

    for kind in ("opened", "routed", "assigned", "reassigned", "callback_scheduled",
                 "email_sent", "promised", "paused", "resumed", "callback_attempt"):
        await expect(timeline.locator(f'li[data-kind="{kind}"]').first).to_be_visible()
    await expect(timeline).to_contain_text("criticus, score 3 (klant)")
    await expect(timeline).to_contain_text("ontvangstbevestiging aan Anna de Vries")
    await expect(timeline).to_contain_text(re.compile(r"belt uiterlijk \w\w \d+ \w+ \d\d:\d\d"))
    await expect(timeline).to_contain_text(f"naar {colleague.name} (was ")
    await expect(timeline).to_contain_text(re.compile(r"na [\d,]+ werkuren?"))
    await expect(timeline).to_contain_text("geen gehoor: Voicemail ingesproken")
    await expect(timeline).to_contain_text("Gevraagd wanneer bellen past")
    said = await timeline.inner_text()
    assert [word for word in ENGLISH if word in said] == [], said


async def test_a_lead_reads_the_root_causes_as_words_and_the_table_fits_the_screen(
    stack: Stack, smtp: MailServer, page: Page,
) -> None:
    causes = ["rude-or-unhelpful-staff", "webshop-checkout", "repair-turnaround",
              "stock-availability", "delivery-damaged"]
    team_id = ""
    for cause in causes:
        case_id, _ = await post_detractor(stack.web_url)
        team_id = (await case_when(stack.web_url, case_id, {"assigned"}))["team"]
        await act(stack, case_id, "resolve", {
            "root_cause": cause, "action_taken": "Opgelost met de klant",
            "message": "Dank je wel voor je eerlijke antwoord."})
    team = load_organisation(DEFAULT_ORG_FILE).team(team_id)

    await sign_in(page, smtp, team.lead.email)
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto("/reports?program=customer&group_by=team")
    loop = page.locator("#loop")
    await expect(loop.locator(".root-causes li")).to_have_count(len(causes))
    await expect(loop).to_contain_text("onvriendelijk of onbehulpzaam personeel (1)")
    await expect(loop).to_contain_text("online bestellen of betalen (1)")
    assert "rude-or-unhelpful-staff" not in await loop.inner_text()
    # Everything of the table in view at a desk's width: nothing hidden behind a sideways scroll.
    region = loop.locator('[role="region"]')
    widths = await region.evaluate("r => [r.scrollWidth, r.clientWidth]")
    assert widths[0] <= widths[1], widths
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
    # The headline and the trend say whose answers they are: the lead's own team's.
    await expect(page.locator("#nps-scope")).to_have_text(f"Jouw team: {team.name}")
