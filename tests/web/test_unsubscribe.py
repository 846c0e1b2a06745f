"""The unsubscribe link of a re-survey: opening it (as a mail scanner does) changes nothing; the
button on its page, or a mail program's one-click POST (RFC 8058) without cookie or form token,
puts the address on the suppression list, and the next re-survey to it is withheld and says
why. A forged link, or a link of another kind, unsubscribes nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from kringloop.database import session_for
from kringloop.mail.delivery import Recipient
from kringloop.mail.identity import sender_of
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.models import Suppression
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.mail.rendering import Email
from kringloop.org.organisation import Organisation
from kringloop.security.signed_links import booking_token, unsubscribe_link
from kringloop.settings import Settings
from tests.support.mail import LIEKE, MailServer
from tests.support.pages import assert_inert
from tests.support.web import web_client

SURVEY = Email(subject="Hoe gaat het nu?", text="Hoe gaat het nu met je fiets?\n",
               html="<p>Hoe gaat het nu met je fiets?</p>")


@pytest.fixture
async def web(settings: Settings, org: Organisation, engine: Engine
              ) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(settings, org, engine) as client:
        yield client


async def one_click(web: httpx.AsyncClient, path: str) -> httpx.Response:
    """The POST a mail program sends by itself for List-Unsubscribe-Post (RFC 8058)."""
    return await web.post(path, content=b"List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})


def path_of(link: str) -> str:
    return link.removeprefix("http://kringloop.test")


def suppressed(engine: Engine) -> list[tuple[str, str, str | None]]:
    with session_for(engine) as session:
        return [(row.email, row.reason, row.source)
                for row in session.exec(select(Suppression)).all()]


async def resurvey(settings: Settings, org: Organisation, engine: Engine,
                   round_: int) -> EmailReceipt:
    """The case's re-survey to Lieke, with its unsubscribe link, as the outbox sends it."""
    return await send_once(
        Outgoing(key=f"case-1:resurvey:{round_}", kind="resurvey",
                 to=Recipient("Lieke Smit", LIEKE, "nl"), sender=sender_of(settings, org),
                 unsubscribe_url=unsubscribe_link(settings, email=LIEKE, language="nl")),
        lambda: SURVEY, engine=engine, settings=settings, record=lambda *_: None)


async def test_a_mail_programs_one_click_unsubscribes_and_the_next_resurvey_is_withheld(
    web: httpx.AsyncClient, settings: Settings, org: Organisation, engine: Engine,
    smtp: MailServer,
) -> None:
    assert (await resurvey(settings, org, engine, 1)).sent
    [email] = smtp.received
    link = email["List-Unsubscribe"].strip().removeprefix("<").removesuffix(">")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    answer = await one_click(web, path_of(link))
    later = await resurvey(settings, org, engine, 2)

    assert answer.status_code == 200
    assert suppressed(engine) == [(LIEKE, "unsubscribed", "email link")]
    assert not later.sent and len(smtp.received) == 1
    assert "unsubscribed through email link" in (later.error or "")


async def test_opening_the_link_changes_nothing_and_its_button_unsubscribes(
    web: httpx.AsyncClient, settings: Settings, engine: Engine,
) -> None:
    link = path_of(unsubscribe_link(settings, email="Mo@Example.nl", language="en"))

    opened = await web.get(link)

    assert opened.status_code == 200 and suppressed(engine) == []
    assert "<form method=\"post\">" in opened.text and "Unsubscribe</button>" in opened.text
    assert "Mo@Example.nl" not in opened.text and "mo@example.nl" not in opened.text
    assert opened.headers["Cache-Control"] == "no-store"
    assert_inert(opened.text)

    pressed = await web.post(link)
    again = await web.post(link)

    assert pressed.status_code == again.status_code == 200
    assert "You have been unsubscribed" in pressed.text
    assert suppressed(engine) == [("mo@example.nl", "unsubscribed", "email link")]


async def test_the_page_speaks_the_language_of_the_email(
    web: httpx.AsyncClient, settings: Settings,
) -> None:
    page = await web.get(path_of(unsubscribe_link(settings, email=LIEKE, language="nl")))

    assert "Afmelden</button>" in page.text
    assert "B.V.." not in page.text


@pytest.mark.parametrize("token", ["not-a-token", "gAAAAABforged", "a.b.c"])
async def test_a_forged_link_unsubscribes_nobody(
    token: str, web: httpx.AsyncClient, engine: Engine,
) -> None:
    opened = await web.get(f"/u/{token}")
    posted = await one_click(web, f"/u/{token}")

    assert opened.status_code == posted.status_code == 400
    assert suppressed(engine) == []


async def test_a_link_of_another_kind_unsubscribes_nobody(
    web: httpx.AsyncClient, settings: Settings, engine: Engine,
) -> None:
    booking = booking_token(settings.signing_key, case_id=LIEKE)

    posted = await one_click(web, f"/u/{booking}")

    assert posted.status_code == 400 and suppressed(engine) == []


async def test_an_address_unsubscribed_before_keeps_its_first_reason(
    web: httpx.AsyncClient, settings: Settings, engine: Engine,
) -> None:
    with session_for(engine) as session:
        session.add(Suppression(email=LIEKE, reason="unsubscribed in delighted",
                                source="nps-winkels", since=datetime(2026, 1, 5, tzinfo=UTC)))
        session.commit()

    answer = await one_click(web, path_of(unsubscribe_link(settings, email=LIEKE,
                                                           language="nl")))

    assert answer.status_code == 200
    assert suppressed(engine) == [(LIEKE, "unsubscribed in delighted", "nps-winkels")]
