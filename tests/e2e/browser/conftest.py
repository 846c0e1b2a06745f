"""Fixtures for the browser tests: Debian's Chromium, driven by Playwright, on `kringloop up`."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from kringloop.resources import CHECKOUT
from tests.support.mail import MailServer
from tests.support.stack import Stack, kringloop_up

# Debian's package (scripts/chromium installs it when missing): Playwright never downloads one.
CHROMIUM_SETUP = CHECKOUT / "scripts" / "chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """Debian's Chromium, installed first if missing; a browser that cannot be had fails the
    browser tests (never skips them)."""
    setup = subprocess.run([str(CHROMIUM_SETUP)], capture_output=True, text=True, check=False)
    if setup.returncode != 0:
        pytest.fail(f"no Chromium for the browser tests: {setup.stderr.strip()}", pytrace=False)
    return Path(setup.stdout.strip())


@pytest.fixture(scope="session")
async def chromium(chromium_executable: Path) -> AsyncIterator[Browser]:
    """Headless Chromium for the whole run; Playwright gives each launch a fresh temporary
    profile (user-data dir) and removes it afterwards."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium_executable),
                                                   args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def screenshots(request: pytest.FixtureRequest) -> Path:
    """test-output/screenshots/ at the project root, kept after the run (and ignored by git)."""
    folder = request.config.rootpath / "test-output" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_failed] = report.failed
    return report


@pytest.fixture
async def stack(tmp_path: Path, smtp: MailServer, request: pytest.FixtureRequest
                ) -> AsyncIterator[Stack]:
    """`kringloop up` in its own process, sending its email to the test's SMTP server; when
    the test fails, its output (a server error's traceback) is shown with the failure."""
    async with kringloop_up(tmp_path, KRINGLOOP_SMTP_HOST="127.0.0.1",
                            KRINGLOOP_SMTP_PORT=str(smtp.port)) as running:
        await running.healthy()
        yield running
        if request.node.stash.get(_failed, False):
            print(f"--- kringloop up output ---\n{running.output()}")
        assert await running.terminate() == 0, running.output()


@pytest.fixture
async def page(chromium: Browser, stack: Stack, screenshots: Path,
               request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) on the stack's web app; on a failure the last page
    is kept as a screenshot, to see what the browser saw."""
    context = await chromium.new_context(base_url=stack.web_url, locale="nl-NL")
    context.set_default_timeout(10_000)  # a missing element fails in seconds, not 30
    page = await context.new_page()
    blocked: list[str] = []  # what our own Content-Security-Policy stopped: a broken page
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    if request.node.stash.get(_failed, False):
        name = re.sub(r"[^\w.-]+", "-", request.node.name)
        await page.screenshot(path=screenshots / f"failed-{name}.png", full_page=True)
    await context.close()
    assert not blocked, f"the page's own security policy blocked parts of it: {blocked}"
