"""The respondent writes back, and the case hears it: a reply reaches the member who has the
case (once, however often it is delivered), ends a wait on the respondent and reopens a case
closed less than 30 days ago; an out-of-office tells no one; a bounce stops mail to the
address. The member answers from the case, in the same thread."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from kringloop.cases.models import CaseMessage
from kringloop.cases.replies import ArrivedMail, case_for_mail, take_in_mail
from kringloop.database import session_for
from kringloop.inbound.service import quarantine
from kringloop.mail import reply_addresses
from kringloop.mail.models import Suppression
from kringloop.mail.reply_addresses import reply_token_for, token_in
from kringloop.privacy.erasure import erase_respondent
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.mail import body_of

ANNA = {"id": "klant-7001", "name": "Anna de Vries", "email": "anna@example.nl", "language": "nl"}


async def opened(kringloop: Kringloop, response_id: str) -> tuple[str, str, str]:
    """A detractor's case, its assignee's address, and the reply address on the
    acknowledgement Anna got."""
    posted = await kringloop.post_response(response_id, 3, respondent=ANNA)
    case_id = posted["case_id"]
    case = await kringloop.case_when(case_id, lambda c: c["assignee"])
    acknowledgement = (await kringloop.smtp.wait_for_kind(ANNA["email"], "acknowledgement",
                                                          1))[-1]
    return case_id, case["assignee"]["email"], parseaddr(str(acknowledgement["Reply-To"]))[1]


def reply(token: str | None, number: int = 1, **fields: Any) -> ArrivedMail:
    return ArrivedMail(**{"kind": "reply", "message_id": f"<reply-{number}@mail.example.nl>",
                          "sender": ANNA["email"], "subject": "Re: We bellen je terug",
                          "text": "Bel me morgen na vijven maar.", "token": token, **fields})


async def deliver(kringloop: Kringloop, mail: ArrivedMail) -> tuple[str | None, bool]:
    with session_for(kringloop.engine) as session:
        found = case_for_mail(session, mail)
    if found.case_id is None:
        return None, False
    return found.case_id, await take_in_mail(mail, case_id=found.case_id,
                                             engine=kringloop.engine,
                                             client=kringloop.env.client)


async def test_a_reply_to_the_acknowledgement_reaches_the_member_once(
    simulated: Kringloop,
) -> None:
    case_id, member, reply_to = await opened(simulated, "reply-1")
    token = token_in(reply_to)
    assert token is not None, f"the acknowledgement's Reply-To is {reply_to}"
    assert member not in reply_to and "vries" not in reply_to.lower(), "the address says nothing"

    assert await deliver(simulated, reply(token)) == (case_id, True)
    # The mail system delivers it again: stored once, told once.
    assert await deliver(simulated, reply(token)) == (case_id, False)
    told = await simulated.smtp.wait_for_kind(member, "respondent_reply", 1)
    assert "/cases/" + case_id in body_of(told[0])
    await simulated.case_when(case_id, lambda c: any(
        e["kind"] == "respondent_replied" for e in c["timeline"]))
    with session_for(simulated.engine) as session:
        stored = session.exec(select(CaseMessage).where(CaseMessage.case_id == case_id)).all()
    assert [(m.kind, m.text) for m in stored] == [("reply", "Bel me morgen na vijven maar.")]
    await simulated.env.sleep(timedelta(minutes=5))
    assert len(simulated.smtp.to(member, "respondent_reply")) == 1


async def test_a_forged_token_or_a_stranger_quoting_our_message_id_reaches_no_case(
    simulated: Kringloop,
) -> None:
    case_id, _, _ = await opened(simulated, "reply-2")
    assert await deliver(simulated, reply("a" * 20)) == (None, False)
    acknowledgement = simulated.smtp.to(ANNA["email"], "acknowledgement")[-1]
    ours = str(acknowledgement["Message-ID"])
    stranger = reply(None, references=(ours,), sender="someone@else.example")
    assert await deliver(simulated, stranger) == (None, False)
    # From Anna's own address, a reply that lost its token still finds the thread.
    assert await deliver(simulated, reply(None, 3, references=(ours,))) == (case_id, True)


async def test_an_out_of_office_tells_no_one(simulated: Kringloop) -> None:
    case_id, member, reply_to = await opened(simulated, "reply-3")
    away = reply(token_in(reply_to), kind="auto_reply", subject="Afwezig: Re: We bellen je terug")
    assert await deliver(simulated, away) == (case_id, True)
    await simulated.case_when(case_id, lambda c: any(
        e["kind"] == "auto_reply" for e in c["timeline"]))
    await simulated.env.sleep(timedelta(minutes=5))
    assert simulated.smtp.to(member, "respondent_reply") == []


async def test_a_bounce_stops_mail_to_the_address_and_tells_the_member(
    simulated: Kringloop,
) -> None:
    case_id, member, _ = await opened(simulated, "reply-4")
    acknowledgement = simulated.smtp.to(ANNA["email"], "acknowledgement")[-1]
    bounce = ArrivedMail(kind="bounce", message_id="<dsn-1@mx.example.nl>",
                         sender="mailer-daemon@mx.example.nl", subject="Undelivered Mail",
                         bounced_address=ANNA["email"],
                         references=(str(acknowledgement["Message-ID"]),))
    assert await deliver(simulated, bounce) == (case_id, True)
    await simulated.smtp.wait_for_kind(member, "mail_bounced", 1)
    with session_for(simulated.engine) as session:
        assert session.get(Suppression, ANNA["email"]).reason == "bounced"  # type: ignore[union-attr]

    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "communication", "action_taken": "Gebeld", "message": "Dank je wel."})
    assert answer.status_code == 200, answer.text
    case = await simulated.case_when(case_id, lambda c: any(
        e["kind"] == "email_failed" and "closing" in e["detail"] for e in c["timeline"]))
    withheld = next(e["detail"] for e in case["timeline"] if e["kind"] == "email_failed")
    assert "bounced" in withheld and "unsubscribed" not in withheld
    assert simulated.smtp.to(ANNA["email"], "closing") == []


async def test_a_reply_within_30_days_of_the_close_reopens_the_case_to_its_member(
    simulated: Kringloop, keep_history: Any,
) -> None:
    case_id, member, reply_to = await opened(simulated, "reply-5")
    await simulated.act(case_id, "callback-attempts", {"outcome": "reached"})
    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "communication", "action_taken": "Gebeld", "message": "Dank je wel."})
    assert answer.status_code == 200, answer.text
    for _ in range(30):  # the re-survey goes, goes unanswered, and the case closes
        await simulated.env.sleep(timedelta(days=1))
    await simulated.case_when(case_id, lambda c: c["status"] == "closed")

    await simulated.env.sleep(timedelta(days=20))
    assert await deliver(simulated, reply(token_in(reply_to))) == (case_id, True)
    case = await simulated.case_when(case_id, lambda c: c["status"] != "closed")
    assert case["assignee"]["email"] == member
    assert case["attempts"] == 0, "a new round counts its own attempts"
    told = await simulated.smtp.wait_for_kind(member, "respondent_reply", 1)
    assert "weer open" in str(told[0]["Subject"])
    kinds = [e["kind"] for e in case["timeline"]]
    assert kinds.count("reopened") == 1 and kinds.count("closed") == 1

    # Called back and resolved again, the case closes a second time, on a step of its own.
    await simulated.act(case_id, "callback-attempts", {"outcome": "reached"})
    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "communication", "action_taken": "Nog eens gebeld", "message": "Top."})
    assert answer.status_code == 200, answer.text
    assert await simulated.finished(case_id) == "closed"
    kinds = [kind for kind, _ in simulated.timeline(case_id)]
    assert kinds.count("closed") == 2 and kinds.count("resolution") == 2
    await keep_history(simulated, case_id, "case_reopened_by_a_reply")


async def test_a_reply_long_after_the_close_is_kept_but_reopens_nothing(
    simulated: Kringloop,
) -> None:
    case_id, member, reply_to = await opened(simulated, "reply-6")
    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "communication", "action_taken": "Gebeld", "message": "Dank je wel."})
    assert answer.status_code == 200, answer.text
    assert await simulated.finished(case_id) == "closed"  # 30 days passed without a reply

    assert await deliver(simulated, reply(token_in(reply_to))) == (case_id, True)
    case = await simulated.case(case_id)
    assert case["status"] == "closed"
    assert simulated.smtp.to(member, "respondent_reply") == []


async def test_the_member_answers_in_the_same_thread_and_a_reply_ends_the_wait(
    live: Kringloop,
) -> None:
    case_id, _, reply_to = await opened(live, "reply-7")
    paused = await live.act(case_id, "pause", {"reason": "Gevraagd om het ordernummer"})
    assert paused.status_code == 200, paused.text
    await live.case_when(case_id, lambda c: c["status"] == "waiting")

    assert await deliver(live, reply(token_in(reply_to))) == (case_id, True)
    await live.case_when(case_id, lambda c: c["status"] != "waiting")

    answered = await live.api.post(f"/api/cases/{case_id}/answers", headers=ADMIN,
                                   json={"text": "Dank je! Ik bel je morgen om half zes."})
    assert answered.status_code == 200, answered.text
    sent = (await live.smtp.wait_for_kind(ANNA["email"], "case_answer", 1))[0]
    assert str(sent["In-Reply-To"]) == "<reply-1@mail.example.nl>"
    assert str(sent["Subject"]) == "Re: We bellen je terug"
    assert "half zes" in body_of(sent)
    assert token_in(parseaddr(str(sent["Reply-To"]))[1]) == token_in(reply_to)

    empty = await live.api.post(f"/api/cases/{case_id}/answers", headers=ADMIN,
                                json={"text": ""})
    assert empty.status_code == 422 and "text" in empty.text


async def test_erasing_the_respondent_erases_what_they_wrote_and_their_next_mail_finds_nothing(
    simulated: Kringloop,
) -> None:
    case_id, _, reply_to = await opened(simulated, "reply-8")
    assert await deliver(simulated, reply(token_in(reply_to))) == (case_id, True)
    quarantine(simulated.engine, b"a mail of hers that reached no case", reason="no token",
               sender=ANNA["email"], recipients=["antwoord@antwoord.fietsenwinkel.example"],
               via="smtp")
    erased = await erase_respondent(ANNA["id"], engine=simulated.engine,
                                    temporal=simulated.env.client, outbox=None, actor="privacy")
    assert erased.case_messages == 1 and erased.quarantined_mail == 1
    with session_for(simulated.engine) as session:
        kept = session.exec(select(CaseMessage).where(CaseMessage.case_id == case_id)).one()
    assert "vijven" not in kept.text and kept.sender is None
    # Another email from her is not kept: not on the case, not aside.
    with session_for(simulated.engine) as session:
        found = case_for_mail(session, reply(token_in(reply_to), 2))
    assert found.case_id is None and found.discard


def test_two_emails_making_the_reply_address_at_once_get_the_same_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with session_for(engine) as session:
        mine = reply_token_for(session.connection(), "case-race")
        session.commit()
    looked = iter([None])  # the other email looked before this one stored its token
    real = reply_addresses._token_of
    monkeypatch.setattr(reply_addresses, "_token_of",
                        lambda connection, case_id: next(looked, real(connection, case_id)))
    with session_for(engine) as session:
        theirs = reply_token_for(session.connection(), "case-race")
        session.commit()
    assert theirs == mine
