"""Signing in to the workspace pages, and the outbox of the embedded mail server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from kringloop.database import session_for
from kringloop.mail.sink import start_smtp_sink
from kringloop.security.credentials import set_password
from kringloop.security.models import MagicLink
from kringloop.services import Services
from kringloop.web.app import create_app
from tests.support.kringloop import Kringloop
from tests.support.people import BRAM, ESTHER, INGRID
from tests.support.web import Browser, browser, sign_in_link, signed_in

# --- signing in by emailed link -----------------------------------------------------------------

async def test_a_member_signs_in_with_the_link_from_her_email_and_lands_on_her_queue(
    live: Kringloop,
) -> None:
    bram = await signed_in(live, BRAM)

    queue = await bram.get("/queue")

    assert queue.status_code == 200
    assert "Bram de Groot" in queue.text and 'id="sign-out"' in queue.text


async def test_a_sign_in_link_works_once(live: Kringloop) -> None:
    bram = browser(live)
    await bram.submit("/login", "/login/link", {"email": BRAM})
    link = await sign_in_link(live, BRAM)
    assert (await bram.follow_sign_in_link(link)).status_code == 303

    again = browser(live)
    pressed_again = await again.follow_sign_in_link(link)

    assert pressed_again.status_code == 400
    assert 'href="/login"' in pressed_again.text
    assert (await again.get("/queue")).status_code == 303
    assert (await again.get(link)).status_code == 400, "a used link offers no button"


async def test_a_mail_scanner_opening_the_link_first_does_not_use_it_up(
    live: Kringloop,
) -> None:
    await browser(live).submit("/login", "/login/link", {"email": BRAM})
    link = await sign_in_link(live, BRAM)
    scanner = browser(live)
    opened = [await scanner.get(link), await scanner.get(link)]
    assert [answer.status_code for answer in opened] == [200, 200]
    assert (await scanner.get("/queue")).status_code == 303  # opening signs nobody in

    bram = browser(live)
    pressed = await bram.follow_sign_in_link(link)

    assert (pressed.status_code, pressed.headers["location"]) == (303, "/queue")
    assert (await bram.get("/queue")).status_code == 200


@pytest.mark.parametrize(("accept", "button"), [("nl-NL", "Inloggen"), ("en-GB", "Sign in")])
async def test_the_sign_in_link_opens_a_page_with_one_button_in_the_visitors_language(
    live: Kringloop, accept: str, button: str,
) -> None:
    await browser(live).submit("/login", "/login/link", {"email": BRAM})
    link = await sign_in_link(live, BRAM)

    html = (await browser(live, language=accept).get(link)).text

    assert f'<html lang="{accept[:2]}">' in html
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    assert form and form.group(1) == link
    assert re.search(r'name="csrf_token" value="[^"]+"', form.group(2))
    assert f'<button type="submit" id="sign-in-link">{button}</button>' in form.group(2)


async def test_pressing_the_button_without_the_pages_csrf_token_keeps_the_link(
    live: Kringloop,
) -> None:
    await browser(live).submit("/login", "/login/link", {"email": BRAM})
    link = await sign_in_link(live, BRAM)
    forged = browser(live)

    refused = await forged.client.post(link, data={"csrf_token": "guessed"})

    assert refused.status_code == 403
    assert (await forged.get("/queue")).status_code == 303
    assert (await browser(live).follow_sign_in_link(link)).status_code == 303


async def test_an_expired_sign_in_link_is_refused(live: Kringloop) -> None:
    await browser(live).submit("/login", "/login/link", {"email": BRAM})
    link = await sign_in_link(live, BRAM)
    with session_for(live.engine) as session:
        session.exec(update(MagicLink).values(  # type: ignore[call-overload]
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()

    answer = await browser(live).follow_sign_in_link(link)

    assert answer.status_code == 400
    assert "/queue" not in answer.headers.get("location", "")


def same_page(answer: httpx.Response, email: str) -> str:
    """The page without what differs by itself: the address typed and the CSRF token."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", answer.text).replace(email, "EMAIL")


async def test_an_unknown_address_sees_the_same_page_and_gets_no_mail(live: Kringloop) -> None:
    stranger = "nobody@fietsenwinkel.example"
    known = await browser(live).submit("/login", "/login/link", {"email": BRAM})
    unknown = await browser(live).submit("/login", "/login/link", {"email": stranger})

    assert known.status_code == unknown.status_code == 200
    assert same_page(known, BRAM) == same_page(unknown, stranger)
    await sign_in_link(live, BRAM)
    assert live.smtp.to(stranger) == []
    typed = await browser(live).submit("/login", "/login/link", {"email": "<b>wie</b>"})
    assert "&lt;b&gt;wie&lt;/b&gt;" in typed.text and "<b>wie" not in typed.text


async def test_a_visitor_is_sent_to_sign_in_and_comes_back_where_they_were_going(
    live: Kringloop,
) -> None:
    with session_for(live.engine) as session:
        set_password(session=session, email=BRAM, password="fietsbel-rinkelt-2x")
    visitor = browser(live)

    answer = await visitor.get("/queue", status="resolved")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/queue%3Fstatus%3Dresolved"
    page = await visitor.get(answer.headers["location"])
    assert 'name="next" value="/queue?status=resolved"' in page.text

    signed = await visitor.submit(answer.headers["location"], "/login/password", {
        "email": "Bram.deGroot@fietsenwinkel.example", "password": "fietsbel-rinkelt-2x",
        "next": "/queue?status=resolved"})

    assert (signed.status_code, signed.headers["location"]) == (303, "/queue?status=resolved")
    assert (await visitor.get("/queue")).status_code == 200


