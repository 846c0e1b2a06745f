"""A team member works a case in a real browser: from the sign-in email to the closing email."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.support.chromium import mail_to, sign_in
from tests.support.mail import MailServer, body_of
from tests.support.stack import ANNA, Stack, case_when, post_detractor


async def log_attempt(page: Page, outcome: str, note: str) -> None:
    await page.select_option("#outcome", outcome)
    await page.fill("#attempt-note", note)
    await page.click("#log-attempt")
    await expect(page.get_by_role("status").first).to_be_visible()


async def test_a_team_member_signs_in_by_email_and_works_a_case_to_the_closing_email(
    stack: Stack, smtp: MailServer, page: Page, screenshots: Path,
) -> None:
    case_id, _ = await post_detractor(stack.web_url)
    assignee = (await case_when(stack.web_url, case_id, {"assigned"}))["assignee"]

    # Sign in with the one-time link from the email.
    await sign_in(page, smtp, assignee["email"])

    # The new case is in my queue; open it.
    row = page.locator(f'tr[data-case-id="{case_id}"]')
    await expect(row).to_be_visible()
    await row.locator(f'a[href="/cases/{case_id}"]').click()
    await expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))
    await expect(page.locator("#case-status")).to_be_visible()
    # On a phone the page reflows: a long address wraps, nothing scrolls sideways.
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.set_viewport_size({"width": 1280, "height": 900})
    attempts = page.locator('#timeline li[data-kind="callback_attempt"]')
    await expect(attempts).to_have_count(0)

    # Not reached the first time, logged with the keyboard alone; reached the second.
    await page.focus("#outcome")
    await page.keyboard.type("geen")  # a select picks the option its typed letters begin
    await page.keyboard.press("Tab")
    await expect(page.locator("#attempt-note")).to_be_focused()
    await page.keyboard.type("Voicemail ingesproken, morgen opnieuw.")
    await page.keyboard.press("Tab")
    await expect(page.locator("#log-attempt")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(attempts).to_have_count(1)
    await expect(attempts.first).to_contain_text("geen gehoor: Voicemail ingesproken")
    await log_attempt(page, "reached", "Anna gesproken: fiets kwam een week te laat.")
    await expect(attempts).to_have_count(2)
    await expect(attempts.nth(1)).to_contain_text("bereikt: Anna gesproken")

    # Resolve, and tell Anna what was done.
    await page.select_option("#root-cause", "delivery-late")
    await page.fill("#action-taken", "Bezorgkosten terugbetaald en de planning met de "
                                     "vervoerder aangescherpt.")
    await page.fill("#message", "Sorry voor het wachten, Anna. Je volgende bezorging "
                                "plannen we persoonlijk in.")
    # The preview is posted: what Bram typed for Anna stays out of the address and history.
    await page.click("#preview-closing")
    await expect(page.locator("#closing-preview")).to_contain_text("Bezorgkosten terugbetaald")
    assert "Bezorgkosten" not in page.url and "Sorry" not in page.url, page.url
    await expect(page.locator("#message")).to_have_value(re.compile("^Sorry voor het wachten"))
    await page.click("#resolve")
    await expect(page.get_by_role("status").first).to_be_visible()
    await expect(page.locator("#case-status")).to_contain_text(
        re.compile("resolved|opgelost", re.IGNORECASE))
    await expect(page.locator('#timeline li[data-kind="resolution"]')).to_have_count(1)
    await page.screenshot(path=screenshots / "case-page-resolved.png", full_page=True)

    closing = body_of(await mail_to(smtp, ANNA["email"], "closing"))
    assert "Bezorgkosten terugbetaald" in closing
    assert "Je volgende bezorging plannen we persoonlijk in." in closing
    assert assignee["name"] in closing


async def test_the_api_is_documented_at_docs_without_any_cdn(stack: Stack, page: Page) -> None:
    await page.goto("/docs")
    # Swagger UI renders the operations from /openapi.json: its scripts are served by us.
    await expect(page.get_by_text("/api/responses").first).to_be_visible()
    await expect(page.get_by_text("/api/queue").first).to_be_visible()
