"""In a real browser against `kringloop up`: a lead reads the NPS trend and the loop health, and
an anonymous employee and the people team talk through the employee's private link."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser, Page, expect

from tests.support.chromium import sign_in
from tests.support.mail import MailServer
from tests.support.people import ESTHER, WENDY
from tests.support.stack import Stack, case_when


async def post(stack: Stack, body: dict[str, object]) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=stack.web_url, timeout=10) as web:
        answer = await web.post("/api/responses", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_a_lead_reads_the_nps_trend_and_the_loop_health_in_the_browser(
    stack: Stack, smtp: MailServer, page: Page,
) -> None:
    now = datetime.now(UTC)
    scores = [10, 9, 9, 7, 3, 10, 8, 2, 9, 10]  # three weeks of customer answers
    for n, score in enumerate(scores):
        await post(stack, {
            "response_id": f"trend-{uuid.uuid4().hex[:8]}", "program": "customer",
            "score": score, "answered_at": (now - timedelta(days=7 * (n % 3))).isoformat(),
            "respondent": {"name": f"Klant {n}", "email": f"klant{n}@example.nl",
                           "language": "nl"}})

    await sign_in(page, smtp, ESTHER)
    await page.goto("/reports?program=customer&group_by=team")
    await expect(page.locator("#nps-overall")).to_contain_text("NPS")
    chart = page.locator("svg#nps-trend")
    await expect(chart).to_be_visible()
    await expect(chart.locator("title").first).to_contain_text(re.compile("NPS"))
    health = page.locator("#loop table tbody tr")
    await expect(health.first).to_be_visible()
    await expect(page.locator("#loop table")).to_contain_text("Particulieren")
    await expect(page.locator("#nps-csv")).to_have_attribute("href", re.compile(r"nps\.csv"))


async def test_an_anonymous_employee_and_the_people_team_talk_through_the_private_link(
    stack: Stack, smtp: MailServer, page: Page, chromium: Browser,
) -> None:
    answer = await post(stack, {
        "response_id": f"enps-{uuid.uuid4().hex[:8]}", "program": "employee", "score": 2,
        "comment": "Niemand luistert naar ideeën van de werkvloer.",
        "respondent": {"segment": "werkplaats", "language": "nl"}})
    conversation_url, case_id = str(answer["conversation_url"]), str(answer["case_id"])
    await case_when(stack.web_url, case_id, {"assigned"})

    # The employee, with nothing but the link: no account, no cookie.
    await page.goto(conversation_url)
    await expect(page.locator("#no-messages")).to_be_visible()
    await page.fill("#text", "Ik wil graag vertellen wat er speelt, maar anoniem.")
    await page.click("#reply button[type=submit]")
    await expect(page.locator("#messages")).to_contain_text("maar anoniem")
    assert await page.context.cookies() == []

    # The people team's lead, in a browser of her own, reads it and answers.
    team = await chromium.new_context(base_url=stack.web_url, locale="nl-NL")
    try:
        wendy = await team.new_page()
        await sign_in(wendy, smtp, WENDY)
        await wendy.goto(f"/cases/{case_id}")
        await expect(wendy.locator('#timeline li[data-kind="relay_message"]')).to_contain_text(
            "maar anoniem")
        await wendy.fill("#relay-text", "Dank je. Zullen we donderdag je ideeën doornemen?")
        await wendy.click("#reply-to-employee")
        await expect(wendy.locator('#timeline li[data-kind="relay_reply"]')).to_have_count(1)
    finally:
        await team.close()

    # Back on the private link: the reply, under the lead's name.
    await page.reload()
    await expect(page.locator("#messages li.from-team")).to_contain_text("donderdag")
    await expect(page.locator("#messages li.from-team")).to_contain_text("Wendy van Leeuwen")
