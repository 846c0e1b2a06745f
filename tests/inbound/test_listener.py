"""Replies over SMTP, as a respondent's mail server delivers them to the listener of `kringloop
up` and `kringloop inbound`: each lands on its own case (once), with its files kept safely;
mail for other domains is refused at RCPT (no open relay), oversize mail at DATA (552), and a
forged token or a stranger's email is quarantined without touching any case."""

from __future__ import annotations

import socket
import stat

import aiosmtplib
import pytest

from kringloop.inbound.listener import Listener, start_listener
from tests.support.inbound import (
    ANNA,
    MAX_BYTES,
    REPLY_ADDRESS,
    delivery_report,
    first_email_of,
    gmail_reply,
    messages_of,
    new_message_id,
    opened_case,
    quarantined,
    reply_address,
    send,
    token_for,
    with_attachments,
)
from tests.support.kringloop import Kringloop

BRAM = {"id": "klant-7002", "name": "Bram Jansen", "email": "bram@example.nl", "language": "nl"}


async def test_a_reply_over_smtp_lands_on_its_case_once_and_on_no_other(
    simulated: Kringloop, listener: Listener,
) -> None:
    annas, brams = (await opened_case(simulated, "inbound-1", ANNA),
                    await opened_case(simulated, "inbound-2", BRAM))
    token = token_for(simulated.engine, annas)
    raw = gmail_reply(token, message_id="<anna-1@mail.gmail.com>")

    refused, answer = await send(listener.port, raw, to=[reply_address(token)])
    await send(listener.port, raw, to=[reply_address(token)])  # delivered twice

    assert refused == {} and answer.endswith("OK")
    [stored] = messages_of(simulated.engine, annas)
    assert (stored.kind, stored.direction, stored.sender, stored.message_id) == (
        "reply", "in", ANNA["email"], "<anna-1@mail.gmail.com>")
    assert stored.text.startswith("Hoi,\n\nJa, bel me morgen na vijven maar")
    assert "Sanne belt" not in stored.text
    assert messages_of(simulated.engine, brams) == []
    assert quarantined(simulated.engine) == []


async def test_a_bounce_of_our_email_lands_on_the_case_it_was_sent_for(
    simulated: Kringloop, listener: Listener,
) -> None:
    annas = await opened_case(simulated, "inbound-3", ANNA)
    ours = await first_email_of(simulated, annas)
    report = delivery_report(failed=ANNA["email"], original_message_id=ours.message_id)

    await send(listener.port, report, to=[REPLY_ADDRESS],
               sender="MAILER-DAEMON@mx.fietsenwinkel.example")

    [bounce] = messages_of(simulated.engine, annas)
    assert (bounce.kind, bounce.bounced_address) == ("bounce", ANNA["email"])


async def test_files_are_kept_under_a_random_name_and_one_too_big_is_left_out_with_a_note(
    simulated: Kringloop, listener: Listener,
) -> None:
    annas = await opened_case(simulated, "inbound-4", ANNA)
    token = token_for(simulated.engine, annas)
    raw = with_attachments(token, {"bon.pdf": b"%PDF-1.7 bon", "../../.bashrc": b"x" * 5000})

    await send(listener.port, raw, to=[reply_address(token)])
    await send(listener.port, raw, to=[reply_address(token)])  # delivered again

    [message] = messages_of(simulated.engine, annas)
    small, big = message.attachments
    folder = simulated.settings.home / "attachments"
    kept = folder / small["stored"]
    assert kept.read_bytes() == b"%PDF-1.7 bon" and kept.parent == folder
    assert "bon" not in small["stored"] and len(small["stored"]) == 32
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert {**big, "note": ""} == {"filename": ".bashrc", "content_type": "application/pdf",
                                   "size": 5000, "stored": None, "note": ""}
    assert "left out" in big["note"]
    assert sorted(p.name for p in folder.iterdir()) == [small["stored"]]


async def test_a_forged_token_a_stranger_and_a_crossed_thread_are_quarantined_not_attached(
    simulated: Kringloop, listener: Listener,
) -> None:
    annas, brams = (await opened_case(simulated, "inbound-5", ANNA),
                    await opened_case(simulated, "inbound-6", BRAM))
    annas_email, brams_email = (await first_email_of(simulated, annas),
                                await first_email_of(simulated, brams))
    forged = "q" * 20
    token = token_for(simulated.engine, annas)

    for raw, to in [
        (gmail_reply(forged), [reply_address(forged)]),
        (gmail_reply(None, sender="someone@else.example", in_reply_to=annas_email.message_id),
         [REPLY_ADDRESS]),
        (gmail_reply(token, in_reply_to=brams_email.message_id), [reply_address(token)]),
    ]:
        refused, answer = await send(listener.port, raw, to=to)
        assert refused == {} and answer.endswith("OK"), "answered 250: no retrying"

    assert [q.reason for q in quarantined(simulated.engine)] == [
        "unknown reply token", "not from the case's respondent",
        "its reply token and its references point at different cases"]
    assert messages_of(simulated.engine) == []


async def test_mail_for_another_domain_is_refused_at_rcpt(listener: Listener) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(listener.port, gmail_reply("q" * 20), to=["iemand@gmail.com"])

    assert refused.value.recipients[0].code == 550


async def test_an_email_over_the_size_limit_is_refused_with_552(
    simulated: Kringloop, listener: Listener,
) -> None:
    raw = gmail_reply("q" * 20, words="bla " * (MAX_BYTES // 4))

    with pytest.raises((aiosmtplib.SMTPDataError, aiosmtplib.SMTPSenderRefused)) as refused:
        await send(listener.port, raw, to=[REPLY_ADDRESS])

    assert refused.value.code == 552
    assert quarantined(simulated.engine) == [] and messages_of(simulated.engine) == []


async def test_the_listener_takes_the_next_port_when_its_own_is_taken(
    simulated: Kringloop,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = simulated.settings.model_copy(update={"inbound_port": port})
        listener = await start_listener(settings=settings, org=simulated.org,
                                        engine=simulated.engine, client=simulated.env.client)
        try:
            assert listener.port > port
            _, answer = await send(listener.port, gmail_reply("q" * 20,
                                                              message_id=new_message_id()),
                                   to=[REPLY_ADDRESS])
            assert answer.endswith("OK")
        finally:
            await listener.stop()
