"""The session cookie a member signs in with: out of scripts' reach, kept off cross-site posts,
signed so that nobody can write one, and gone when they sign out."""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import Callable
from http.cookies import Morsel, SimpleCookie

import httpx
import pytest
from itsdangerous import TimestampSigner

from kringloop.web.app import SESSION_LIFETIME_S, create_app
from kringloop.web.deps import Services
from tests.conftest import Kringloop
from tests.test_pages import BRAM, INGRID, Browser, browser, sign_in_link, signed_in

COOKIE = "kringloop_session"


def session_cookie(answer: httpx.Response) -> Morsel[str]:
    """The session cookie the answer sets, with its attributes."""
    [header] = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    return SimpleCookie(header)[COOKIE]


async def with_cookie(live: Kringloop, value: str) -> httpx.Response:
    """The queue, asked for by a browser that sends `value` as its session cookie."""
    return await browser(live).client.get("/queue", headers={"Cookie": f"{COOKIE}={value}"})


async def test_the_cookie_set_at_sign_in_is_http_only_same_site_and_for_the_whole_site(
    live: Kringloop,
) -> None:
    bram = browser(live)
    await bram.submit("/login", "/login/link", {"email": BRAM})

    answer = await bram.follow_sign_in_link(await sign_in_link(live, BRAM))

    assert (answer.status_code, answer.headers["location"]) == (303, "/queue")
    cookie = session_cookie(answer)
    assert cookie["httponly"] is True
    assert str(cookie["samesite"]).lower() in ("lax", "strict")
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(SESSION_LIFETIME_S)
    assert not cookie["secure"]  # plain http here: a Secure cookie would never come back


async def test_on_an_https_site_the_cookie_is_only_sent_over_https(live: Kringloop) -> None:
    https = live.settings.model_copy(update={"public_url": "https://kringloop.test"})
    visitor = Browser(create_app(Services(settings=https, org=live.org, engine=live.engine,
                                          temporal=live.env.client)))

    answer = await visitor.get("/login")  # the sign-in form's CSRF token starts the session

    assert session_cookie(answer)["secure"] is True


def _payload_swapped(value: str) -> str:
    """Another person's session under Bram's signature."""
    _, timestamp, signature = value.split(".")
    return ".".join([b64encode(json.dumps({"email": INGRID}).encode()).decode(), timestamp,
                     signature])


def _signature_altered(value: str) -> str:
    # Its first character: the last one's low bits are base64 padding, which decoding ignores.
    payload, timestamp, signature = value.split(".")
    first = "A" if signature[0] != "A" else "g"
    return ".".join([payload, timestamp, first + signature[1:]])


def _signed_with_another_key(value: str) -> str:
    payload = b64encode(json.dumps({"email": INGRID}).encode())
    return TimestampSigner("not-our-signing-key").sign(payload).decode()


@pytest.mark.parametrize("tamper", [_payload_swapped, _signature_altered,
                                    _signed_with_another_key])
async def test_a_tampered_session_cookie_is_ignored_and_the_visitor_signs_in(
    live: Kringloop, tamper: Callable[[str], str],
) -> None:
    bram = await signed_in(live, BRAM)
    value = bram.client.cookies[COOKIE]
    assert (await with_cookie(live, value)).status_code == 200  # the cookie as it was works

    answer = await with_cookie(live, tamper(value))

    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=/queue")


async def test_signing_out_clears_the_cookie(live: Kringloop) -> None:
    bram = await signed_in(live, BRAM)

    answer = await bram.submit("/queue", "/logout", {})

    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    cleared = session_cookie(answer)
    assert cleared.value == "null" and cleared["expires"].startswith("Thu, 01 Jan 1970")
    assert cleared["path"] == "/"
    assert COOKIE not in bram.client.cookies
    assert (await bram.get("/queue")).status_code == 303
