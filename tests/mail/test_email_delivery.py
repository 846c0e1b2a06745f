"""Emails go out over real SMTP exactly once, even when the activity is retried."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, create_engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mail import MailActivities
from kringloop.database import make_engine, session_for
from kringloop.mail.delivery import (
    SMTP_TIMEOUT_S,
    Recipient,
    build_message,
    deliver,
    message_id_for,
)
from kringloop.mail.identity import sender_of
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.outbox import SMTP_IN_FLIGHT, Outgoing, Sending, send_each_once, send_once
from kringloop.mail.rendering import Email
from kringloop.mail.suppression import suppress
from kringloop.migrations import create_at_head
from kringloop.network import free_port
from kringloop.org.organisation import Organisation
from kringloop.resources import CHECKOUT as PROJECT_ROOT
from kringloop.settings import Settings
from tests.support.kringloop import Kringloop
from tests.support.mail import LIEKE, MailServer, acknowledgement, body_of, outbox, timeline_kinds


async def test_a_retried_send_never_emails_twice(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings, smtp: MailServer,
) -> None:
    mail = MailActivities(engine=engine, org=org, settings=settings)
    order = acknowledgement(assigned_case)
    first = await ActivityEnvironment().run(mail.send_case_email, order)
    second = await ActivityEnvironment().run(mail.send_case_email, order)

    assert first.sent and second.sent and first.message_id == second.message_id
    assert len(smtp.received) == 1
    [message] = smtp.received
    assert message["Message-ID"] == message_id_for(order.key, sender_of(settings, org).address)
    assert "Lieke" in body_of(message)
    assert [row.status for row in outbox(engine)] == ["sent"]
    assert timeline_kinds(engine).count("email_sent") == 1


async def test_a_permanent_refusal_is_final_and_recorded_on_the_case(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings, smtp: MailServer,
) -> None:
    smtp.refuse_recipients[LIEKE] = "550 5.1.1 No such mailbox"
    mail = MailActivities(engine=engine, org=org, settings=settings)
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(mail.send_case_email, acknowledgement(assigned_case))
    assert refused.value.non_retryable and refused.value.type == "EmailRejected"
    assert "550" in str(refused.value)
    [row] = outbox(engine)
    assert row.status == "failed" and "No such mailbox" in (row.error or "")
    assert "email_failed" in timeline_kinds(engine)

    smtp.refuse_recipients.clear()
    again = await ActivityEnvironment().run(mail.send_case_email, acknowledgement(assigned_case))
    assert not again.sent and not smtp.received, "a refused email is not retried later"


async def test_an_address_that_unsubscribed_gets_no_more_email_and_the_case_says_why(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings, smtp: MailServer,
) -> None:
    with session_for(engine) as session:
        suppress(session=session, email=LIEKE.upper(), reason="unsubscribed in delighted",
                 source="nps-winkels", now=datetime(2026, 12, 1, tzinfo=UTC))
        session.commit()
    mail = MailActivities(engine=engine, org=org, settings=settings)

    receipt = await ActivityEnvironment().run(mail.send_case_email, acknowledgement(assigned_case))
    again = await ActivityEnvironment().run(mail.send_case_email, acknowledgement(assigned_case))

    assert not receipt.sent and not again.sent and not smtp.received
    assert "unsubscribed through nps-winkels on 2026-12-01" in (receipt.error or "")
    [row] = outbox(engine)
    assert row.status == "failed" and "unsubscribed" in (row.error or "")
    assert timeline_kinds(engine).count("email_failed") == 1


async def test_a_sign_in_link_asked_for_is_sent_even_to_an_unsubscribed_address(
    engine: Engine, settings: Settings, smtp: MailServer,
) -> None:
    with session_for(engine) as session:
        suppress(session=session, email="mo@example.nl", reason="unsubscribed in delighted",
                 source=None, now=datetime(2026, 12, 1, tzinfo=UTC))
        session.commit()

    receipt = await send_once(
        Outgoing(key="sign-in:mo:1", kind="sign_in", to=Recipient("Mo", "mo@example.nl", "nl")),
        lambda: Email(subject="Inloggen", text="Je link", html="<p>Je link</p>"), engine=engine,
        settings=settings, record=lambda *_: None)

    assert receipt.sent and len(smtp.received) == 1


async def test_a_temporary_failure_is_retried_and_then_sent_once(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings, smtp: MailServer,
) -> None:
    smtp.temporary_failures = 1
    mail = MailActivities(engine=engine, org=org, settings=settings)
    with pytest.raises(aiosmtplib.SMTPResponseException) as busy:
        await ActivityEnvironment().run(mail.send_case_email, acknowledgement(assigned_case))
    assert busy.value.code == 451
    assert [row.status for row in outbox(engine)] == ["pending"]

    await ActivityEnvironment().run(mail.send_case_email, acknowledgement(assigned_case))
    assert len(smtp.received) == 1
    assert [(row.status, row.tries) for row in outbox(engine)] == [("sent", 2)]


@dataclass
class SlowToAnswer(MailServer):
    """Keeps each email, then holds its "250" until told: the moment a crash of the sender
    is worst, because the server has the email and the sender does not know it yet."""

    arrived: threading.Event = field(default_factory=threading.Event)
    answer: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        self.arrived.set()
        await asyncio.to_thread(self.answer.wait, 30)
        return reply


# One send of the acknowledgement in a process of its own, so that it can be SIGKILLed.
SENDING_WORKER = """
import asyncio, sys
from temporalio.testing import ActivityEnvironment
from activities.mail import MailActivities
from kringloop.mail.outbox import Outgoing, Sending, send_each_once, send_once
from kringloop.mail.suppression import suppress
from kringloop.cases.messages import CaseEmail
from kringloop.mail.messages import EmailReceipt
from kringloop.database import make_engine
from kringloop.org.organisation import load_organisation
from kringloop.settings import DEFAULT_ORG_FILE, Settings
settings = Settings()
mail = MailActivities(engine=make_engine(settings.database_url),
                      org=load_organisation(DEFAULT_ORG_FILE), settings=settings)
