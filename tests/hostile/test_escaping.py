"""Markup that Kringloop accepts (in a name, a comment, a note, a reason) is shown as text wherever
it comes back out: on the case page, on an employee's conversation page, on an applicant's
feedback-call page, and in every email that reaches the mail server. Nothing a respondent or
applicant typed ever runs in a member's browser or mail client."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

from markupsafe import escape
from sqlmodel import select

from kringloop.cases.models import FeedbackCallRequest
from kringloop.database import session_for
from tests.support.enps import anonymous_case, write
from tests.support.intake import settled
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.mail import body_of
from tests.support.pages import assert_inert
from tests.support.people import INGRID
from tests.support.web import signed_in

NAME = "<img src=x onerror=alert('naam')>Anna de Vries"
COMMENT = "Fiets kapot.\n<script>alert('opmerking')</script>\n\"'><img src=x onerror=alert(2)>"
SEGMENT = "<b onmouseover=alert(3)>webshop</b>"
RESPONDENT = "klant-<svg onload=alert(4)>"
NOTE = "<iframe src=//evil.example></iframe> twee keer gebeld"
ACTION = "<script>alert('actie')</script> nieuwe fiets geleverd"
MESSAGE = "</textarea><svg onload=alert(5)> excuses, en dank voor je geduld."
CASE_TEXTS = (NAME, COMMENT, SEGMENT, RESPONDENT, NOTE, ACTION, MESSAGE)


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def assert_mail_is_inert(messages: list[EmailMessage], texts: tuple[str, ...]) -> None:
    """Every email: its HTML runs nothing, and no header was added by what someone typed."""
    assert messages
    for message in messages:
        assert_inert(html_of(message), texts=texts)
        assert len(message.get_all("Subject") or []) == 1 and message["Bcc"] is None


async def test_markup_from_a_detractor_is_text_on_the_case_page_and_in_every_email(
        live: Kringloop) -> None:
    response_id = f"markup-{uuid.uuid4().hex[:8]}"
    posted = await live.post_response(response_id, 2, comment=COMMENT, respondent={
        "id": RESPONDENT, "name": NAME, "email": f"{response_id}@example.nl",
        "segment": SEGMENT, "language": "nl"})
    case_id = posted["case_id"]
    await settled(live, case_id)
    assert (await live.act(case_id, "notes", {"text": NOTE})).status_code == 200
    resolved = await live.act(case_id, "resolve", {
        "root_cause": "delivery-late", "action_taken": ACTION, "message": MESSAGE})
    assert resolved.status_code == 200, resolved.text
    await live.case_when(case_id, lambda c: any(
        e["kind"] == "email_sent" and "closing" in e["detail"] for e in c["timeline"]))

    page = await (await signed_in(live, INGRID)).get(f"/cases/{case_id}")

    assert page.status_code == 200
    assert_inert(page.text, texts=CASE_TEXTS)
    for text in (NAME, COMMENT, SEGMENT, NOTE, ACTION):
        assert str(escape(text)) in page.text, f"{text!r} is shown, as text"
    case_mail = [m for m in live.smtp.received if m["X-Kringloop-Kind"] != "sign_in"]
    assert {m["X-Kringloop-Kind"] for m in case_mail} >= {"acknowledgement", "assignment",
                                                          "closing"}
    assert_mail_is_inert(case_mail, CASE_TEXTS)
    [closing] = live.smtp.to(f"{response_id}@example.nl", "closing")
    assert str(escape(MESSAGE)) in html_of(closing) and MESSAGE in body_of(closing)


async def test_markup_in_an_employee_conversation_is_text_on_both_sides(live: Kringloop) -> None:
    said = "<script>alert('medewerker')</script> het rooster klopt niet"
    answered = "\"'><img src=x onerror=alert('team')> laten we praten"
    posted = await anonymous_case(live, comment=COMMENT)
    link, case_id = posted["conversation_url"], posted["case_id"]
    await settled(live, case_id)

    assert (await write(live, link, said)).status_code == 303
    reply = await live.api.post(f"/api/cases/{case_id}/relay-replies", json={"text": answered},
                                headers=ADMIN)
    assert reply.status_code == 200, reply.text
    conversation = await live.api.get(link)
    case_page = await (await signed_in(live, INGRID)).get(f"/cases/{case_id}")

    for page in (conversation, case_page):
        assert page.status_code == 200
        assert_inert(page.text, texts=(said, answered, COMMENT))
        assert str(escape(said)) in page.text and str(escape(answered)) in page.text
    assert_mail_is_inert(list(live.smtp.received), (said, answered, COMMENT))


async def test_a_nul_in_an_employee_message_is_refused_and_nothing_is_added(
        live: Kringloop) -> None:
    posted = await anonymous_case(live)
    link, case_id = posted["conversation_url"], posted["case_id"]
    before = await settled(live, case_id)

    refused = await write(live, link, "Hallo\x00daar")

    assert refused.status_code == 422
    after = await live.case(case_id)
    assert len(after["timeline"]) == len(before["timeline"])


async def test_markup_in_a_rejection_is_text_in_the_email_and_on_the_feedback_call_page(
        live: Kringloop) -> None:
    tag = uuid.uuid4().hex[:8]
    name = "<img src=x onerror=alert('sollicitant')>Lisa Jansen"
    title = "<script>alert('vacature')</script> Fietsenmaker"
    sentence = ("Voor deze rol is het diploma <b onclick=alert(1)>Fietstechnicus</b> niveau 3 "
                "nodig, en dat heb je (nog) niet.")
    email = f"sollicitant-{tag}@example.nl"
    answer = await live.api.post("/api/rejections", headers=ADMIN, json={
        "applicant": {"id": f"sol-{tag}", "name": name, "email": email, "language": "nl"},
        "vacancy": {"id": f"v-{tag}", "title": title}, "stage": "interview",
        "reasons": [{"code": "certification", "sentence": sentence}],
        "send_at": datetime.now(UTC).isoformat()})
    assert answer.status_code == 202, answer.text
    live.started.append(answer.json()["rejection_id"])
    await live.smtp.wait_for(1, timeout=20)
    [rejection] = live.smtp.to(email, "rejection")
    texts = (name, title, sentence)
    assert_mail_is_inert([rejection], texts)
    found = re.search(r"http://kringloop\.test(/f/\S+)", body_of(rejection))
    assert found, body_of(rejection)
    link = found.group(1)

    page = await live.api.get(link)
    nul = await live.api.post(link, data={"phone": "06 12345678", "note": "Bel\x00me"})

    assert page.status_code == 200
    assert_inert(page.text, texts=texts)
    assert nul.status_code == 422 and nul.json()["field"] == "note"
    with session_for(live.engine) as session:
        assert session.exec(select(FeedbackCallRequest)).all() == []

    asked = await live.api.post(link, data={"phone": "06 12345678", "note": NOTE})

    assert asked.status_code == 200, asked.text
    live.started.append(f"case-feedback-{answer.json()['rejection_id']}")
    assert_inert(asked.text, texts=(*texts, NOTE))
    await live.smtp.wait_for(2, timeout=20)
    assert_mail_is_inert(list(live.smtp.received), (*texts, NOTE))

