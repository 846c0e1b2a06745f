"""In a real browser against `kringloop up`: a respondent opens a score link from the re-survey
email and answers with the keyboard alone. Opening the link recorded nothing; the answer does."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from kringloop.security.signed_links import score_token
from kringloop.settings import Settings
from tests.support.stack import Stack, case_when, post_detractor


async def test_a_respondent_answers_a_score_link_with_the_keyboard(
    stack: Stack, page: Page, tmp_path: Path, screenshots: Path,
) -> None:
    case_id, _ = await post_detractor(stack.web_url)
    await case_when(stack.web_url, case_id, {"assigned"})
    # The key `kringloop up` signs with: generated under its home, as the email's links are.
    key = Settings(home=tmp_path / "home").signing_key

    await page.goto(f"/r/{score_token(key, case_id=case_id, score=3)}")
    await expect(page.get_by_role("radio", name="3", exact=True)).to_be_checked()

    # Tab lands on the chosen score; the arrow keys move along the scale.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("radio", name="3", exact=True)).to_be_focused()
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("radio", name="5", exact=True)).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label(re.compile("Wil je er iets bij vertellen"))).to_be_focused()
    await page.keyboard.type("Beter, maar nog niet goed.")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Verstuur mijn antwoord")).to_be_focused()
    await page.screenshot(path=screenshots / "score-page.png", full_page=True)
    await page.keyboard.press("Enter")

    await expect(page.locator(".score")).to_have_text("5")
    await expect(page.locator("#comment")).to_have_text("Beter, maar nog niet goed.")
    await expect(page.locator("h1")).to_have_text("Dank je wel!")
    await expect(page.locator("main")).to_contain_text("We hebben je nieuwe score genoteerd")
