"""The respondent's reply reaches the case with no set-up: `kringloop up` takes replies on the
port it prints (also when its own mail goes out through an external server), and `kringloop
inbound` does the same alone, as it runs in production behind the reply domain's MX."""

from __future__ import annotations

import asyncio
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.mail.reply_addresses import token_in
from tests.support.inbound import (
    gmail_reply,
    kringloop_inbound,
    reply_address,
    send,
    stored_on,
    token_for,
)
from tests.support.mail import LIEKE, MailServer, body_of
from tests.support.stack import ANNA, kringloop_up, post_detractor
from tests.support.working_days import round_the_clock_org_file


async def case_in(engine: Engine, case_id: str) -> None:
    """Wait until the case workflow has written the case."""
    for _ in range(200):
        with session_for(engine) as session:
            if session.get(Case, case_id) is not None:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id} was never written")


async def test_kringloop_up_takes_replies_on_the_port_it_prints(
    tmp_path: Path, smtp: MailServer, database_url: str, engine: Engine,
) -> None:
    async with kringloop_up(tmp_path, KRINGLOOP_SMTP_HOST="127.0.0.1",
                            KRINGLOOP_SMTP_PORT=str(smtp.port),
                            KRINGLOOP_DATABASE_URL=database_url,
                            KRINGLOOP_ORG_FILE=str(round_the_clock_org_file(tmp_path))) as stack:
        await stack.healthy()
        printed = await stack.printed(r"^  replies      smtp://127\.0\.0\.1:(\d+)   "
                                      r"\(antwoord\+…@antwoord\.fietsenwinkel\.example\)$")
        port = int(printed.group(1))
        case_id, _ = await post_detractor(stack.web_url)
        await case_in(engine, case_id)
        # Anna's mail client answers the acknowledgement: to its Reply-To, in its thread.
        [acknowledgement] = await smtp.wait_for_kind(ANNA["email"], "acknowledgement", 1)
        answer_to = parseaddr(str(acknowledgement["Reply-To"]))[1]
        token = token_in(answer_to)
        assert token == token_for(engine, case_id)
        started = asyncio.get_running_loop().time()
        await send(port, gmail_reply(token, sender=ANNA["email"],
                                     in_reply_to=str(acknowledgement["Message-ID"])),
                   to=[answer_to], sender=ANNA["email"])
        [reply] = await stored_on(engine, case_id)
        # The member who has the case hears of it (the teams work round the clock here).
        [told] = await smtp.wait_for_kind(_assignee(engine, case_id), "respondent_reply", 1,
                                          timeout=30)
        print(f"\nreply stored and the assignee told in "
              f"{asyncio.get_running_loop().time() - started:.2f} s")
        assert f"/cases/{case_id}" in body_of(told)
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await send(port, gmail_reply(token), to=["iemand@gmail.com"])
        assert await stack.terminate() == 0, stack.output()

    assert (reply.kind, reply.sender) == ("reply", ANNA["email"])
    assert reply.text.startswith("Hoi,")


def _assignee(engine: Engine, case_id: str) -> str:
    with session_for(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.assignee_email
        return case.assignee_email


async def test_kringloop_inbound_alone_takes_replies_for_the_cases_in_its_database(
    tmp_path: Path, database_url: str, engine: Engine, dev_server: WorkflowEnvironment,
    assigned_case: str,
) -> None:
    token = token_for(engine, assigned_case)
    temporal = dev_server.client.service_client.config.target_host
    async with kringloop_inbound(tmp_path, KRINGLOOP_DATABASE_URL=database_url,
                                 KRINGLOOP_TEMPORAL_ADDRESS=temporal,
                                 KRINGLOOP_INBOUND_PORT="0") as inbound:
        printed = await inbound.printed(r"takes replies at smtp://127\.0\.0\.1:(\d+) for "
                                        r"antwoord\+…@antwoord\.fietsenwinkel\.example",
                                        timeout=30)
        await send(int(printed.group(1)), gmail_reply(token, sender=LIEKE),
                   to=[reply_address(token)], sender=LIEKE)
        [reply] = await stored_on(engine, assigned_case)
        assert await inbound.terminate() == 0, inbound.output()

    assert (reply.kind, reply.sender) == ("reply", LIEKE)
