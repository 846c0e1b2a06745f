"""The links we hand out are signed, and a link that is forged, tampered with, made for another
purpose, expired or already used opens nothing: the score links (/r/, /c/: their page, and the
answer posted from it), the feedback-call link (/f/), an employee's conversation (/e/) and the
sign-in links (/login/magic/, whose page signs in only when its button is pressed). Each gets a
clear 4xx page, and nothing is written."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest
from cryptography.fernet import Fernet
from hypothesis import assume, given
from hypothesis import strategies as st
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Engine

from kringloop.org.organisation import Organisation
from kringloop.security.signed_links import (
    CONVERSATION_LINK_MAX_AGE_S,
    SCORE_LINK_MAX_AGE_S,
    conversation_token,
    feedback_call_token,
    score_token,
    survey_token,
)
from kringloop.settings import Settings
from tests.hostile.strategies import hostile_text
from tests.support.people import BRAM
from tests.support.web import RowCounts, magic_link, press_sign_in, web_client

KEY = "test-signing-key"  # the `settings` fixture's secret_key

# What each kind of link is made with, for an id that does not exist.
MAKERS: dict[str, Callable[[], str]] = {
    "/r/": lambda: score_token(KEY, case_id="case-nobody", score=3),
    "/c/": lambda: survey_token(KEY, rejection_id="rej-nobody", score=3),
    "/f/": lambda: feedback_call_token(KEY, rejection_id="rej-nobody"),
    "/e/": lambda: conversation_token(KEY, case_id="case-nobody"),
}
# The same links as we made them before tokens were sealed (signed only): still in inboxes.
OLD_MAKERS: dict[str, Callable[[], str]] = {
    "/r/": lambda: URLSafeTimedSerializer(KEY, salt="kringloop-resurvey-score").dumps(
        {"c": "case-nobody", "s": 3}),
    "/c/": lambda: URLSafeTimedSerializer(KEY, salt="kringloop-candidate-survey").dumps(
        {"r": "rej-nobody", "s": 3}),
    "/f/": lambda: URLSafeTimedSerializer(KEY, salt="kringloop-feedback-call").dumps(
        {"r": "rej-nobody"}),
    "/e/": lambda: URLSafeTimedSerializer(KEY, salt="kringloop-employee-conversation").dumps(
        {"c": "case-nobody"}),
}
MAX_AGE = {"/r/": SCORE_LINK_MAX_AGE_S, "/c/": SCORE_LINK_MAX_AGE_S, "/f/": SCORE_LINK_MAX_AGE_S,
           "/e/": CONVERSATION_LINK_MAX_AGE_S}
# Every way into a signed link: reading it, and the forms behind the scores, the feedback call,
# the conversation and the sign-in link (a page alone opens nothing: its button does).
OPENINGS = [("GET", "/r/"), ("POST", "/r/"), ("GET", "/c/"), ("POST", "/c/"), ("GET", "/f/"),
            ("POST", "/f/"), ("GET", "/e/"), ("POST", "/e/"), ("GET", "/login/magic/"),
            ("POST", "/login/magic/")]


def link_token() -> st.SearchStrategy[str]:
    """Anything that could stand in a link: hostile text, or something that looks signed."""
    signed_looking = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.",
                             min_size=1, max_size=120)
    # "/", "." and ".." make another address (the server decodes %2F), not another token.
    return st.one_of(hostile_text(), signed_looking).filter(
        lambda token: token.strip(".") != "" and "/" not in token)


async def opened(web: httpx.AsyncClient, method: str, prefix: str, token: str
                 ) -> httpx.Response:
    address = prefix + quote(token, safe="")
    if method == "POST":
        return await web.post(address, data={"phone": "06 12345678", "note": "Bel me",
                                             "text": "Hallo", "form_token": "x", "score": "3",
                                             "comment": "Hallo"})
    return await web.get(address)


async def refused(web: httpx.AsyncClient, rows: RowCounts, method: str, prefix: str,
                  token: str) -> httpx.Response:
    before = rows()
    answer = await opened(web, method, prefix, token)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert rows() == before, "a link that does not work must write nothing"
    return answer


def made_long_ago(prefix: str, age_s: int, *, old: bool = False) -> str:
    """A link as we made it `age_s` seconds ago (sealed as we make them now, or signed as we
    made them before: `old`)."""
    then = int(time.time()) - age_s
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Fernet, "encrypt", lambda self, data: self.encrypt_at_time(data, then))
        patch.setattr(TimestampSigner, "get_timestamp", lambda _: then)
        return (OLD_MAKERS if old else MAKERS)[prefix]()


@given(opening=st.sampled_from(OPENINGS), token=link_token())
async def test_a_forged_link_opens_nothing(web: httpx.AsyncClient, rows: RowCounts,
                                          opening: tuple[str, str], token: str) -> None:
    answer = await refused(web, rows, *opening, token)

    if answer.headers["content-type"].startswith("text/html"):
        assert "<script>" not in answer.text


@given(opening=st.sampled_from([o for o in OPENINGS if o[1] in MAKERS]), old=st.booleans(),
       data=st.data())
async def test_a_tampered_link_opens_nothing(web: httpx.AsyncClient, rows: RowCounts,
                                            opening: tuple[str, str], old: bool,
                                            data: st.DataObject) -> None:
    token = (OLD_MAKERS if old else MAKERS)[opening[1]]()
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("AaZz09-_."))
    tampered = token[:position] + replacement + token[position + 1:]
    assume(tampered != token)

    await refused(web, rows, *opening, tampered)


@given(made_for=st.sampled_from(list(MAKERS)),
       opening=st.sampled_from([o for o in OPENINGS if o[1] in MAKERS]), old=st.booleans())
async def test_a_link_made_for_one_purpose_opens_nothing_elsewhere(
        web: httpx.AsyncClient, rows: RowCounts, made_for: str, opening: tuple[str, str],
        old: bool) -> None:
    assume(made_for != opening[1])

    answer = await refused(web, rows, *opening, (OLD_MAKERS if old else MAKERS)[made_for]())

    assert answer.status_code in (400, 404)


@pytest.mark.parametrize("old", [False, True], ids=["sealed", "signed before"])
@pytest.mark.parametrize("opening", [o for o in OPENINGS if o[1] in MAKERS])
async def test_an_expired_link_says_so_and_opens_nothing(
        web: httpx.AsyncClient, rows: RowCounts, opening: tuple[str, str], old: bool) -> None:
    prefix = opening[1]

    answer = await refused(web, rows, *opening,
                           made_long_ago(prefix, MAX_AGE[prefix] + 60, old=old))

    if prefix == "/e/":  # nobody learns whether a conversation ever existed
        assert answer.status_code == 404
    else:
        assert answer.status_code == 400 and "this link has expired" in answer.text


@pytest.mark.parametrize("opening", OPENINGS)
async def test_a_nul_in_a_link_is_refused_at_the_door(
        web: httpx.AsyncClient, rows: RowCounts, opening: tuple[str, str]) -> None:
    answer = await refused(web, rows, *opening, "abc\x00def")

    assert answer.status_code == 404


# --- sign-in links --------------------------------------------------------------------------

async def signs_in(settings: Settings, org: Organisation, engine: Engine, link: str) -> bool:
    """Follow `link` in a fresh browser and press its button: does it end up signed in?"""
    async with web_client(settings, org, engine) as browser:
        answer = await press_sign_in(browser, link)
        queue = await browser.get("/queue")
    assert answer.status_code in (303, 400), answer.text[:200]
    return answer.status_code == 303 and queue.status_code == 200


async def test_a_sign_in_link_works_once_and_a_replay_is_refused(
        hostile_settings: Settings, org: Organisation, engine: Engine) -> None:
    link = magic_link(engine, BRAM)

    assert await signs_in(hostile_settings, org, engine, link)
    assert not await signs_in(hostile_settings, org, engine, link)


async def test_an_expired_sign_in_link_is_refused(
        hostile_settings: Settings, org: Organisation, engine: Engine) -> None:
    assert not await signs_in(hostile_settings, org, engine, magic_link(engine, BRAM,
                                                                        expired=True))


async def test_a_sign_in_link_for_someone_no_longer_in_the_organisation_is_refused(
        hostile_settings: Settings, org: Organisation, engine: Engine) -> None:
    link = magic_link(engine, "vertrokken@fietsenwinkel.example")

    assert not await signs_in(hostile_settings, org, engine, link)


@given(secret=link_token())
async def test_a_guessed_sign_in_link_signs_nobody_in(
        hostile_settings: Settings, org: Organisation, engine: Engine, rows: RowCounts,
        secret: str) -> None:
    magic_link(engine, BRAM)  # a real link exists, unguessed
    before = rows()

    async with web_client(hostile_settings, org, engine) as browser:
        answer = await press_sign_in(browser, f"/login/magic/{quote(secret, safe='')}")
        queue = await browser.get("/queue")

    assert 400 <= answer.status_code < 500
    assert queue.status_code == 303 and queue.headers["location"].startswith("/login")
    assert rows() == before
