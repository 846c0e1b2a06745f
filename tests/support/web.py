"""The web app as its callers meet it: a person's browser on the workspace pages (signed in the
way a member does it, by the emailed link), an API client without Temporal, and what a refusal
must look like (a clear 4xx naming the field, and not one row written)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, update

from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.security.credentials import create_magic_link
from kringloop.security.models import MagicLink
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.web.app import create_app
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.mail import body_of

JSON = {"content-type": "application/json"}
# How many rows each table holds now (the `rows` fixture of tests/hostile).
RowCounts = Callable[[], dict[str, int]]


class Browser:
    """One person's browser on the workspace pages: keeps its cookies, fills in forms."""

    def __init__(self, app: Any, *, language: str | None = None) -> None:
        headers = {"Accept-Language": language} if language else {}
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                        base_url="http://kringloop.test", headers=headers)

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(path, params=params or None)

    async def submit(self, page: str, action: str, fields: dict[str, str]) -> httpx.Response:
        """Open `page` and post one of its forms, with the CSRF token the page carries."""
        return await self.client.post(action, data={**fields, "csrf_token": await self.token(page)})

    async def follow_sign_in_link(self, link: str) -> httpx.Response:
        """Open an emailed sign-in link and press the button on its page, as a member does;
        a used, expired or forged link is refused on opening, with no button to press."""
        opened = await self.get(link)
        if opened.status_code != 200:
            return opened
        return await self.submit(link, link, {})

    async def token(self, page: str) -> str:
        html = (await self.get(page)).text
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert found, f"no form on {page}"
        return found.group(1)


def browser(live: Kringloop, **kwargs: Any) -> Browser:
    """A browser on its own instance of the web app, sharing the live services."""
    return Browser(create_app(Services(settings=live.settings, org=live.org, engine=live.engine,
                                       temporal=live.env.client)), **kwargs)


async def sign_in_link(live: Kringloop, email: str, *, known: int = 0) -> str:
    """The path of the newest sign-in link mailed to `email` (after `known` earlier ones)."""
    for _ in range(200):
        mails = live.smtp.to(email, "sign_in")
        if len(mails) > known:
            found = re.search(r"http://kringloop\.test(/login/magic/\S+)", body_of(mails[-1]))
            assert found, body_of(mails[-1])
            return found.group(1)
        await asyncio.sleep(0.02)
    raise AssertionError(f"no sign-in link reached {email}")


async def signed_in(live: Kringloop, email: str) -> Browser:
    """A browser signed in as `email` the way a member does it: by the emailed link."""
    person = browser(live)
    known = len(live.smtp.to(email, "sign_in"))
    await person.submit("/login", "/login/link", {"email": email})
    answer = await person.follow_sign_in_link(await sign_in_link(live, email, known=known))
    assert (answer.status_code, answer.headers["location"]) == (303, "/queue")
    return person


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


def web_client(settings: Settings, org: Organisation, engine: Engine) -> httpx.AsyncClient:
    # No Temporal: every path these tests take is refused (or stores a promoter) without it.
    app = create_app(Services(settings=settings, org=org, engine=engine, temporal=None))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://kringloop.test")


def json_bytes(body: Any) -> bytes:
    """A body as JSON with every non-ASCII character escaped, so lone surrogates get through."""
    return json.dumps(body, ensure_ascii=True).encode()


async def post_json(client: httpx.AsyncClient, path: str, body: Any, **headers: str
                    ) -> httpx.Response:
    """POST `body` as JSON with non-ASCII escaped (lone surrogates survive), as the admin."""
    return await client.post(path, content=json_bytes(body),
                             headers={**JSON, **ADMIN, **headers})


def refusal_of(answer: httpx.Response) -> dict[str, Any]:
    """The JSON refusal (message, and the field or null), after checking it is a clear 4xx."""
    assert 400 <= answer.status_code < 500, f"{answer.status_code}: {answer.text[:300]}"
    assert answer.headers["content-type"].startswith("application/json"), answer.text[:300]
    refusal = answer.json()
    assert isinstance(refusal.get("message"), str) and refusal["message"], refusal
    assert "field" in refusal, refusal
    return refusal  # type: ignore[no-any-return]
