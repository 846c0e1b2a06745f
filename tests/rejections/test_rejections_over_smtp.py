"""End to end on the Temporal dev server over real SMTP: a vacancy's 200 applicants each get
exactly one email with their own reason; and the same from a spreadsheet, line by line."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from sqlmodel import col, select
from temporalio.service import RPCError

from activities import rejection_mailing
from kringloop.database import session_for
from kringloop.mail.models import OutboxMessage
from kringloop.rejections.csv_import import run_rejection_import
from kringloop.rejections.models import Rejection
from kringloop.rejections.rules import mailing_id_for, rejection_id_for
from tests.support.mail import body_of
from tests.support.rejections import Recruiting, applicant, rejection

BATCH = 200


def own_reason(number: int) -> str:
    return (f"Sollicitant {number}: je mist nog ervaring met het onderhoud van e-bikes, "
            "zoals accu's testen en motoren afstellen.")


async def test_two_hundred_applicants_each_get_exactly_one_email_with_their_own_reason(
    recruiting_live: Recruiting,
) -> None:
    smtp, vacancy = recruiting_live.kringloop.smtp, f"v-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).isoformat()
    people = [applicant(f"{vacancy}-{n}", name=f"Sollicitant{n} Jansen") for n in range(BATCH)]
    items = [{"applicant": person, "stage": "screening", "send_at": now,
              "reasons": [{"code": "experience", "sentence": own_reason(n)}]}
             for n, person in enumerate(people)]
    clock = asyncio.get_running_loop().time

    started = clock()
    answer = await recruiting_live.batch(vacancy, {"vacancy_title": "Fietsenmaker",
                                                   "items": items})
    answered = clock() - started
    await smtp.wait_for(BATCH, timeout=120)
    delivered = clock() - started

    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == BATCH
    print(f"\n{BATCH} rejections: batch answered in {answered:.2f} s, all {BATCH} emails "
          f"received over SMTP {delivered:.2f} s after the POST "
          f"({BATCH / delivered:.0f} per second)")
    await asyncio.sleep(1)  # a duplicate, if any, would arrive now
    assert len(smtp.received) == BATCH
    for n, person in enumerate(people):
        [email] = smtp.to(person["email"], "rejection")
        text = body_of(email)
        assert own_reason(n) in text and text.startswith(f"Hoi Sollicitant{n},")
        assert own_reason((n + 1) % BATCH) not in text
    with session_for(recruiting_live.kringloop.engine) as session:
        statuses = session.exec(select(Rejection.status).where(
            Rejection.vacancy_id == vacancy)).all()
    assert sorted(statuses) == ["sent"] * BATCH
    # One mailing sent them all, not a workflow per applicant (those capped a batch near
    # 70 emails a second on two cores).
    client = recruiting_live.kringloop.env.client
    await client.get_workflow_handle(mailing_id_for(vacancy)).describe()
    with pytest.raises(RPCError):
        await client.get_workflow_handle(rejection_id_for(people[0]["id"], vacancy)).describe()


async def test_a_mail_server_failing_in_the_middle_of_a_batch_still_delivers_each_email_once(
    recruiting_live: Recruiting,
) -> None:
    smtp, vacancy, count = recruiting_live.kringloop.smtp, f"v-{uuid.uuid4().hex[:8]}", 40
    now = datetime.now(UTC).isoformat()
    people = [applicant(f"{vacancy}-{n}", name=f"Sollicitant{n} Jansen") for n in range(count)]

    async def refuse_once_halfway() -> None:
        while len(smtp.received) < count // 2:  # noqa: ASYNC110 (the test server has no event)
            await asyncio.sleep(0.001)
        smtp.temporary_failures = 1  # "451 try again later" for the next email's final dot

    halfway = asyncio.create_task(refuse_once_halfway())
    answer = await recruiting_live.batch(vacancy, {"vacancy_title": "Fietsenmaker", "items": [
        {"applicant": person, "stage": "screening", "send_at": now,
         "reasons": [{"code": "experience", "sentence": own_reason(n)}]}
        for n, person in enumerate(people)]})
    assert answer.status_code == 202, answer.text
    await halfway
    await smtp.wait_for(count, timeout=60)  # the retried round sends the rest, after 2 s
    await asyncio.sleep(1)  # a duplicate, if any, would arrive now

    assert smtp.temporary_failures == 0, "the mail server refused one email on the way"
    assert sorted(str(m["To"]) for m in smtp.received) == sorted(
        f"{p['name']} <{p['email']}>" for p in people), "each applicant once"
    with session_for(recruiting_live.kringloop.engine) as session:
        tries = session.exec(select(OutboxMessage.tries).where(
            col(OutboxMessage.key).startswith("rej-"),
            col(OutboxMessage.recipient).in_([p["email"] for p in people]))).all()
        statuses = session.exec(select(Rejection.status).where(
            Rejection.vacancy_id == vacancy)).all()
    assert sorted(statuses) == ["sent"] * count
    assert sorted(tries)[-1] == 2 and sum(tries) < 2 * count, "only the unsent were tried again"


async def test_a_recruiter_adding_a_rejection_while_a_slow_mail_server_takes_a_batch_waits_seconds(
    recruiting_live: Recruiting, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The round sending the batch stops at its next part for the added rejection, not only
    when its time is up (made long here), so the recruiter hears its send time at once."""
    monkeypatch.setattr(rejection_mailing, "ROUND_SECONDS", 60.0)
    smtp, vacancy, count = recruiting_live.kringloop.smtp, f"v-{uuid.uuid4().hex[:8]}", 160
    smtp.answer_delay_s = 0.2  # 160 emails, a few at once: eight seconds of sending
    now = datetime.now(UTC).isoformat()
    batch = await recruiting_live.batch(vacancy, {"vacancy_title": "Fietsenmaker", "items": [
        {"applicant": applicant(f"{vacancy}-{n}"), "stage": "screening", "send_at": now,
         "reasons": [{"code": "experience", "sentence": own_reason(n)}]} for n in range(count)]})
    assert batch.status_code == 202, batch.text
    await smtp.wait_for(5)
    clock = asyncio.get_running_loop().time

    started = clock()
    late = await recruiting_live.reject(rejection(applicant(f"{vacancy}-late"), vacancy=vacancy))
    answered = clock() - started

    assert late.status_code == 202, late.text
    assert late.json()["send_at"], "the recruiter is told when it goes out"
    assert answered < 4, f"answered after {answered:.1f} s, behind the batch's sending"
    assert len(smtp.received) < count, "the batch was still going out"
    await smtp.wait_for(count, timeout=60)


