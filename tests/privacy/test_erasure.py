"""A person asks to be forgotten: their personal data goes from everywhere Kringloop keeps it,
nobody writes to them again, and the figures the teams learn from stay the same.

These tests run Kringloop in its embedded mode for email: every message is an .eml file in the
SMTP sink's folder (what `kringloop up` does), so "nothing left" is checked on disk as well."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlmodel import SQLModel

from kringloop.cases.adoptions import adopt
from kringloop.database import session_for
from kringloop.mail.sink import start_smtp_sink
from kringloop.privacy.erasure import erase_respondent
from kringloop.privacy.flows import stop_contacting
from kringloop.rejections.rules import mailing_id_for
from kringloop.reports.loop_health import loop_report
from kringloop.reports.nps import nps_report
from kringloop.security.credentials import create_api_token
from kringloop.settings import Settings
from tests.support.command import kringloop
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.rejections import applicant, rejection

WILHELMINA = {"id": "klant-wz-4471", "name": "Wilhelmina Zonneveld",
              "email": "w.zonneveld@example.nl", "phone": "+31 6 4471 2290", "language": "nl"}
COMMENT = "Mijn bakfiets kwam met een verbogen voorvork, hier aan de Zonnebloemlaan 17"
HER = [WILHELMINA["id"], WILHELMINA["name"], WILHELMINA["email"], WILHELMINA["phone"], COMMENT]


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Controller]:
    controller = start_smtp_sink(tmp_path / "outbox")
    yield controller
    controller.stop()


@pytest.fixture
def settings(settings: Settings, sink: Controller) -> Settings:
    """Kringloop's embedded mode: every email it sends lands in the sink's folder."""
    return settings.model_copy(update={"smtp_port": sink.port})


def stored_text(engine: Engine) -> str:
    """Every row of every table, as a database dump would show it."""
    with engine.connect() as connection:
        return "\n".join(str(tuple(row)) for table in SQLModel.metadata.sorted_tables
                         for row in connection.execute(table.select())).lower()


def mail_copies(folder: Path) -> list[EmailMessage]:
    return [message_from_bytes(path.read_bytes(), policy=default_policy)  # type: ignore[misc]
            for path in sorted(folder.glob("*.eml"))]


def readable(message: EmailMessage) -> str:
    """Headers and decoded text, as someone opening the .eml file reads it."""
    texts = [str(part.get_content()) for part in message.walk()  # type: ignore[attr-defined]
             if part.get_content_type() in ("text/plain", "text/html")]
    return "\n".join([*(str(value) for value in message.values()), *texts]).lower()


async def mail_to(folder: Path, address: str, kind: str, *, timeout: float = 10
                  ) -> EmailMessage:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in mail_copies(folder):
            if address in str(message["To"]) and message["X-Kringloop-Kind"] == kind:
                return message
        assert asyncio.get_running_loop().time() < deadline, f"no {kind} email to {address}"
        await asyncio.sleep(0.05)


def figures(simulated: Kringloop) -> tuple[dict[str, Any], dict[str, Any]]:
    with session_for(simulated.engine) as session:
        nps = nps_report(session=session, org=simulated.org, program="customer",
                         group_by="team")
        loop = loop_report(session=session, org=simulated.org, programs=["customer"],
                           now=datetime(2030, 1, 1, tzinfo=UTC))
    return nps.model_dump(), loop.model_dump()


async def test_a_customer_who_asks_to_be_forgotten_leaves_no_trace_and_the_figures_stay(
    simulated: Kringloop, tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    await simulated.post_response("wz-spring", 9, respondent=WILHELMINA, comment="Top service")
    for n in range(6):  # other customers, so the report shows its figures
        await simulated.post_response(f"others-{n}", 9 - n % 2,
                                      respondent={"id": f"klant-{n}", "name": f"Klant {n}"})
    posted = await simulated.post_response("wz-bakfiets", 3, respondent=WILHELMINA,
                                           comment=COMMENT)
    case_id = posted["case_id"]
    await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    await simulated.act(case_id, "callback-attempts", {
        "outcome": "reached", "note": "Wilhelmina gebeld op +31 6 4471 2290"})
    await simulated.act(case_id, "notes", {"text": "Mevrouw Zonneveld is dinsdags thuis"})
    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "delivery-late", "action_taken": "Voorvork vervangen bij Wilhelmina thuis",
        "message": "Beste Wilhelmina, je bakfiets heeft een nieuwe voorvork."})
    assert answer.status_code == 200, answer.text
    await mail_to(outbox, WILHELMINA["email"], "closing")
    with session_for(simulated.engine) as session:  # her assignee adopted her
        adopt(session=session, org=simulated.org, respondent_id=WILHELMINA["id"],
              member_email=(await simulated.case(case_id))["assignee"]["email"],
              now=datetime.now(UTC))
    before = figures(simulated)
    assert before[0]["overall"]["n"] == 8

    erased = await erase_respondent(WILHELMINA["id"], engine=simulated.engine,
                                    temporal=simulated.env.client, outbox=outbox, actor="admin")

    assert (erased.responses, erased.cases, erased.adoptions, erased.running_workflows) == (
        2, 1, 1, 1)
    assert erased.mail_copies >= 3, "acknowledgement, closing, and the team's assignment"
    assert figures(simulated) == before, "the reports count exactly what they counted"
    # The case closes without the re-survey a week later: nobody writes to her again.
    assert await simulated.finished(case_id) == "closed"
    assert not [m for m in mail_copies(outbox) if WILHELMINA["email"] in str(m["To"])]
    case = await simulated.case(case_id)
    assert (case["score"], case["category"], case["root_cause"]) == (3, "detractor",
                                                                     "delivery-late")
    assert case["respondent"]["name"] is None and case["comment"] is None
    kinds = [e["kind"] for e in case["timeline"]]
    assert "erased" in kinds and "resurvey_sent" not in kinds
    assert "callback_attempt" in kinds and "resolution" in kinds, "the steps stay, not the text"

    stored = stored_text(simulated.engine)
    assert [value for value in HER if value.lower() in stored] == []
    assert "klant 3" in stored, "other customers keep their data"
    for message in mail_copies(outbox):
        assert [value for value in HER if value.lower() in readable(message)] == []
    again = await erase_respondent(WILHELMINA["id"], engine=simulated.engine,
                                   temporal=simulated.env.client, outbox=outbox, actor="admin")
    assert not again.found, "erasing twice is harmless, and finds nothing the second time"


async def test_erased_before_the_callback_the_case_stops_chasing_and_closes_without_email(
    simulated: Kringloop, tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    posted = await simulated.post_response("wz-early", 2, respondent=WILHELMINA)
    case_id = posted["case_id"]
    case = await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    await mail_to(outbox, WILHELMINA["email"], "acknowledgement")
    await mail_to(outbox, case["assignee"]["email"], "assignment")  # the first emails are out

    erased = await erase_respondent(WILHELMINA["id"], engine=simulated.engine,
                                    temporal=simulated.env.client, outbox=outbox, actor="admin")
    assert erased.running_workflows == 1
    await simulated.env.sleep(timedelta(days=10))

    # There is no one left to call: no reminder, no escalation to the lead, no reassignment.
    assert [m["X-Kringloop-Kind"] for m in mail_copies(outbox)] == []
    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "delivery-late", "action_taken": "Niet meer te bereiken",
        "message": "-"})
    assert answer.status_code == 200, answer.text
    assert await simulated.finished(case_id) == "closed"
    assert mail_copies(outbox) == [], "no closing email, no re-survey"
    kinds = [kind for kind, _ in simulated.timeline(case_id)]
    assert "escalated" not in kinds and kinds[-1] == "closed"
    # A closed case (or one never started) is not running: telling it again is harmless.
    told = await stop_contacting(simulated.env.client, case_ids=[case_id, "case-unknown"],
                                 rejection_ids=[], actor="admin")
    assert told == 0


async def test_a_rejected_applicant_who_asks_to_be_forgotten_is_never_written_to(
    simulated: Kringloop, tmp_path: Path,
) -> None:
    person = applicant("wz-77", name="Jorinde Kwakernaak")
    reason = {"code": "certification", "sentence": "Voor deze rol is het diploma "
              "Fietstechnicus niveau 3 nodig, en dat heb je nog niet, Jorinde."}
    answer = await simulated.api.post("/api/rejections", headers=ADMIN,
                                      json=rejection(person, reasons=[reason]))
    assert answer.status_code in (200, 202), answer.text
    rejection_id = answer.json()["rejection_id"]
    mailing = mailing_id_for(rejection(person)["vacancy"]["id"])
    simulated.started.append(mailing)

    erased = await erase_respondent(person["id"], engine=simulated.engine,
                                    temporal=simulated.env.client, outbox=tmp_path / "outbox",
                                    actor="admin")

    assert erased.rejections == 1
    # The hold passes, working hours come and go: the mailing ends, the rejection never out.
    await simulated.finished(mailing)
    assert not simulated.smtp.received
    assert mail_copies(tmp_path / "outbox") == []
    found = (await simulated.api.get(f"/api/rejections/{rejection_id}", headers=ADMIN)).json()
    assert found["status"] == "cancelled" and found["applicant"]["id"] == "[erased]"
    assert [e["kind"] for e in found["timeline"]][-2:] == ["cancelled", "erased"]
    assert found["timeline"][-2]["detail"].startswith("personal data erased before sending")
    assert [r["code"] for r in found["reasons"]] == ["certification"]
    stored = stored_text(simulated.engine)
    # (The rejection's own id, made from the ATS's applicant id and the vacancy, stays a key.)
    for value in (person["name"], person["email"], reason["sentence"]):
        assert value.lower() not in stored


async def test_only_an_admin_may_erase_and_an_unknown_person_is_not_found(
    simulated: Kringloop,
) -> None:
    await simulated.post_response("wz-promoter", 10, respondent=WILHELMINA)
    member = next(m.email for m in simulated.org.teams[0].members if m.role == "member")
    with session_for(simulated.engine) as session:
        _, secret = create_api_token(session=session, email=member)
    route = f"/api/respondents/{WILHELMINA['id']}"

    as_member = await simulated.api.delete(route, headers={"Authorization": f"Bearer {secret}"})
    unknown = await simulated.api.delete("/api/respondents/klant-nobody", headers=ADMIN)
    assert as_member.status_code == unknown.status_code == 404, "no one learns who exists"
    assert as_member.json()["message"] == f"no personal data for {WILHELMINA['id']}"
    assert WILHELMINA["name"].lower() in stored_text(simulated.engine), "the member erased nothing"

    as_admin = await simulated.api.delete(route, headers=ADMIN)
    assert as_admin.status_code == 200, as_admin.text
    assert as_admin.json()["responses"] == 1 and as_admin.json()["cases"] == 0
    assert WILHELMINA["name"].lower() not in stored_text(simulated.engine)
    assert (await simulated.api.delete(route, headers=ADMIN)).status_code == 404


def test_an_operator_erases_a_person_from_the_command_line(
    tmp_path: Path, engine: Engine, database_url: str,
) -> None:
    from kringloop.responses.models import SurveyResponse

    now = datetime.now(UTC) - timedelta(days=3)
    with session_for(engine) as session:
        session.add(SurveyResponse(
            id="wz-cli", program="customer", score=8, category="passive", comment=COMMENT,
            respondent_id=WILHELMINA["id"], name=WILHELMINA["name"], email=WILHELMINA["email"],
            language="nl", answered_at=now, received_at=now))
        session.commit()

    declined = kringloop("erase", "--respondent", WILHELMINA["id"], cwd=tmp_path,
                         database_url=database_url, stdin="n\n")
    assert declined.returncode == 1 and WILHELMINA["name"].lower() in stored_text(engine)
    done = kringloop("erase", "--respondent", WILHELMINA["id"], "--yes", cwd=tmp_path,
                     database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert "Erased" in done.stdout and "responses" in done.stdout
    assert [value for value in HER if value.lower() in stored_text(engine)] == []
    unknown = kringloop("erase", "--respondent", WILHELMINA["id"], "--yes", cwd=tmp_path,
                        database_url=database_url)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (f"kringloop: no personal data found for respondent "
                                      f"{WILHELMINA['id']} (an unknown id, or erased before)")


def database_files(folder: Path) -> bytes:
    """The embedded database's files as bytes: the database, its write-ahead log, its index."""
    return b"".join(path.read_bytes() for path in sorted(folder.glob("kringloop.db*")))


