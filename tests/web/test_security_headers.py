"""Every answer tells the browser to keep our pages to themselves: not framed by another site,
not sniffed as another type, no referrer carrying a signed link to another site, no script."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine

from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.security.credentials import create_magic_link
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.web.app import create_app


def client(settings: Settings, org: Organisation, engine: Engine) -> httpx.AsyncClient:
    # No Temporal needed: these pages answer from the web app and the database alone.
    app = create_app(Services(settings=settings, org=org, engine=engine, temporal=None))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://kringloop.test")


@pytest.mark.parametrize("path", ["/login", "/login/magic/a-secret", "/r/forged-token",
                                  "/api/cases/nope", "/queue"])
async def test_pages_and_api_answers_forbid_framing_sniffing_referrers_and_scripts(
        settings: Settings, org: Organisation, engine: Engine, path: str) -> None:
    async with client(settings, org, engine) as web:
        answer = await web.get(path)
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in answer.headers  # plain http here


async def test_the_sign_in_link_page_may_post_its_button_and_is_never_cached(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    with session_for(engine) as session:
        secret = create_magic_link(session=session, email="bram@example.nl")
    async with client(settings, org, engine) as web:
        answer = await web.get(f"/login/magic/{secret}")
    assert answer.status_code == 200
    assert "form-action 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"  # the page holds the link's secret
    assert f'<form method="post" action="/login/magic/{secret}">' in answer.text
    assert "<script" not in answer.text


async def test_only_the_api_documentation_may_run_its_own_scripts(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    async with client(settings, org, engine) as web:
        docs = await web.get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy
    assert "frame-ancestors 'self'" in policy


async def test_behind_https_browsers_are_told_to_stay_on_https(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    settings = settings.model_copy(update={"public_url": "https://kringloop.test"})
    async with client(settings, org, engine) as web:
        answer = await web.get("/login")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