asyncio.run(ActivityEnvironment().run(mail.send_case_email, CaseEmail(*sys.argv[1:])))
"""


async def test_a_worker_killed_before_the_server_answered_does_not_send_the_email_again(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings,
) -> None:
    server = SlowToAnswer(port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    settings = settings.model_copy(update={"smtp_port": server.port})
    order = acknowledgement(assigned_case)
    environment = {**os.environ, "KRINGLOOP_DATABASE_URL": settings.database_url,
                   "KRINGLOOP_HOME": str(settings.home), "KRINGLOOP_SMTP_HOST": "127.0.0.1",
                   "KRINGLOOP_SMTP_PORT": str(server.port),
                   "KRINGLOOP_SECRET_KEY": "test-signing-key"}
    try:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDING_WORKER, order.case_id, order.kind, order.key,
            cwd=PROJECT_ROOT, env=environment)
        assert await asyncio.to_thread(server.arrived.wait, 30), "the email never arrived"
        worker.send_signal(signal.SIGKILL)  # the server has the email; its 250 is held back
        await worker.wait()
        server.answer.set()

        mail = MailActivities(engine=engine, org=org, settings=settings)
        retried = await ActivityEnvironment().run(mail.send_case_email, order)
    finally:
        server.answer.set()
        controller.stop()

    assert retried.sent
    assert len(server.received) == 1, "the retry sent the email a second time"
    assert [(row.status, row.tries) for row in outbox(engine)] == [("sent", 1)]
    assert timeline_kinds(engine).count("email_sent") == 1


# One `send_once` in a process of its own, against the database and mail server it is given.
SENDING_ONE = """
import asyncio
from kringloop.database import make_engine
from kringloop.mail.delivery import Recipient
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.mail.rendering import Email
from kringloop.settings import Settings
settings = Settings()
email = Email(subject="Mail 1", text="Beste Lieke, mail 1.", html="<p>Beste Lieke, mail 1.</p>")
asyncio.run(send_once(
    Outgoing(key="pool-1", kind="note", to=Recipient("Lieke Smit", "lieke@example.nl", "nl")),
    lambda: email, engine=make_engine(settings.database_url), settings=settings,
    record=lambda *_: None))
