"""An anonymous employee's identity, sent along with their score by a careless survey tool, can
not be found afterwards: not in the database, the logs, the sent mail or the workflow histories,
after the whole loop of conversation, reply, resolution and closing. Their department stays, so
scores can still be grouped."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlmodel import SQLModel

from kringloop.database import session_for
from kringloop.reports.nps import first_answers
from kringloop.reports.periods import Month
from kringloop.responses.models import SurveyResponse
from kringloop.runtime.observability import json_formatter
from tests.support.enps import write
from tests.support.intake import settled
from tests.support.kringloop import Kringloop, readable
from tests.support.web import signed_in


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Every logger at DEBUG, caught by caplog and by the production JSON log formatter."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(json_formatter())
    handler.setLevel(logging.DEBUG)
    quiet = [logger for logger in logging.root.manager.loggerDict.values()
             if isinstance(logger, logging.Logger) and not logger.propagate]
    for logger in [logging.getLogger(), *quiet]:
        logger.addHandler(handler)
    yield lines
    for logger in [logging.getLogger(), *quiet]:
        logger.removeHandler(handler)


def database_text(kringloop: Kringloop) -> str:
    """Every value of every column of every table, as text."""
    with kringloop.engine.connect() as connection:
        return "\n".join(repr(value) for table in SQLModel.metadata.sorted_tables
                         for row in connection.execute(table.select()) for value in row)


def mail_text(message: EmailMessage) -> str:
    """A message's headers and every part decoded, as a reader (or a search) would see it."""
    parts = [f"{key}: {value}" for key, value in message.items()]
    for part in message.walk():
        if not part.is_multipart():
            parts.append(str(part.get_content()))  # type: ignore[attr-defined]
    return "\n".join(parts)


async def every_history(kringloop: Kringloop, must_include: set[str]) -> dict[str, str]:
    """The history of every workflow in the namespace (payloads decoded), once the listing has
    caught up."""
    client = kringloop.env.client
    for _ in range(100):
        ids = [w.id async for w in client.list_workflows()]
        if must_include <= set(ids):
            break
        await asyncio.sleep(0.1)
    assert must_include <= set(ids), "the namespace does not list the case yet"
    return {workflow_id: readable(
        (await client.get_workflow_handle(workflow_id).fetch_history()).to_json())
        for workflow_id in set(ids)}


async def test_an_anonymous_detractor_leaves_no_identity_anywhere_after_the_whole_loop(
    live: Kringloop, every_log: io.StringIO, caplog: pytest.LogCaptureFixture,
) -> None:
    marker = f"LEAK{uuid.uuid4().hex[:10]}"
    identity = {
        "id": f"emp-{marker}",
        "name": f"Fenna {marker}",
        "email": f"fenna.{marker.lower()}@example.nl",
        "phone": "+31 6 5550 1234",
    }
    address = "203.0.113.77"  # the employee's IP, as a proxy in front of the survey tool adds it
    forwarded = {"X-Forwarded-For": address, "X-Real-IP": address}
    # The survey tool's own response id names the employee (a form keyed by email address).
    tool_id = f"enps-2026-11:{identity['email']}"
    answer = await live.api.post("/api/responses", headers=forwarded, json={
        "response_id": tool_id, "program": "employee", "score": 1,
        "comment": "Niemand luistert naar de werkplaats.",
        "respondent": {**identity, "language": "nl", "segment": "Werkplaats"},
        "meta": {"employee_number": marker, "ip": address}})
    assert answer.status_code == 201, answer.text
    case_id, link = answer.json()["case_id"], answer.json()["conversation_url"]
    live.started.append(case_id)
    case = await settled(live, case_id)

    live.api.headers.update(forwarded)
    assert (await write(live, link, "Ik wil graag praten, maar anoniem.")).status_code == 303
    member = await signed_in(live, case["assignee"]["email"])
    page = f"/cases/{case_id}"
    replied = await member.submit(page, f"{page}/relay-replies", {"text": "Dat kan. Vertel?"})
    assert replied.status_code == 303
    assert (await write(live, link, "De planning klopt nooit.")).status_code == 303
    assert (await live.act(case_id, "relay-replies", {"text": "We pakken het op."})
            ).status_code == 200
    resolved = await live.act(case_id, "resolve", {
        "root_cause": "scheduling", "action_taken": "Planning een week vooruit vast.",
        "message": "De planning staat voortaan een week vooruit vast."})
    assert resolved.status_code == 200, resolved.text
    assert await live.finished(case_id) == "closed"
    await live.smtp.wait_for(2)  # the assignment, and the notice of the employee's message

    stored = database_text(live)
    logged = "\n".join([every_log.getvalue(), caplog.text,
                        *(repr(vars(record)) for record in caplog.records)])
    mailed = "\n".join(mail_text(message) for message in live.smtp.received)
    histories = await every_history(live, {case_id})
    places = {"database": stored, "logs": logged, "mail": mailed, **histories}

    # The checks are not vacuous: each place holds this case's conversation.
    assert "De planning klopt nooit." in stored and case_id in logged and case_id in mailed
    assert "We pakken het op." in histories[case_id]
    secrets = [*identity.values(), marker, marker.lower(), "0655501234", "5550 1234", address]
    for place, text in places.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} found in {place}"
    with session_for(live.engine) as session:
        kept = session.get(SurveyResponse, answer.json()["response_id"])
    assert kept is not None and kept.segment == "Werkplaats", "the department stays for grouping"
    assert kept.id.startswith("anon-") and case_id == f"case-{kept.id}"
    assert {(moment.minute, moment.second, moment.microsecond)
            for moment in (kept.answered_at, kept.received_at)} == {(0, 0, 0)}, "to the hour"
    again = await live.api.post("/api/responses", json={
        "response_id": tool_id, "program": "employee", "score": 1,
        "respondent": {"segment": "Werkplaats"}})
    assert (again.status_code, again.json()["case_id"]) == (200, case_id), "no second case"
    with session_for(live.engine) as session:  # this month's reports open once it has ended
        counted = first_answers(session=session, org=live.org, program="employee",
                                window=Month.of(datetime.now(UTC).date()).window,
                                with_team=False)
    assert [a.segment for a in counted] == ["Werkplaats"]
