"""The recruiter's rejection pages: write each applicant's reasons, read every email before it
is scheduled, watch the batch go out, cancel what has not gone out; and nobody else gets in."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from kringloop.database import session_for
from kringloop.mail.rendering import render
from kringloop.rejections.followup import request_feedback_call
from kringloop.rejections.models import Rejection
from tests.support.cases import move_callback
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.mail import context_for
from tests.support.pages import element, row
from tests.support.people import BRAM, ESTHER, INGRID, THIJS
from tests.support.rejections import CERTIFICATE, hidden_fields, lisa, press, stored, vacancy_page
from tests.support.web import browser, signed_in

ANOUK = "anouk.peters@fietsenwinkel.example"  # lead of Werving
SATURDAYS = "We need someone who can work every Saturday, and you told us you cannot."


async def test_a_recruiter_writes_previews_and_schedules_a_vacancys_rejections(
    live: Kringloop,
) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    assert 'href="/rejections"' in (await thijs.get("/queue")).text
    opened = await thijs.get("/rejections/vacancy", vacancy_id=vacancy,
                             vacancy_title="Fietsenmaker")
    assert opened.status_code == 200 and "Afwijzingen voor Fietsenmaker" in opened.text

    with_lisa = await press(thijs, opened, "add", lisa(vacancy))
    with_sam = await press(thijs, with_lisa, "add", {
        "name": "Sam Taylor", "email": f"sam.{vacancy}@example.com", "language": "en",
        "stage": "final", "reason_code": "availability", "reason": SATURDAYS})

    assert with_lisa.status_code == with_sam.status_code == 200
    dutch, english = element(with_sam.text, "preview-0"), element(with_sam.text, "preview-1")
    assert "Hoi Lisa," in dutch and html.escape(CERTIFICATE, quote=True) in dutch
    assert "Thijs Willems" in dutch
    assert "Hi Sam," in english and "every Saturday" in english
    assert stored(live, vacancy) == [], "nothing is stored before it is scheduled"

    scheduled = await press(thijs, with_sam, "schedule")

    assert scheduled.status_code == 303
    progress = await thijs.get(scheduled.headers["location"])
    assert "Ingepland: elke e-mail gaat na de bedenktijd" in progress.text
    assert re.search(r'data-status="scheduled">ingepland: <strong>2</strong>', progress.text)
    rows = stored(live, vacancy)
    assert sorted((r.applicant_name, r.status, r.recruiter_email) for r in rows) == [
        ("Lisa Jansen", "scheduled", THIJS), ("Sam Taylor", "scheduled", THIJS)]
    assert all(r.send_at for r in rows) and live.smtp.to(vacancy, "rejection") == []
    listed = (await thijs.get("/rejections")).text
    assert f'<tr data-vacancy-id="{vacancy}">' in listed


async def test_a_reason_that_says_nothing_is_refused_beside_its_field_and_nothing_is_added(
    live: Kringloop,
) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    opened = await thijs.get(vacancy_page(vacancy))

    stock = await press(thijs, opened, "add",
                        lisa(vacancy, reason="We received many applications."))
    no_address = await press(thijs, opened, "add", lisa(vacancy, email="lisa-at-home"))
    nobody = await press(thijs, opened, "schedule")

    assert stock.status_code == 422
    assert "is een standaardzin" in element(stock.text, "reason-error")
    assert 'id="field-reason" maxlength="600" required aria-invalid="true"' in stock.text
    assert "We received many applications.</textarea>" in stock.text, "what was typed is kept"
    assert hidden_fields(stock.text)["draft"] == "[]"
    assert element(no_address.text, "email-error") == "dit is geen geldig e-mailadres"
    assert nobody.status_code == 422 and "nog niemand" in element(nobody.text, "vacancy-alert")
    assert stored(live, vacancy) == []


async def test_a_scheduled_email_can_be_cancelled_and_a_sent_one_says_it_is_too_late(
    live: Kringloop,
) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).isoformat()
    batch = await live.api.post(f"/api/vacancies/{vacancy}/rejections", headers=ADMIN, json={
        "vacancy_title": "Fietsenmaker", "items": [
            {"applicant": {"id": "a-held", "name": "Noor Bos", "email": "noor@example.nl",
                           "language": "nl"}, "stage": "screening",
             "reasons": [{"code": "certification", "sentence": CERTIFICATE}]},
            {"applicant": {"id": "a-sent", "name": "Kees Mol", "email": "kees@example.nl",
                           "language": "nl"}, "stage": "screening", "send_at": now,
             "reasons": [{"code": "certification", "sentence": CERTIFICATE}]}]})
    assert batch.json()["accepted"] == 2, batch.text
    held, sent = (r["rejection_id"] for r in batch.json()["results"])
    await live.smtp.wait_for(1)
    await live_status(live, sent, "sent")
    anouk = await signed_in(live, ANOUK)
    page = await anouk.get(vacancy_page(vacancy))
    assert "Verstuurd: kan niet meer worden geannuleerd." in row_of(page.text, sent)
    assert f'value="cancel:{sent}"' not in page.text

    asked = await press(anouk, page, f"cancel:{held}")  # a confirmation step first
    cancelled = await press(anouk, asked, f"cancel-confirmed:{held}")
    after = await anouk.get(cancelled.headers["location"])
    too_late = await press(anouk, after, f"cancel:{sent}")

    assert cancelled.status_code == 303
    assert "Geannuleerd: deze sollicitant krijgt de e-mail niet." in after.text
    assert 'data-status="cancelled"' in row_of(after.text, held)
    assert too_late.status_code == 409
    assert "kan niet meer worden geannuleerd" in element(too_late.text, "vacancy-alert")
    assert {r.id: r.status for r in stored(live, vacancy)} == {held: "cancelled", sent: "sent"}


async def test_only_recruiters_lead_and_admin_reach_the_rejection_pages(live: Kringloop) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    scheduled = await press(thijs, await press(thijs, await thijs.get(vacancy_page(vacancy)),
                                               "add", lisa(vacancy)), "schedule")
    assert scheduled.status_code == 303
    [rejection] = stored(live, vacancy)
    anonymous = browser(live)

    to_login = await anonymous.get("/rejections")
    assert to_login.status_code == 303 and to_login.headers["location"].startswith("/login")
    for outsider in (BRAM, ESTHER):
        person = await signed_in(live, outsider)
        assert 'href="/rejections"' not in (await person.get("/queue")).text
        assert (await person.get("/rejections")).status_code == 404
        page = await person.get(vacancy_page(vacancy))
        assert page.status_code == 404 and "Lisa Jansen" not in page.text
        tried = await person.client.post("/rejections/vacancy", data={
            "csrf_token": await person.token("/queue"), "vacancy_id": vacancy,
            "vacancy_title": "Fietsenmaker", "do": f"cancel:{rejection.id}"})
        assert tried.status_code == 404
    for insider in (ANOUK, INGRID):
        assert (await (await signed_in(live, insider)).get("/rejections")).status_code == 200
    forged = await thijs.client.post("/rejections/vacancy", data={
        **hidden_fields((await thijs.get(vacancy_page(vacancy))).text), "csrf_token": "raden",
        "do": f"cancel:{rejection.id}"})
    assert forged.status_code == 403
    assert [r.status for r in stored(live, vacancy)] == ["scheduled"]


async def test_what_recruiters_type_is_shown_as_text_on_the_page_and_in_the_preview(
    live: Kringloop,
) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    opened = await thijs.get(vacancy_page(vacancy, "<b>Monteur</b>"))
    sentence = "Je mist <script>alert(1)</script> ervaring met het testen van accu's."

    added = await press(thijs, opened, "add", lisa(
        vacancy, name='<script>alert("naam")</script> Jansen', reason=sentence))

    assert added.status_code == 200, element(added.text, "add-applicant")
    assert "<script>alert" not in added.text and "<b>Monteur" not in added.text
    assert "&lt;b&gt;Monteur&lt;/b&gt;" in added.text
    assert "&lt;script&gt;alert(&#34;naam&#34;)&lt;/script&gt; Jansen" in added.text
    assert "Je mist &lt;script&gt;alert(1)&lt;/script&gt; ervaring" in element(
        added.text, "preview-0")


def row_of(page: str, rejection_id: str) -> str:
    found = re.search(rf'<tr data-rejection-id="{re.escape(rejection_id)}".*?</tr>', page, re.S)
    assert found, f"{rejection_id} is not listed"
    return found.group(0)


async def live_status(live: Kringloop, rejection_id: str, status: str) -> dict[str, Any]:
    """The rejection once it has `status` (the workflow works asynchronously)."""
    for _ in range(300):
        answer = (await live.api.get(f"/api/rejections/{rejection_id}", headers=ADMIN)).json()
        if answer["status"] == status:
            return answer  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{rejection_id} never became {status}")


# --- the feedback call a rejection can lead to: a case without a score ----------------------------

async def feedback_call_case(live: Kringloop) -> str:
    """Lisa asks for a call about her rejection: a case for Thijs, who wrote it."""
    now = datetime.now(UTC)
    rejection = Rejection(
        id=f"rej-{uuid.uuid4().hex[:8]}", applicant_id=f"a-{uuid.uuid4().hex[:8]}",
        applicant_name="Lisa Jansen", applicant_email="lisa@example.nl", language="nl",
        vacancy_id="v-fietsenmaker", vacancy_title="Fietsenmaker", stage="interview",
        reasons=[{"code": "certification", "sentence": CERTIFICATE}], recruiter_email=THIJS,
        created_by="Thijs Willems", created_at=now, status="sent", send_at=now, sent_at=now)
    with session_for(live.engine) as session:
        session.add(rejection)
        session.commit()
        session.refresh(rejection)
    request = await request_feedback_call(
        rejection, phone="06 12345678", note="Wat mis ik precies?", engine=live.engine,
        client=live.env.client, task_queue=live.settings.task_queue)
    assert request.case_id
    live.started.append(request.case_id)
    case = await live.case_when(request.case_id, lambda c: c["assignee"] and c["callback_due_at"])
    assert (case["score"], case["assignee"]["email"]) == (None, THIJS)
    return request.case_id


async def test_a_feedback_call_shows_as_such_where_a_score_would_be(live: Kringloop) -> None:
    case_id = await feedback_call_case(live)
    move_callback(live, case_id, datetime.now(UTC) - timedelta(minutes=30))  # due this morning
    thijs, anouk = await signed_in(live, THIJS), await signed_in(live, ANOUK)

    queue = row((await thijs.get("/queue")).text, case_id)
    case = (await thijs.get(f"/cases/{case_id}")).text
    board = row((await anouk.get("/teams/werving")).text, case_id)

    for shown in (queue, element(case, "case-score"), board):
        assert "feedbackgesprek" in shown and "None" not in shown
    assert "None" not in case.split("<dl", 1)[1].split("</dl>", 1)[0]


def test_the_morning_digest_names_a_feedback_call_instead_of_a_score() -> None:
    lisa_waits = SimpleNamespace(case_id="case-feedback-1", respondent_name="Lisa Jansen",
                                 score=None, callback_due_at=datetime(2026, 11, 24, 9, tzinfo=UTC))
    for language, words in (("nl", "vraagt om een feedbackgesprek"),
                            ("en", "asks for a feedback call")):
        digest = render("digest", language, context_for(
            "digest", language, overdue=[], due_today=[lisa_waits]))
        assert f"Lisa Jansen ({words})" in digest.text
        assert f"Lisa Jansen</a> ({words})" in digest.html
        assert "None" not in digest.text + digest.html