"""

# Holds the COMMIT that marks an email handed over for seconds, as a busy database server can.
SLOW_HAND_OVER = """
CREATE FUNCTION slow_hand_over() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'handed_over' THEN PERFORM pg_sleep(3); END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER slow_hand_over AFTER UPDATE ON outbox_message
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_hand_over();
"""


async def test_a_worker_killed_while_the_hand_over_is_being_committed_still_delivers_once(
    tmp_path: Path, postgresql_database: str, smtp: MailServer,
) -> None:
    """The email's final dot leaves with the COMMIT of its hand-over, not after the database's
    answer: a worker killed while PostgreSQL commits that mark (which then stands) has already
    completed the email, so it is neither lost nor, on the retry, sent again."""
    url = postgresql_database
    engine = make_engine(url)
    try:
        create_at_head(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql(SLOW_HAND_OVER)
        settings = Settings(database_url=url, home=tmp_path, smtp_host="127.0.0.1",
                            smtp_port=smtp.port, secret_key="test-signing-key")
        environment = {**os.environ, "KRINGLOOP_DATABASE_URL": url,
                       "KRINGLOOP_HOME": str(tmp_path), "KRINGLOOP_SMTP_HOST": "127.0.0.1",
                       "KRINGLOOP_SMTP_PORT": str(smtp.port),
                       "KRINGLOOP_SECRET_KEY": "test-signing-key"}
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDING_ONE, cwd=PROJECT_ROOT, env=environment)
        await until(lambda: committing(engine) > 0, "no hand-over was ever committed")
        # A second into the three the COMMIT is held: on a busy machine the worker may not
        # yet have run the next instruction after sending it, which is no moment to test.
        await asyncio.sleep(1)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        # The COMMIT the worker sent goes on without it; the retry comes after, as a
        # retry does (an activity's timeout later).
        await until(lambda: committing(engine) == 0, "the hand-over's commit never ended")

        email, recipient, key = mail(1)
        retried = await send_once(Outgoing(key=key, kind="note", to=recipient),
                                  lambda: email, engine=engine, settings=settings,
                                  record=lambda *_: None)
        assert retried.sent
        assert [m["Subject"] for m in smtp.received] == ["Mail 1"], (
            "the email was lost (or sent twice) by a crash during its hand-over's commit")
        assert [row.status for row in outbox(engine)] == ["sent"]
    finally:
        engine.dispose()


def committing(engine: Engine) -> int:
    """Sessions committing now (an email's hand-over, held by SLOW_HAND_OVER)."""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'COMMIT' "
            "AND datname = current_database()").scalar_one())


async def until(condition: Callable[[], bool], failure: str, *, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.05)


async def test_an_email_is_withdrawn_when_its_hand_over_cannot_be_recorded(
        settings: Settings, smtp: MailServer) -> None:
    """The database is away at the last moment: the email is not completed on the wire (the
    server discards it), so that the retry, which sends it, does not send it twice."""
    email, recipient, key = mail(1)
    sender = sender_of(settings)
    message = build_message(email, kind="note", sender=sender, to=recipient,
                            message_id=message_id_for(key, sender.address))

    def database_away() -> None:
        raise ConnectionError("database unavailable")

    with pytest.raises(ConnectionError):
        await deliver(message, settings, handing_over=database_away)
    await send(settings, 2)
    assert [m["Subject"] for m in smtp.received] == ["Mail 2"]


async def test_an_unreachable_mail_server_is_a_retryable_error(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings,
) -> None:
    down = settings.model_copy(update={"smtp_port": free_port()})
    mail = MailActivities(engine=engine, org=org, settings=down)
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await ActivityEnvironment().run(mail.send_case_email, acknowledgement(assigned_case))
    assert [row.status for row in outbox(engine)] == ["pending"]


