"""The respondent's emails on the case page: Bram reads Anna's reply (escaped, her words only),
answers it from the page, and a refused answer is not kept."""

from __future__ import annotations

from sqlmodel import select

from kringloop.cases.models import CaseMessage
from kringloop.cases.replies import ArrivedMail, take_in_mail
from kringloop.database import session_for
from kringloop.mail.reply_addresses import reply_token_for
from tests.support.cases import case_for
from tests.support.kringloop import Kringloop
from tests.support.pages import element
from tests.support.people import BRAM
from tests.support.web import signed_in


async def test_bram_reads_annas_reply_and_answers_it_from_the_case_page(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    case_id = case["case_id"]
    page = f"/cases/{case_id}"
    bram = await signed_in(live, BRAM)
    assert 'id="case-emails"' not in (await bram.get(page)).text
    assert 'id="answer-text"' not in (await bram.get(page)).text, "nothing to answer yet"

    with session_for(live.engine) as session:
        token = reply_token_for(session.connection(), case_id)
        session.commit()
    await take_in_mail(ArrivedMail(
        kind="reply", message_id="<anna-1@mail.example.nl>", sender="anna@example.nl",
        subject="Re: We bellen je terug", text="Bel me na vijven <script>alert(1)</script>",
        token=token), case_id=case_id, engine=live.engine, client=live.env.client)

    shown = (await bram.get(page)).text
    emails = element(shown, "case-emails")
    assert "Bel me na vijven &lt;script&gt;" in emails and "<script>" not in emails
    assert "hun mail" in emails and "Re: We bellen je terug" in emails

    answered = await bram.submit(page, f"{page}/answers",
                                 {"text": "Prima, ik bel je om kwart over vijf."})
    assert answered.status_code == 303, answered.text
    assert "Je antwoord is onderweg naar de respondent" in (await bram.get(page)).text
    [sent] = await live.smtp.wait_for_kind("anna@example.nl", "case_answer", 1)
    assert str(sent["In-Reply-To"]) == "<anna-1@mail.example.nl>"
    assert "Bram de Groot via" in str(sent["From"])

    empty = await bram.submit(page, f"{page}/answers", {"text": "   "})
    assert empty.status_code == 422
    with session_for(live.engine) as session:
        kept = session.exec(select(CaseMessage.kind).where(
            CaseMessage.case_id == case_id)).all()
    assert sorted(kept) == ["answer", "reply"], "the refused answer is not kept"
