"""A member in a real browser (Chromium, driven by Playwright) on `kringloop up`: the emails the
test's SMTP server receives, and signing in by the link from the sign-in email."""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage

from playwright.async_api import Page, expect

from tests.support.mail import MailServer, body_of

MAGIC_LINK = re.compile(r"https?://\S+/login/magic/[A-Za-z0-9_-]+")


async def mail_to(smtp: MailServer, address: str, kind: str, *, after: int = 0,
                  timeout: float = 10) -> EmailMessage:
    """The email of this kind to this address that follows the first `after` ones, once the
    SMTP server has it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found := smtp.to(address, kind)) <= after:
        assert asyncio.get_running_loop().time() < deadline, f"no {kind} email to {address}"
        await asyncio.sleep(0.05)
    return found[after]


async def sign_in(page: Page, smtp: MailServer, email: str) -> None:
    """By the one-time link from the email, as a member does it: open it, press its button."""
    known = len(smtp.to(email, "sign_in"))
    await page.goto("/login")
    await page.fill("#email", email)
    await page.click("#send-link")
    sign_in_mail = body_of(await mail_to(smtp, email, "sign_in", after=known))
    link = MAGIC_LINK.search(sign_in_mail)
    assert link, sign_in_mail
    await page.goto(link.group(0))
    await page.get_by_role("button", name="Inloggen").click()  # the browser speaks Dutch
    await expect(page).to_have_url(re.compile(r"/queue(\?.*)?$"))