async def test_one_refused_address_does_not_hold_up_other_cases(live: Kringloop) -> None:
    live.smtp.refuse_recipients["bounce@example.nl"] = "550 5.1.1 User unknown"
    bounced = await live.post_response("bounce-1", 2, respondent={
        "name": "Sem Bakker", "email": "bounce@example.nl"})
    fine = await live.post_response("fine-1", 2, respondent={
        "name": "Noor Visser", "email": "noor@example.nl"})

    case = await live.case_when(
        bounced["case_id"], lambda c: any(e["kind"] == "email_failed" for e in c["timeline"]))
    failure = next(e for e in case["timeline"] if e["kind"] == "email_failed")
    assert "550" in failure["detail"] and "acknowledgement" in failure["detail"]
    await live.case_when(
        fine["case_id"], lambda c: any("acknowledgement" in e["detail"] for e in c["timeline"]))
    assert len(live.smtp.to("noor@example.nl", "acknowledgement")) == 1
    # The bounced case goes on: the team can still work and resolve it.
    answer = await live.act(bounced["case_id"], "callback-attempts", {"outcome": "reached"})
    assert answer.status_code == 200


def mail(number: int) -> tuple[Email, Recipient, str]:
    email = Email(subject=f"Mail {number}", text=f"Beste Lieke, mail {number}.",
                  html=f"<p>Beste Lieke, mail {number}.</p>")
    return email, Recipient(name="Lieke Smit", email=LIEKE, language="nl"), f"pool-{number}"


async def send(settings: Settings, number: int, *, to: str = LIEKE) -> None:
    email, recipient, key = mail(number)
    recipient = Recipient(name=recipient.name, email=to, language="nl")
    sender = sender_of(settings)
    await deliver(build_message(email, kind="note", sender=sender, to=recipient,
                                message_id=message_id_for(key, sender.address)), settings)


async def test_a_run_of_emails_shares_one_smtp_connection(settings: Settings,
                                                          smtp: MailServer) -> None:
    for number in range(5):
        await send(settings, number)
    assert len(smtp.received) == 5
    assert len(smtp.connections) == 1


async def test_a_refused_email_leaves_the_connection_usable_for_the_next(
        settings: Settings, smtp: MailServer) -> None:
    smtp.refuse_recipients["weg@example.nl"] = "550 No such user"
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await send(settings, 1, to="weg@example.nl")
    assert refused.value.code == 550
    smtp.temporary_failures = 1
    with pytest.raises(aiosmtplib.SMTPResponseException) as deferred:
        await send(settings, 2)
    assert deferred.value.code == 451
    await send(settings, 3)
    assert [m["Subject"] for m in smtp.received] == ["Mail 3"]
    assert len(smtp.connections) == 1


async def test_a_connection_the_mail_server_dropped_is_not_reused(settings: Settings) -> None:
    first = MailServer(port=free_port())
    settings = settings.model_copy(update={"smtp_port": first.port})
    controller = Controller(first, hostname="127.0.0.1", port=first.port)
    controller.start()
    await send(settings, 1)
    controller.stop()  # the server goes away and closes the kept connection
    await asyncio.sleep(0.2)  # ... a moment before the next email, as on a real worker
    second = MailServer(port=first.port)
    controller = Controller(second, hostname="127.0.0.1", port=first.port)
    controller.start()
    try:
        await send(settings, 2)
    finally:
        controller.stop()
    assert [m["Subject"] for m in first.received] == ["Mail 1"]
    assert [m["Subject"] for m in second.received] == ["Mail 2"]


async def test_many_emails_in_flight_hold_no_database_connection_while_smtp_answers(
    database_url: str, engine: Engine, settings: Settings, smtp: MailServer,
) -> None:
    """Fifty email activities run at once in a worker; a connection held across an await
    would empty the pool, and the pool's wait blocks the event loop the others need."""
    one_connection = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=2)

    async def send_one(number: int) -> EmailReceipt:
        email, recipient, key = mail(number)
        return await send_once(Outgoing(key=key, kind="note", to=recipient), lambda: email,
                               engine=one_connection, settings=settings,
                               record=lambda session, status, detail: None)

    try:
        receipts = await asyncio.gather(*(send_one(n) for n in range(20)))
    finally:
        one_connection.dispose()
    assert all(r.sent for r in receipts)
    assert sorted(m["Subject"] for m in smtp.received) == sorted(f"Mail {n}" for n in range(20))
    assert [row.status for row in outbox(engine)] == ["sent"] * 20