class TestTheEmbeddedDatabaseFiles:
    """The same request on the embedded default's SQLite database, whatever database the
    suite runs on: the raw files are searched, not the rows."""

    @pytest.fixture
    def database_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'kringloop.db'}"

    async def test_an_erased_customer_is_gone_from_the_database_files_and_their_log(
        self, simulated: Kringloop, tmp_path: Path,
    ) -> None:
        for n in range(3):
            await simulated.post_response(f"wz-{n}", 9, respondent=WILHELMINA, comment=COMMENT)
        posted = await simulated.post_response("wz-bakfiets", 3, respondent=WILHELMINA,
                                               comment=COMMENT)
        await simulated.post_response("other", 9, respondent={
            "id": "klant-77", "name": "Gerrit Blauwbloem", "email": "gerrit@example.nl"})
        await simulated.case_when(posted["case_id"], lambda c: "acknowledgement" in " ".join(
            e["detail"] for e in c["timeline"] if e["kind"] == "email_sent"))
        await simulated.act(posted["case_id"], "notes",
                            {"text": "Wilhelmina Zonneveld belt terug na vijven"})
        assert WILHELMINA["name"].encode() in database_files(tmp_path)

        await erase_respondent(WILHELMINA["id"], engine=simulated.engine,
                               temporal=simulated.env.client, outbox=None, actor="admin")

        raw = database_files(tmp_path)
        assert b"Gerrit Blauwbloem" in raw, "the files were read, and others stay"
        assert [value for value in HER if value.encode() in raw] == []
