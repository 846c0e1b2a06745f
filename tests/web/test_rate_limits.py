"""A flood is slowed down, not served: a survey tool gone wild gets 429 with Retry-After on
intake, and nobody can hammer a member's inbox with sign-in links or guess their password."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func
from sqlmodel import select

from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.responses.models import SurveyResponse
from kringloop.security.credentials import set_password
from kringloop.services import Services
from kringloop.settings import Settings, SettingsError, load_settings
from kringloop.web.app import create_app
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.people import BRAM


def web(settings: Settings, org: Organisation, engine: Engine, *,
        app: FastAPI | None = None, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client of the web app (or of `app`, shared with other clients) from `address`."""
    # Promoters open no case, so these answers need no Temporal.
    app = app or create_app(Services(settings=settings, org=org, engine=engine, temporal=None))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://kringloop.test")


def promoter(number: int) -> dict[str, object]:
    return {"response_id": f"flood-{number}", "program": "customer", "score": 10}


def stored(engine: Engine) -> int:
    with session_for(engine) as session:
        return session.exec(select(func.count()).select_from(SurveyResponse)).one()


async def test_a_survey_tool_past_its_rate_gets_429_and_nothing_is_stored(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    settings = settings.model_copy(update={"rate_limit_intake": "3/minute"})
    async with web(settings, org, engine) as api:
        answers = [await api.post("/api/responses", json=promoter(n), headers=ADMIN)
                   for n in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    refused = answers[3]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["message"].startswith("too many requests")
    assert stored(engine) == 3


async def test_one_flooding_sender_does_not_hold_up_another(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    settings = settings.model_copy(update={"rate_limit_intake": "2/minute",
                                           "intake_token": "survey-tool-a"})
    other = {"Authorization": "Bearer survey-tool-a"}
    async with web(settings, org, engine) as api:
        for n in range(3):
            await api.post("/api/responses", json=promoter(n), headers=ADMIN)
        answer = await api.post("/api/responses", json=promoter(10), headers=other)
    assert answer.status_code == 201


async def sign_in_form_token(client: httpx.AsyncClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/login")).text)
    assert found
    return found.group(1)


async def test_asking_for_sign_in_links_again_and_again_is_paused(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    settings = settings.model_copy(update={"rate_limit_sign_in": "3/minute"})
    async with web(settings, org, engine) as browser:
        token = await sign_in_form_token(browser)
        answers = [await browser.post("/login/link", data={"email": BRAM, "csrf_token": token},
                                      headers={"Accept-Language": "nl"}) for _ in range(4)]
        someone_else = await browser.post("/login/link", data={
            "email": "priya.nair@fietsenwinkel.example", "csrf_token": token})
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "Te veel pogingen" in answers[3].text and answers[3].headers["retry-after"]
    assert someone_else.status_code == 200


async def test_guessing_a_password_is_paused_after_a_few_tries(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    settings = settings.model_copy(update={"rate_limit_sign_in": "3/minute"})
    async with web(settings, org, engine) as browser:
        token = await sign_in_form_token(browser)
        answers = [await browser.post("/login/password", data={
            "email": BRAM, "password": f"guess-{n}", "csrf_token": token},
            headers={"Accept-Language": "en"}) for n in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert "Too many attempts" in answers[3].text


async def test_a_made_up_bearer_token_does_not_open_a_bucket_of_its_own(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    settings = settings.model_copy(update={"rate_limit_intake": "2/minute"})
    async with web(settings, org, engine) as api:
        answers = [await api.post("/api/responses", json=promoter(n),
                                  headers={"Authorization": f"Bearer made-up-{n}"})
                   for n in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 429, 429]
    assert stored(engine) == 2


async def test_forwarded_addresses_count_only_from_the_proxies_we_were_told_of(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    def from_(n: int) -> dict[str, str]:
        return {"X-Forwarded-For": f"203.0.113.{n}"}

    settings = settings.model_copy(update={"rate_limit_intake": "2/minute"})
    async with web(settings, org, engine, address="198.51.100.7") as stranger:
        spoofed = [await stranger.post("/api/responses", json=promoter(n), headers=from_(n))
                   for n in range(3)]
    behind_proxy = settings.model_copy(update={"forwarded_allow_ips": ("10.0.0.2",)})
    async with web(behind_proxy, org, engine, address="10.0.0.2") as proxy:
        relayed = [await proxy.post("/api/responses", json=promoter(10 + n), headers=from_(n))
                   for n in range(3)]
    assert [a.status_code for a in spoofed] == [201, 201, 429]
    assert [a.status_code for a in relayed] == [201, 201, 201], "three clients, one proxy"


async def test_a_stranger_asking_for_someones_sign_in_links_does_not_lock_them_out(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    settings = settings.model_copy(update={"rate_limit_sign_in": "3/minute"})
    with session_for(engine) as session:
        set_password(session=session, email=BRAM, password="fietsbel-rinkelt-2x")
    app = create_app(Services(settings=settings, org=org, engine=engine, temporal=None))  # type: ignore[arg-type]
    async with web(settings, org, engine, app=app, address="198.51.100.66") as stranger:
        token = await sign_in_form_token(stranger)
        flood = [await stranger.post("/login/link", data={"email": BRAM, "csrf_token": token})
                 for _ in range(6)]
        guesses = [await stranger.post("/login/password", data={
            "email": BRAM, "password": f"guess-{n}", "csrf_token": token}) for n in range(2)]
    async with web(settings, org, engine, app=app, address="192.0.2.10") as bram:
        token = await sign_in_form_token(bram)
        signed_in = await bram.post("/login/password", data={
            "email": BRAM, "password": "fietsbel-rinkelt-2x", "csrf_token": token})
    assert [a.status_code for a in flood] == [200, 200, 200, 429, 429, 429]
    assert [a.status_code for a in guesses] == [429, 429]
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/queue")


async def test_one_client_trying_many_peoples_passwords_is_paused(
        settings: Settings, org: Organisation, engine: Engine) -> None:
    settings = settings.model_copy(update={"rate_limit_sign_in_client": "4/minute"})
    people = [m.email for team in org.teams for m in team.members][:6]
    async with web(settings, org, engine, address="198.51.100.66") as guesser:
        token = await sign_in_form_token(guesser)
        answers = [await guesser.post("/login/password", data={
            "email": email, "password": "zomer2026zomer", "csrf_token": token})
            for email in people]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429, 429]


async def test_many_clients_together_cannot_fill_a_members_inbox_with_links(
        live: Kringloop) -> None:
    settings = live.settings.model_copy(update={"rate_limit_sign_in": "3/minute"})
    app = create_app(Services(settings=settings, org=live.org, engine=live.engine,
                              temporal=live.env.client))
    for n in range(5):
        async with web(settings, live.org, live.engine, app=app,
                       address=f"198.51.100.{n}") as client:
            token = await sign_in_form_token(client)
            answer = await client.post("/login/link", data={"email": BRAM, "csrf_token": token})
            assert answer.status_code == 200, "every client is told to look in the inbox"
    await asyncio.sleep(0.5)  # the links go out after the answer
    assert len(live.smtp.to(BRAM, "sign_in")) == 3


@pytest.mark.parametrize("rate", ["lots", "5/fortnight", ""])
def test_a_rate_that_cannot_be_read_is_refused_at_start_up(rate: str) -> None:
    with pytest.raises(SettingsError, match="KRINGLOOP_RATE_LIMIT_INTAKE"):
        load_settings(rate_limit_intake=rate)