SATURDAYS = "We zoeken iemand die elke zaterdag kan werken, en dat lukt jou niet."
HEADER = ("applicant_id;name;email;language;vacancy_id;vacancy_title;stage;reason_code;reason;"
          "reason_code_2;reason_2;send_at")


def spreadsheet(v: str, now: str) -> str:
    """An Excel export (`;`, CRLF, byte order mark): lines 3, 4 and 6 are refused."""
    def line(number: int, name: str, email: str, language: str, stage: str,
             *reasons: str) -> str:
        cells = [f"{v}-{number}", name, email, language, v, "Fietsenmaker", stage,
                 *reasons, *[""] * (4 - len(reasons)), now]
        return ";".join(cells)

    return "\r\n".join([
        HEADER,
        line(1, "Lisa Jansen", f"lisa.{v}@example.nl", "nl", "interview", "certification",
             '"Voor deze rol is het diploma Fietstechnicus niveau 3 nodig; dat heb je nog niet."'),
        line(2, "Bram Smit", f"bram.{v}@example.nl", "nl", "screening", "experience", "Helaas."),
        line(3, "Sam Taylor", f"sam.{v}@example", "en", "screening", "experience",
             "You have not yet worked on e-bike motors or batteries."),
        ";" * 11,
        line(4, "Noor Hendriks", f"noor.{v}@example.nl", "nl", "final", "availability",
             '"' + SATURDAYS.replace(", ", ",\r\n") + '"', "culture-fit",
             "Past niet bij ons team, vonden we."),
        line(5, "Kees Mol", f"kees.{v}@example.nl", "nl", "final", "availability",
             f'"{SATURDAYS}"'),
    ]) + "\r\n"


async def run(recruiting: Recruiting, path: Path) -> tuple[int, str]:
    kringloop = recruiting.kringloop
    address = kringloop.env.client.service_client.config.target_host
    output = io.StringIO()
    code = await run_rejection_import(
        # Plain payloads: the fixture's worker has no payload key (encryption has its tests).
        path, settings=kringloop.settings.model_copy(update={"temporal_address": address,
                                                             "payload_encryption": False}),
        # A terminal whatever TERM says (TERM=dumb would switch the progress bar off).
        console=Console(file=output, width=200, color_system=None, force_terminal=True,
                        _environ={}))
    return code, output.getvalue()


async def test_a_spreadsheet_of_rejections_reports_bad_lines_by_number_and_sends_the_rest(
    recruiting_live: Recruiting, tmp_path: Path,
) -> None:
    vacancy = f"v{uuid.uuid4().hex[:8]}"
    sheet = tmp_path / "afwijzingen.csv"
    sheet.write_bytes(spreadsheet(vacancy, datetime.now(UTC).isoformat()).encode("utf-8-sig"))

    code, output = await run(recruiting_live, sheet)

    assert code == 1, output
    assert "line 3: reason: the sentence for reason 'experience' is a stock phrase" in output
    assert "line 4: email: value is not a valid email address" in output
    assert "line 6: reason_code_2: unknown reason code 'culture-fit'" in output
    assert "line 2:" not in output and "line 5:" not in output and "line 8:" not in output
    assert "rejecting" in output, "a progress bar while scheduling"
    emails = await recruiting_live.kringloop.smtp.wait_for(2)
    assert sorted(str(m["To"]) for m in emails) == [
        f"Kees Mol <kees.{vacancy}@example.nl>", f"Lisa Jansen <lisa.{vacancy}@example.nl>"]
    with session_for(recruiting_live.kringloop.engine) as session:
        ids = session.exec(select(Rejection.mailing_id)).all()
    recruiting_live.follow(*ids)

    again, output = await run(recruiting_live, sheet)

    assert again == 1 and "already known" in output
    await asyncio.sleep(1)
    assert len(recruiting_live.kringloop.smtp.received) == 2, "importing again sends nothing"
