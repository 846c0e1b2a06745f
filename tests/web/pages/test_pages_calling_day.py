"""A real calling day in the workspace: the queue says how often a case was tried, the number to
dial and what to do next, and keeps its filters; nothing is chosen for the member in a form;
cancelling a scheduled rejection asks first; and the pages around it say only what they should."""

from __future__ import annotations

import html
import re
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from kringloop.cases.queries import open_case_counts
from kringloop.database import session_for
from kringloop.security.credentials import set_password
from kringloop.services import Services
from kringloop.web.app import create_app
from kringloop.web.pages import outbox as outbox_page
from tests.support.cases import case_for
from tests.support.kringloop import Kringloop
from tests.support.pages import element, row
from tests.support.people import BRAM, ESTHER, INGRID, THIJS
from tests.support.rejections import CERTIFICATE, lisa, press, stored, vacancy_page
from tests.support.web import Browser, browser, signed_in

# --- my queue ----------------------------------------------------------------------------------


async def test_each_queue_row_says_the_attempts_the_number_to_dial_and_the_next_step(
    live: Kringloop,
) -> None:
    fresh = await case_for(live, BRAM, phone="06 1234 5678")
    tried = await case_for(live, BRAM)
    await live.act(tried["case_id"], "callback-attempts", {"outcome": "no_answer",
                                                           "note": "voicemail"})
    reached = await case_for(live, BRAM)
    await live.act(reached["case_id"], "callback-attempts", {"outcome": "reached"})
    bram = await signed_in(live, BRAM)

    queue = (await bram.get("/queue")).text

    first = row(queue, fresh["case_id"])
    assert '<a class="phone" href="tel:0612345678">06 1234 5678</a>' in first
    assert re.search(r'class="attempts">0<', first)
    assert re.search(r'data-step="call">bellen</td>', first)
    again = row(queue, tried["case_id"])
    assert re.search(r'class="attempts">1<br><span class="hint">laatste <time', again)
    # Two working hours after the attempt: later today, or (late at night) the next day.
    assert re.search(r'data-step="try_again">opnieuw proberen na (\w+ \d+ \w+ )?\d\d:\d\d<',
                     again), again
    assert 'data-step="resolve">oplossen — vandaag bereikt<' in row(queue, reached["case_id"])


async def test_the_queue_keeps_its_filters_for_the_session(live: Kringloop) -> None:
    angry = await case_for(live, BRAM, score=1)
    middling = await case_for(live, BRAM, score=6)
    bram = await signed_in(live, BRAM)

    chosen = (await bram.get("/queue", band="0-3")).text
    back_later = (await bram.get("/queue")).text
    elsewhere = (await (await signed_in(live, BRAM)).get("/queue")).text
    cleared = (await bram.get("/queue", status="active")).text
    after_clearing = (await bram.get("/queue")).text

    def shown(html: str) -> set[str]:
        return set(re.findall(r'<tr data-case-id="([^"]+)"', html))

    assert shown(chosen) == shown(back_later) == {angry["case_id"]}
    assert '<option value="0-3" selected>' in back_later and 'id="filters-kept"' in back_later
    assert shown(elsewhere) == {angry["case_id"], middling["case_id"]}, "another session"
    assert shown(cleared) == shown(after_clearing) == {angry["case_id"], middling["case_id"]}
    assert 'id="filters-kept"' not in after_clearing


# --- the case page's forms ----------------------------------------------------------------------

async def test_a_callback_attempt_has_no_outcome_until_the_member_chooses_one(
    live: Kringloop,
) -> None:
    case = await case_for(live, BRAM)
    bram = await signed_in(live, BRAM)
    page = f"/cases/{case['case_id']}"

    outcome = re.search(r'<select name="outcome" id="outcome"([^>]*)>(.*?)</select>',
                        (await bram.get(page)).text, re.S)
    unchosen = await bram.submit(page, f"{page}/callback-attempts", {"note": "Geen idee"})

    assert outcome and " required" in outcome.group(1)
    options = re.findall(r"<option ([^>]*)>", outcome.group(2))
    assert options[0] == 'value="" disabled selected'
    assert not any("selected" in option for option in options[1:])
    assert unchosen.status_code == 422
    assert "callback_attempt" not in [kind for kind, _ in live.timeline(case["case_id"])]


async def test_the_lead_reassigns_seeing_each_colleagues_load_and_nobody_chosen_for_her(
    live: Kringloop,
) -> None:
    case = await case_for(live, BRAM)
    esther = await signed_in(live, ESTHER)
    team = live.org.team("particulier")
    with session_for(live.engine) as session:
        bram_open = open_case_counts(session=session, emails=[BRAM])[BRAM]

    page = (await esther.get(f"/cases/{case['case_id']}")).text
    listing = (await esther.get("/teams/particulier/cases")).text

    reassign = re.search(r'<select name="member" id="member" required>(.*?)</select>', page, re.S)
    assert reassign, "the reassign list"
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>',
                         reassign.group(1))
    assert options[0] == ("", "", "Kies een collega")
    assert not [email for email, selected, _ in options if selected]
    offered = {email: label for email, _, label in options[1:]}
    assert set(offered) == {m.email for m in team.members} - {BRAM}
    lead = team.lead
    assert re.fullmatch(rf"{lead.name} — \d+ open", offered[lead.email])
    on_the_list = re.search(r'<select name="to_member" id="to-member"[^>]*>(.*?)</select>',
                            listing, re.S)
    assert on_the_list and f"Bram de Groot — {bram_open} open" in on_the_list.group(1)
    assert " selected" not in on_the_list.group(1)