async def test_a_wrong_password_shows_the_form_again_with_a_message(live: Kringloop) -> None:
    with session_for(live.engine) as session:
        set_password(session=session, email=BRAM, password="fietsbel-rinkelt-2x")
    visitor = browser(live)

    answer = await visitor.submit("/login", "/login/password",
                                  {"email": BRAM, "password": "fietsbel-rinkelt-3x"})

    assert answer.status_code == 401
    assert 'role="alert"' in answer.text and 'id="sign-in-password"' in answer.text
    assert (await visitor.get("/queue")).status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
async def test_sign_in_never_sends_anyone_to_another_site(live: Kringloop, target: str) -> None:
    with session_for(live.engine) as session:
        set_password(session=session, email=BRAM, password="fietsbel-rinkelt-2x")

    answer = await browser(live).submit("/login", "/login/password", {
        "email": BRAM, "password": "fietsbel-rinkelt-2x", "next": target})

    assert (answer.status_code, answer.headers["location"]) == (303, "/queue")


async def test_forms_without_the_sessions_csrf_token_are_refused(live: Kringloop) -> None:
    bram = await signed_in(live, BRAM)

    missing = await bram.client.post("/logout")
    wrong = await bram.client.post("/logout", data={"csrf_token": "guessed"})
    link = await browser(live).client.post("/login/link", data={"email": BRAM})

    assert (missing.status_code, wrong.status_code, link.status_code) == (403, 403, 403)
    assert (await bram.get("/queue")).status_code == 200  # still signed in


async def test_signing_out_ends_the_session(live: Kringloop) -> None:
    bram = await signed_in(live, BRAM)

    answer = await bram.submit("/queue", "/logout", {})

    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert (await bram.get("/queue")).status_code == 303
    assert (await browser(live).get("/")).headers["location"] == "/queue"


# --- the outbox of the embedded mail server ------------------------------------------------------

@contextmanager
def embedded(live: Kringloop, tmp_path: Path, **settings: Any) -> Iterator[Any]:
    """The web app as `kringloop up` runs it without a mail server: with the SMTP sink."""
    folder = tmp_path / "outbox"
    sink = start_smtp_sink(folder)
    try:
        configured = live.settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": sink.port, **settings})
        yield create_app(Services(settings=configured, org=live.org, engine=live.engine,
                                  temporal=live.env.client, outbox=folder))
    finally:
        sink.stop()


async def outbox_when(reader: Browser, text: str) -> str:
    for _ in range(200):
        outbox = await reader.get("/outbox")
        assert outbox.status_code == 200, outbox.text
        if text in outbox.text:
            return outbox.text
        await asyncio.sleep(0.02)
    raise AssertionError(f"{text!r} never reached the outbox")


def with_password(live: Kringloop, email: str) -> dict[str, str]:
    with session_for(live.engine) as session:
        set_password(session=session, email=email, password="beheer-het-goed-2x")
    return {"email": email, "password": "beheer-het-goed-2x"}


async def test_the_outbox_is_for_admins_and_shows_a_sign_in_link_only_to_whom_it_was_sent(
    live: Kringloop, tmp_path: Path,
) -> None:
    with embedded(live, tmp_path) as app:  # on loopback, as `kringloop up` runs by default
        visitor, member, admin = Browser(app), Browser(app), Browser(app)
        await member.submit("/login", "/login/password", with_password(live, ESTHER))
        await admin.submit("/login", "/login/password", with_password(live, INGRID))
        await visitor.submit("/login", "/login/link", {"email": BRAM})
        await Browser(app).submit("/login", "/login/link", {"email": INGRID})

        bram_mail = await outbox_when(admin, "bram.degroot@")
        own_mail = await outbox_when(admin, "ingrid.hofman@")
        names = re.findall(r'href="/outbox/([^"/]+\.eml)"', own_mail)
        bodies = {name: (await admin.get(f"/outbox/{name}")).text for name in names}
        frames = {name: (await admin.get(f"/outbox/{name}/html")).text for name in names}

        assert (await visitor.get("/outbox")).headers["location"] == "/login?next=/outbox"
        assert (await visitor.get(f"/outbox/{names[0]}/html")).status_code == 303
        assert (await member.get("/outbox")).status_code == 403
        assert (await member.get(f"/outbox/{names[0]}/html")).status_code == 403
        assert 'href="/outbox"' not in (await member.get("/queue")).text
        assert "only its recipient sees this link" in bram_mail
        links = re.findall(r"/login/magic/([A-Za-z0-9_-]{20,})", bram_mail + "".join(
            [*bodies.values(), *frames.values()]))
        assert len(set(links)) == 1, "only Ingrid's own link is shown, to Ingrid"
        assert (await Browser(app).follow_sign_in_link(f"/login/magic/{links[0]}")
                ).headers["location"] == "/queue"
        assert (await admin.get("/outbox/..%2Fsecret_key")).status_code == 404


async def test_without_the_embedded_mail_server_there_is_no_outbox(live: Kringloop) -> None:
    bram = await signed_in(live, BRAM)

    assert (await bram.get("/outbox")).status_code == 404
    assert 'href="/outbox"' not in (await bram.get("/queue")).text
