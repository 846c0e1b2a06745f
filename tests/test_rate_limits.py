"""A flood is slowed down, not served: a survey tool gone wild gets 429 with Retry-After on
intake, and nobody can hammer a member's inbox with sign-in links or guess their password."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from kringloop.database import session_for
from kringloop.models import SurveyResponse
from kringloop.org import Organisation
from kringloop.settings import Settings, SettingsError, load_settings
from kringloop.web.app import create_app
from kringloop.web.deps import Services
from tests.conftest import ADMIN

BRAM = "bram.degroot@fietsenwinkel.example"


def web(settings: Settings, org: Organisation, engine: Engine) -> httpx.AsyncClient:
    # Promoters open no case, so these answers need no Temporal.
    app = create_app(Services(settings=settings, org=org, engine=engine, temporal=None))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
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


@pytest.mark.parametrize("rate", ["lots", "5/fortnight", ""])
def test_a_rate_that_cannot_be_read_is_refused_at_start_up(rate: str) -> None:
    with pytest.raises(SettingsError, match="KRINGLOOP_RATE_LIMIT_INTAKE"):
        load_settings(rate_limit_intake=rate)
