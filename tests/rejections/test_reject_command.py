"""`kringloop reject FILE.csv` as a recruiter runs it: refused lines named by line number and
column, the rest scheduled to go out after the hold, and a clear exit code."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from kringloop.database import session_for
from kringloop.rejections.models import Rejection
from kringloop.resources import CHECKOUT as PROJECT_ROOT
from tests.support.command import KRINGLOOP, kringloop, the_one_error_line
from tests.support.kringloop import Kringloop
from tests.support.rejections import CERTIFICATE, Recruiting

HEADER = "applicant_id,name,email,language,vacancy_id,vacancy_title,stage,reason_code,reason"


def sheet(vacancy: str) -> str:
    """Lines 2 and 5 are considerate; 3 (a stock phrase), 4 (no address) and 6 (no such code)
    are not."""
    def line(number: int, name: str, email: str, code: str, reason: str) -> str:
        return (f"{vacancy}-{number},{name},{email},nl,{vacancy},Fietsenmaker,interview,"
                f'{code},"{reason}"')

    return "\n".join([
        HEADER,
        line(1, "Lisa Jansen", "lisa@example.nl", "certification", CERTIFICATE),
        line(2, "Bram Smit", "bram@example.nl", "experience", "We received many applications."),
        line(3, "Sam de Wit", "sam-at-example", "experience",
             "Je hebt nog niet aan motoren of accu's van e-bikes gewerkt."),
        line(4, "Kees Mol", "kees@example.nl", "availability",
             "We zoeken iemand die elke zaterdag kan werken, en dat lukt jou niet."),
        line(5, "Noor Bos", "noor@example.nl", "culture-fit",
             "Je paste niet helemaal bij de sfeer in ons team, vonden we."),
    ]) + "\n"


async def _reject(kringloop_: Kringloop, file: Path) -> tuple[int | None, str]:
    """`kringloop reject FILE` run as a recruiter runs it, beside the test's Kringloop."""
    env = os.environ | {
        "KRINGLOOP_TEMPORAL_ADDRESS": kringloop_.env.client.service_client.config.target_host,
        "KRINGLOOP_DATABASE_URL": kringloop_.settings.database_url,
        "KRINGLOOP_TASK_QUEUE": kringloop_.settings.task_queue,
        "KRINGLOOP_HOME": str(kringloop_.settings.home),
        "KRINGLOOP_PAYLOAD_ENCRYPTION": "false",  # the live fixture's worker has no key
    }
    command = await asyncio.create_subprocess_exec(
        str(KRINGLOOP), "reject", str(file), cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(command.communicate(), timeout=90)
    return command.returncode, stdout.decode() + stderr.decode()


async def test_the_reject_command_names_bad_lines_and_schedules_the_good_ones(
    recruiting_live: Recruiting, tmp_path: Path,
) -> None:
    kringloop_ = recruiting_live.kringloop
    vacancy = f"v{uuid.uuid4().hex[:8]}"
    file = tmp_path / "afwijzingen.csv"
    file.write_text(sheet(vacancy), encoding="utf-8")
    started = datetime.now(UTC)

    code, output = await _reject(kringloop_, file)

    assert code == 1, output
    assert "line 3: reason: the sentence for reason 'experience' is a stock phrase" in output
    assert "line 4: email: value is not a valid email address" in output
    assert "line 6: reason_code: unknown reason code 'culture-fit'" in output
    assert "line 2:" not in output and "line 5:" not in output
    with session_for(kringloop_.engine) as session:
        scheduled = session.exec(select(Rejection).where(Rejection.vacancy_id == vacancy)).all()
    recruiting_live.follow(*(r.mailing_id for r in scheduled))
    assert sorted((r.applicant_name, r.status) for r in scheduled) == [
        ("Kees Mol", "scheduled"), ("Lisa Jansen", "scheduled")]
    for rejection in scheduled:  # after the 24-hour hold: time to cancel a mistake
        assert rejection.send_at is not None
        assert rejection.send_at >= started + timedelta(hours=24)
    assert kringloop_.smtp.received == []


def test_the_reject_command_needs_temporal_and_says_so(tmp_path: Path) -> None:
    file = tmp_path / "afwijzingen.csv"
    file.write_text(HEADER + "\n", encoding="utf-8")

    result = kringloop("reject", str(file), cwd=tmp_path)

    assert "KRINGLOOP_TEMPORAL_ADDRESS" in the_one_error_line(result)


async def test_a_sheet_with_a_line_in_another_encoding_near_its_end_schedules_nothing(
    recruiting_live: Recruiting, tmp_path: Path,
) -> None:
    kringloop_ = recruiting_live.kringloop
    vacancy = f"v{uuid.uuid4().hex[:8]}"
    file = tmp_path / "afwijzingen.csv"
    # Four hundred considerate lines, then one a text editor saved as Latin-1 ("Chloé").
    lines = [f"{vacancy}-{n},Lisa Jansen,lisa{n}@example.nl,nl,{vacancy},Fietsenmaker,"
             f'interview,certification,"{CERTIFICATE}"' for n in range(400)]
    file.write_bytes("\n".join([HEADER, *lines, ""]).encode()
                     + lines[0].replace("Lisa Jansen", "Chloé Smit").encode("latin-1") + b"\n")

    code, output = await _reject(kringloop_, file)

    assert code == 2, output
    assert f"kringloop reject: {file}: line 402: not UTF-8 text" in output
    with session_for(kringloop_.engine) as session:
        assert session.exec(select(Rejection)).all() == []