# --- a scheduled rejection: read again, cancelled only when confirmed -----------------------------

async def test_cancelling_a_scheduled_rejection_asks_first_and_shows_its_email(
    live: Kringloop,
) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    drafted = await press(thijs, await thijs.get(vacancy_page(vacancy)), "add", lisa(vacancy))
    assert (await press(thijs, drafted, "schedule")).status_code == 303
    [rejection] = stored(live, vacancy)
    page = await thijs.get(vacancy_page(vacancy))

    readable = element(page.text, f"email-{rejection.id}")
    assert "Lees de e-mail nog eens" in readable and "Hoi Lisa," in readable
    assert html.escape(CERTIFICATE, quote=True) in readable

    asked = await press(thijs, page, f"cancel:{rejection.id}")
    assert asked.status_code == 200
    question = element(asked.text, "confirm-cancel")
    assert "De afwijzing aan Lisa Jansen annuleren?" in question and "Hoi Lisa," in question
    assert f'value="cancel-confirmed:{rejection.id}"' in question
    assert [r.status for r in stored(live, vacancy)] == ["scheduled"], "only asked, so far"

    kept = await press(thijs, asked, "keep")
    assert 'id="confirm-cancel"' not in kept.text
    assert [r.status for r in stored(live, vacancy)] == ["scheduled"]

    confirmed = await press(thijs, await press(thijs, kept, f"cancel:{rejection.id}"),
                            f"cancel-confirmed:{rejection.id}")
    assert confirmed.status_code == 303
    assert [r.status for r in stored(live, vacancy)] == ["cancelled"]
    after = (await thijs.get(confirmed.headers["location"])).text
    assert f'id="email-{rejection.id}"' not in after, "a cancelled email is not shown as to go"


# --- the team board, the outbox, the icon ------------------------------------------------------

async def test_the_outbox_numbers_each_email_as_the_how_manieth_sent(
    live: Kringloop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir()
    for n in range(3):
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "loop@kringloop.local", "a@example.nl", f"M{n}"
        mail.set_content(f"Mail {n}")
        (folder / f"2026112{n}T100000-00000000000{n}.eml").write_bytes(bytes(mail))
    monkeypatch.setattr(outbox_page, "SHOWN", 2)
    app = create_app(Services(settings=live.settings, org=live.org, engine=live.engine,
                              temporal=live.env.client, outbox=folder))
    admin = Browser(app)
    with session_for(live.engine) as session:
        set_password(session=session, email=INGRID, password="beheer-het-goed-2x")
    await admin.submit("/login", "/login/password",
                       {"email": INGRID, "password": "beheer-het-goed-2x"})

    page = (await admin.get("/outbox")).text

    assert '<ol class="outbox" reversed start="3">' in page
    assert re.findall(r"<strong>(M\d)</strong>", page) == ["M2", "M1"]


async def test_the_site_has_its_own_icon(live: Kringloop) -> None:
    visitor = browser(live)

    icon = await visitor.get("/favicon.ico")
    login = (await visitor.get("/login")).text

    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg") and "<script" not in icon.text
    assert '<link rel="icon" href="/favicon.ico" type="image/svg+xml">' in login


# --- respondents' pages: the workspace's look, the person's language ----------------------------

@pytest.mark.parametrize(("accept", "heading", "other"), [
    ("en-GB,en;q=0.9", "<h1>This link does not work</h1>", "Deze link werkt niet"),
    ("nl-NL", "<h1>Deze link werkt niet (meer)</h1>", "This link does not work"),
])
async def test_a_link_that_does_not_open_speaks_the_browsers_language(
    live: Kringloop, accept: str, heading: str, other: str,
) -> None:
    answer = await browser(live, language=accept).get("/r/forged")
    neither = await browser(live, language="de").get("/r/forged")

    assert answer.status_code == 400
    assert heading in answer.text and other not in answer.text
    assert "Deze link werkt niet" in neither.text and "This link does not work" in neither.text


async def test_respondents_pages_share_the_workspaces_stylesheet(live: Kringloop) -> None:
    visitor = browser(live)
    workspace = (await visitor.get("/login")).text
    respondent = (await visitor.get("/r/forged")).text

    def stylesheet(html: str) -> str:
        found = re.search(r"<style>(.*?)</style>", html, re.S)
        assert found
        return found.group(1)

    assert stylesheet(workspace).strip() == stylesheet(respondent).strip()
    assert "table.cards" in stylesheet(respondent) and ".scale .choices" in stylesheet(workspace)
    assert '<body class="respondent">' in respondent
