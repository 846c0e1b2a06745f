"""The links we hand out are signed, and a link that is forged, tampered with, made for another
purpose, expired or already used opens nothing: the score links (/r/, /c/: their page, and the
answer posted from it), the feedback-call link (/f/), an employee's conversation (/e/), the
link to book a callback (/b/: its page, and the time posted from it) and the sign-in links
(/login/magic/, whose page signs in only when its button is pressed). Each gets a clear 4xx
page, and nothing is written; a time to book that is not one offered is refused by name."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
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
    BOOKING_LINK_MAX_AGE_S,
    CONVERSATION_LINK_MAX_AGE_S,
    SCORE_LINK_MAX_AGE_S,
    booking_token,
    conversation_token,
    feedback_call_token,
    score_token,
    survey_token,
)
from kringloop.settings import Settings
from tests.hostile.strategies import MARKUP, hostile_text
from tests.support.people import BRAM
from tests.support.web import RowCounts, magic_link, press_sign_in, web_client

KEY = "test-signing-key"  # the `settings` fixture's secret_key

# What each kind of link is made with, for an id that does not exist.
MAKERS: dict[str, Callable[[], str]] = {
    "/r/": lambda: score_token(KEY, case_id="case-nobody", score=3),
    "/c/": lambda: survey_token(KEY, rejection_id="rej-nobody", score=3),
    "/f/": lambda: feedback_call_token(KEY, rejection_id="rej-nobody"),
    "/e/": lambda: conversation_token(KEY, case_id="case-nobody"),
    "/b/": lambda: booking_token(KEY, case_id="case-nobody"),
}
# The same links as we made them before tokens were sealed (signed only): still in inboxes.
# (Booking links came later: they were always sealed.)
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
           "/e/": CONVERSATION_LINK_MAX_AGE_S, "/b/": BOOKING_LINK_MAX_AGE_S}
# Every way into a signed link: reading it, and the forms behind the scores, the feedback call,
# the conversation, the booking and the sign-in link (a page alone opens nothing: its button does).
OPENINGS = [("GET", "/r/"), ("POST", "/r/"), ("GET", "/c/"), ("POST", "/c/"), ("GET", "/f/"),
            ("POST", "/f/"), ("GET", "/e/"), ("POST", "/e/"), ("GET", "/b/"), ("POST", "/b/"),
            ("GET", "/login/magic/"), ("POST", "/login/magic/")]
# Each signed link as we make it now, and as we made it before tokens were sealed.
MADE = [(o, old) for o in OPENINGS if o[1] in MAKERS for old in (False, True)
        if not old or o[1] in OLD_MAKERS]


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
                                             "comment": "Hallo", "slot": "2026-12-08T09:00Z"})
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


@given(made=st.sampled_from(MADE), data=st.data())
async def test_a_tampered_link_opens_nothing(web: httpx.AsyncClient, rows: RowCounts,
                                            made: tuple[tuple[str, str], bool],
                                            data: st.DataObject) -> None:
    opening, old = made
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
    assume(made_for != opening[1] and made_for in (OLD_MAKERS if old else MAKERS))

    answer = await refused(web, rows, *opening, (OLD_MAKERS if old else MAKERS)[made_for]())

    assert answer.status_code in (400, 404)


@pytest.mark.parametrize(("opening", "old"), MADE, ids=[
    f"{method} {prefix} {'signed before' if old else 'sealed'}" for (method, prefix), old in MADE])
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


# --- the booking link: a case that is there, and what is posted as its time --------------------

def slot_values() -> st.SearchStrategy[str]:
    """What a form could post as the time to book: text and markup, times that are no ISO
    time, and ISO times never offered (long past, far ahead, or not spelled as a slot is)."""
    past = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(2000, 1, 1))
    ahead = st.datetimes(min_value=datetime(2100, 1, 1), max_value=datetime(9999, 12, 31))
    spelled_otherwise = st.datetimes(min_value=datetime(2000, 1, 1),
                                     max_value=datetime(2100, 1, 1))
    return st.one_of(
        hostile_text(), st.sampled_from(MARKUP),
        st.one_of(past, ahead).map(lambda moment: moment.strftime("%Y-%m-%dT%H:%MZ")),
        spelled_otherwise.map(lambda moment: moment.isoformat()),
        st.sampled_from(["", "tomorrow", "2026-13-45T25:61Z", "9999-12-31T23:30Z",
                         "2026-12-08T09:00:00+01:00", "1e308", "-1"]))


@given(slot=slot_values())
async def test_a_time_that_is_not_offered_is_refused_by_name_and_books_nothing(
        web: httpx.AsyncClient, rows: RowCounts, hostile_settings: Settings, assigned_case: str,
        slot: str) -> None:
    link = f"/b/{booking_token(hostile_settings.signing_key, case_id=assigned_case)}"
    before = rows()

    answer = await web.post(link, data={"slot": slot})

    assert answer.status_code == 422, (answer.status_code, answer.text[:300])
    assert rows() == before
    if answer.headers["content-type"].startswith("application/json"):
        assert answer.json()["field"] == "slot"  # a NUL, refused as the form is read
    else:
        assert 'data-field="slot"' in answer.text
        for markup in MARKUP:
            assert markup not in answer.text


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_score_link_books_nothing_and_a_booking_link_scores_nothing(
        web: httpx.AsyncClient, rows: RowCounts, hostile_settings: Settings, assigned_case: str,
        method: str) -> None:
    key = hostile_settings.signing_key
    swapped = {"/b/": score_token(key, case_id=assigned_case, score=3),
               "/r/": booking_token(key, case_id=assigned_case)}

    for prefix, token in swapped.items():
        answer = await refused(web, rows, method, prefix, token)

        assert answer.status_code == 400, prefix
        assert "this link is not valid" in answer.text


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
