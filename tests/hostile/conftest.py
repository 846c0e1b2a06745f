"""The hostile-input suite's shared parts: reproducible hypothesis profiles, the web app without
Temporal (a refusal must never need it), and the database's row counts, so that a refused
request can be shown to have written nothing at all."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, func, select, update
from sqlmodel import SQLModel

from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.security.credentials import create_magic_link
from kringloop.security.models import MagicLink
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.web.app import create_app
from tests.conftest import ADMIN
from tests.hostile.strategies import json_bytes

# Derandomized by default: every run (CI, a colleague's machine) tries the same examples, and
# no example database is written into the working tree. HYPOTHESIS_PROFILE=hostile-explore
# looks further, with fresh random examples (500 a test) each run.
hypothesis_settings.register_profile(
    "hostile", max_examples=100, deadline=None, derandomize=True, database=None,
    print_blob=True,
    # The fixtures (one database, one app) are shared by a test's examples on purpose: each
    # example compares row counts before and after, so it needs no fresh database.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
hypothesis_settings.register_profile(
    "hostile-explore", parent=hypothesis_settings.get_profile("hostile"), max_examples=500,
    derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "hostile"))

JSON = {"content-type": "application/json"}


@pytest.fixture
def hostile_settings(settings: Settings) -> Settings:
    """The test settings, with rate limits no property run comes near."""
    return settings.model_copy(update={"rate_limit_intake": "100000/second",
                                       "rate_limit_sign_in": "100000/second"})


def web_client(settings: Settings, org: Organisation, engine: Engine) -> httpx.AsyncClient:
    # No Temporal: every path these tests take is refused (or stores a promoter) without it.
    app = create_app(Services(settings=settings, org=org, engine=engine, temporal=None))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://kringloop.test")


@pytest.fixture
async def web(hostile_settings: Settings, org: Organisation, engine: Engine
              ) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(hostile_settings, org, engine) as client:
        yield client


RowCounts = Callable[[], dict[str, int]]


@pytest.fixture
def rows(engine: Engine) -> RowCounts:
    """How many rows each table holds now."""

    def count() -> dict[str, int]:
        with session_for(engine) as session:
            return {table.name: session.execute(select(func.count()).select_from(table))
                    .scalar_one() for table in SQLModel.metadata.sorted_tables}

    return count


def refusal_of(answer: httpx.Response) -> dict[str, Any]:
    """The JSON refusal (message, and the field or null), after checking it is a clear 4xx."""
    assert 400 <= answer.status_code < 500, f"{answer.status_code}: {answer.text[:300]}"
    assert answer.headers["content-type"].startswith("application/json"), answer.text[:300]
    refusal = answer.json()
    assert isinstance(refusal.get("message"), str) and refusal["message"], refusal
    assert "field" in refusal, refusal
    return refusal  # type: ignore[no-any-return]


async def post_json(client: httpx.AsyncClient, path: str, body: Any, **headers: str
                    ) -> httpx.Response:
    """POST `body` as JSON with non-ASCII escaped (lone surrogates survive), as the admin."""
    return await client.post(path, content=json_bytes(body),
                             headers={**JSON, **ADMIN, **headers})


def magic_link(engine: Engine, email: str, *, expired: bool = False) -> str:
    """A sign-in link for `email`, as its email would carry it (already expired if asked)."""
    with session_for(engine) as session:
        secret = create_magic_link(session=session, email=email)
        if expired:
            session.exec(update(MagicLink).values(  # type: ignore[call-overload]
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            session.commit()
    return f"/login/magic/{secret}"


async def press_sign_in(browser: httpx.AsyncClient, link: str) -> httpx.Response:
    """Open a sign-in link and press the button on its page (opening alone signs nobody in);
    a link refused at the door (a NUL in it) has no page, and that refusal is the answer."""
    page = await browser.get(link)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        return page
    return await browser.post(link, data={"csrf_token": token.group(1)})


class _Tags(HTMLParser):
    """The elements and attributes a browser would build from a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_inert(html: str, *, texts: tuple[str, ...] = ()) -> None:
    """Nothing in `html` runs: no script, frame or svg element, no event handler, no
    javascript: link; and none of `texts` (hostile text we sent) appears unescaped."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag not in ("script", "iframe", "svg", "object", "embed"), f"<{tag}> in the page"
        for name, value in attrs:
            assert not name.startswith("on"), f"<{tag} {name}=...> in the page"
            assert not (value or "").strip().lower().startswith("javascript:"), value
    for text in texts:
        assert text not in html, f"{text!r} unescaped"
