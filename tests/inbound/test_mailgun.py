"""Replies through Mailgun's inbound route: only posts signed with the Mailgun signing key, and
fresh, are taken; the raw MIME (`forward("…/mailgun/mime")`) and the parsed fields of any other
route both land on the case as the SMTP listener's replies do."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from pydantic import SecretStr

from kringloop.inbound.mailgun import (
    SignatureRefused,
    SigningKeyNotSet,
    check_signature,
    raw_email,
)
from kringloop.services import Services
from kringloop.web.app import create_app
from tests.support.inbound import (
    ANNA,
    gmail_reply,
    messages_of,
    opened_case,
    quarantined,
    reply_address,
    token_for,
)
from tests.support.kringloop import Kringloop

KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
TOLERANCE_S = 300


def signed(key: str = KEY, *, at: float | None = None, token: str = "a" * 50) -> dict[str, str]:
    """The three fields Mailgun signs every post with."""
    timestamp = str(int(at if at is not None else time.time()))
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature}


def check(fields: dict[str, str], key: str | None = KEY) -> None:
    check_signature(fields, key=key, now=time.time(), tolerance_s=TOLERANCE_S)


def test_a_post_signed_with_the_key_just_now_passes() -> None:
    check(signed())


# Each post is signed when its test runs, not when the tests are collected: in a long run the
# signatures would be stale by then, and refused for that instead.
@pytest.mark.parametrize("forged, why", [
    (lambda: {**signed(), "signature": "0" * 64}, "the signature does not match"),
    (lambda: signed("key-someone-elses"), "the signature does not match"),
    (lambda: {**signed(), "token": "b" * 50}, "the signature does not match"),
    (lambda: {**signed(), "signature": "é" * 64}, "the signature does not match"),
    (lambda: {"timestamp": "", "token": "", "signature": ""},
     "timestamp, token and signature are required"),
    (lambda: {**signed(), "timestamp": "١٧٠٠٠٠٠٠٠٠"},
     "timestamp, token and signature are required"),
])
def test_a_forged_post_is_refused(forged: Callable[[], dict[str, str]], why: str) -> None:
    with pytest.raises(SignatureRefused, match=why):
        check(forged())


@pytest.mark.parametrize("seconds", [-TOLERANCE_S - 60, TOLERANCE_S + 60])
def test_a_post_signed_too_long_ago_or_ahead_is_refused(seconds: int) -> None:
    # Signed when the test runs, not when it is collected (a long run would close the gap).
    with pytest.raises(SignatureRefused, match="the timestamp is more than 300 s from our clock"):
        check(signed(at=time.time() + seconds))


def test_without_a_signing_key_nothing_is_taken() -> None:
    with pytest.raises(SigningKeyNotSet):
        check(signed(), key=None)


def test_parsed_fields_are_written_as_one_email_again() -> None:
    raw = raw_email({"message-headers": json.dumps([
        ["From", "Anna de Vries <anna@example.nl>"], ["To", "antwoord+x@a.example"],
        ["Subject", "Re: We bellen je terug"], ["Message-Id", "<m-1@mail.gmail.com>"],
        ["Content-Type", "multipart/alternative; boundary=\"zzz\""]]),
        "body-plain": "Bel me maar.", "body-html": "<p>Bel me maar.</p>"}, {})

    assert b"Message-Id: <m-1@mail.gmail.com>" in raw and b"boundary=\"zzz\"" not in raw
    assert b"Bel me maar." in raw and b"<p>Bel me maar.</p>" in raw


# The route, as Mailgun posts to it --------------------------------------------------------

@pytest.fixture
async def mailgun(simulated: Kringloop) -> AsyncIterator[httpx.AsyncClient]:
    """The web app with a Mailgun signing key, as Mailgun reaches it."""
    settings = simulated.settings.model_copy(update={"mailgun_signing_key": SecretStr(KEY)})
    app = create_app(Services(settings=settings, org=simulated.org, engine=simulated.engine,
                              temporal=simulated.env.client))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://kringloop.test") as client:
        yield client


async def test_a_raw_mime_post_lands_on_its_case(simulated: Kringloop,
                                                 mailgun: httpx.AsyncClient) -> None:
    annas = await opened_case(simulated, "mailgun-1", ANNA)
    token = token_for(simulated.engine, annas)
    raw = gmail_reply(token, message_id="<mailgun-1@mail.gmail.com>")

    answer = await mailgun.post("/api/inbound/mailgun/mime", files={"attachment": ("", b"")},
                                data={**signed(), "recipient": reply_address(token),
                                      "sender": ANNA["email"], "body-mime": raw.decode()})

    assert (answer.status_code, answer.json()) == (200, {"status": "taken"})
    [stored] = messages_of(simulated.engine, annas)
    assert stored.message_id == "<mailgun-1@mail.gmail.com>"
    assert stored.text.startswith("Hoi,\n\nJa, bel me morgen")


async def test_a_parsed_post_lands_on_its_case_and_a_forged_one_nowhere(
    simulated: Kringloop, mailgun: httpx.AsyncClient,
) -> None:
    annas = await opened_case(simulated, "mailgun-2", ANNA)
    token = token_for(simulated.engine, annas)
    fields = {"recipient": reply_address(token), "sender": ANNA["email"],
              "message-headers": json.dumps([
                  ["From", f"Anna <{ANNA['email']}>"], ["To", reply_address(token)],
                  ["Subject", "Re: We bellen je terug"], ["Message-Id", "<mg-2@mail.example>"]]),
              "body-plain": "Prima, tot morgen.\n\nOp di 3 mrt 2026 om 10:12 schreef X "
                            "<a@b.nl>:\n> Beste Anna,", "attachment-count": "0"}

    forged = await mailgun.post("/api/inbound/mailgun", data={**fields, **signed("nope")})
    stale = await mailgun.post("/api/inbound/mailgun",
                               data={**fields, **signed(at=time.time() - 3600)})
    taken = await mailgun.post("/api/inbound/mailgun", data={**fields, **signed()})
    again = await mailgun.post("/api/inbound/mailgun", data={**fields, **signed()})

    assert (forged.status_code, stale.status_code) == (401, 401)
    assert (taken.json(), again.json()) == ({"status": "taken"}, {"status": "duplicate"})
    assert [m.text for m in messages_of(simulated.engine, annas)] == ["Prima, tot morgen."]


async def test_a_forged_token_through_mailgun_is_quarantined_and_answered_200(
    simulated: Kringloop, mailgun: httpx.AsyncClient,
) -> None:
    raw = gmail_reply("q" * 20)

    answer = await mailgun.post("/api/inbound/mailgun/mime", data={
        **signed(), "recipient": reply_address("q" * 20), "body-mime": raw.decode()})
    elsewhere = await mailgun.post("/api/inbound/mailgun/mime", data={
        **signed(), "recipient": "iemand@gmail.com", "body-mime": raw.decode()})

    assert (answer.status_code, answer.json()["status"]) == (200, "quarantined")
    assert elsewhere.status_code == 406, "Mailgun does not retry a 406"
    assert [q.via for q in quarantined(simulated.engine)] == ["mailgun"]
    assert messages_of(simulated.engine) == []