async def test_a_batch_whose_attempt_runs_out_of_time_leaves_the_rest_to_the_retry_once(
    engine: Engine, settings: Settings, smtp: MailServer,
) -> None:
    """A slow relay: an email started near the end of the attempt could outlive it, and the
    retry running beside it would send it again. So the late ones are left for the retry."""
    smtp.answer_delay_s = 0.2
    batch = [Sending(Outgoing(key=key, kind="note", to=recipient),
                     lambda email=email: email, lambda session, status, detail: None)
             for email, recipient, key in map(mail, range(10))]

    def attempt_with(seconds_to_start_emails: float) -> float:
        return time.monotonic() + SMTP_TIMEOUT_S + seconds_to_start_emails

    first = await send_each_once(batch, engine=engine, settings=settings,
                                 attempt_ends_at=attempt_with(0.3))
    assert 1 <= len(first) < 10, "the attempt stopped starting emails when its time ran out"
    assert sorted(r.status for r in outbox(engine)).count("pending") == 10 - len(first)

    retry = await send_each_once(batch, engine=engine, settings=settings,
                                 attempt_ends_at=attempt_with(60))
    assert len(retry) == 10 and all(r.sent for r in retry)
    assert sorted(m["Subject"] for m in smtp.received) == sorted(f"Mail {n}" for n in range(10))


async def test_a_batch_awaits_the_mail_servers_answers_side_by_side(
    engine: Engine, settings: Settings, smtp: MailServer,
) -> None:
    """A relay that takes its time to answer each email: a vacancy's rejections go out a few
    at once, each on a connection of its own, and each exactly once."""
    smtp.answer_delay_s = 0.1
    batch = [Sending(Outgoing(key=key, kind="note", to=recipient),
                     lambda email=email: email, lambda session, status, detail: None)
             for email, recipient, key in map(mail, range(12))]

    receipts = await send_each_once(batch, engine=engine, settings=settings,
                                    attempt_ends_at=time.monotonic() + 120)

    assert len(receipts) == 12 and all(r.sent for r in receipts)
    assert smtp.most_in_flight == SMTP_IN_FLIGHT
    assert sorted(m["Subject"] for m in smtp.received) == sorted(f"Mail {n}" for n in range(12))
    assert [row.status for row in outbox(engine)] == ["sent"] * 12


async def test_a_refusal_for_now_in_a_batch_lets_the_others_on_the_wire_finish_and_starts_none(
    engine: Engine, settings: Settings, smtp: MailServer,
) -> None:
    """The relay says "try again later" to one email while others are on the wire: those are
    recorded as sent, no further email starts, and the retried activity sends only the rest."""
    smtp.answer_delay_s = 0.1
    smtp.refuse_recipients["lieke0@example.nl"] = "451 4.3.0 Try again later"
    batch = [Sending(Outgoing(key=key, kind="note", to=Recipient(
                         recipient.name, f"lieke{n}@example.nl", "nl")),
                     lambda email=email: email, lambda session, status, detail: None)
             for n, (email, recipient, key) in enumerate(map(mail, range(10)))]

    with pytest.raises(aiosmtplib.SMTPResponseException):
        await send_each_once(batch, engine=engine, settings=settings,
                             attempt_ends_at=time.monotonic() + 120)
    statuses = [row.status for row in outbox(engine)]
    assert statuses.count("sent") == len(smtp.received) == SMTP_IN_FLIGHT - 1
    assert statuses.count("pending") == 10 - (SMTP_IN_FLIGHT - 1)

    smtp.refuse_recipients.clear()
    retry = await send_each_once(batch, engine=engine, settings=settings,
                                 attempt_ends_at=time.monotonic() + 120)
    assert len(retry) == 10 and all(r.sent for r in retry)
    assert sorted(m["Subject"] for m in smtp.received) == sorted(f"Mail {n}" for n in range(10))
