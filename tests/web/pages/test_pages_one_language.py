"""One language, one clock: a member reads the case page in their own language and on their team's
clock, and is told which language the respondent reads, and when their words are not in it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from kringloop.database import session_for
from kringloop.rejections.models import Rejection
from tests.support.cases import case_for
from tests.support.kringloop import Kringloop
from tests.support.pages import element
from tests.support.people import BRAM, PRIYA, THIJS
from tests.support.rejections import CERTIFICATE, press, vacancy_page
from tests.support.web import signed_in

ANOUK = "anouk.peters@fietsenwinkel.example"  # lead of Werving & Selectie, Dutch

IN_DUTCH = {"root_cause": "delivery-late",
            "action_taken": "We hebben een nieuwe fiets voor je besteld en die komt dinsdag.",
            "message": "Het spijt ons dat het zo lang heeft geduurd. Bedankt voor je geduld!"}
IN_ENGLISH = {"root_cause": "delivery-late",
              "action_taken": "We ordered a new bike for you and it arrives on Tuesday.",
              "message": "We are sorry it took so long. Thank you for your patience!"}


async def test_the_resolve_form_says_the_respondent_reads_english_and_warns_of_dutch_words(
    live: Kringloop,
) -> None:
    case = await case_for(live, BRAM, language="en")
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)

    form = (await bram.get(page)).text
    dutch_words = await bram.submit(page, f"{page}/closing-preview", IN_DUTCH)
    english_words = await bram.submit(page, f"{page}/closing-preview", IN_ENGLISH)

    assert element(form, "respondent-reads") == "Anna leest Engels."
    assert 'id="language-warning"' not in form
    assert element(dutch_words.text, "language-warning") == (
        "Anna leest Engels; je tekst lijkt Nederlands. Schrijf in het Engels.")
    # The preview is the email Anna gets: in English, whatever Bram's page speaks.
    preview = element(dutch_words.text, "closing-preview")
    assert "Anna, here&#39;s what we did with your feedback" in preview
    assert "Hi Anna," in preview and '<pre class="mail" lang="en">' in preview
    assert element(dutch_words.text, "closing-preview-language") == "(Engels)"
    assert english_words.status_code == 200
    assert 'id="language-warning"' not in english_words.text


async def test_a_dutch_respondent_and_dutch_words_need_no_warning(live: Kringloop) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)

    dutch_words = await bram.submit(page, f"{page}/closing-preview", IN_DUTCH)
    english_words = await bram.submit(page, f"{page}/closing-preview", IN_ENGLISH)
    too_short = await bram.submit(page, f"{page}/closing-preview", {
        "root_cause": "price", "action_taken": "OK", "message": "Prima"})

    assert element(dutch_words.text, "respondent-reads") == "Anna leest Nederlands."
    assert 'id="language-warning"' not in dutch_words.text
    assert "Anna, dit hebben we met je feedback gedaan" in element(
        dutch_words.text, "closing-preview")
    assert element(english_words.text, "language-warning") == (
        "Anna leest Nederlands; je tekst lijkt Engels. Schrijf in het Nederlands.")
    assert 'id="language-warning"' not in too_short.text, "too little to tell: no guess"


async def test_root_causes_are_words_in_the_form_and_on_the_resolved_case(
    live: Kringloop,
) -> None:
    case = await case_for(live, BRAM)
    page = f"/cases/{case['case_id']}"
    bram = await signed_in(live, BRAM)

    form = (await bram.get(page)).text
    assert '<option value="delivery-late">te late levering</option>' in form
    assert '<option value="rude-or-unhelpful-staff">onvriendelijk of onbehulpzaam personeel' \
        '</option>' in form
    assert (await bram.submit(page, f"{page}/resolve", IN_DUTCH)).status_code == 303
    await live.case_when(case["case_id"], lambda c: c["resolved_at"])

    resolved = (await bram.get(page)).text
    assert element(resolved, "case-root-cause") == "te late levering"
    resolution = re.search(r'<li data-kind="resolution">(.*?)</li>', resolved, re.S)
    assert resolution, "the resolution is on the timeline"
    assert '<span class="detail">te late levering: We hebben een nieuwe fiets' in resolution[1]


async def test_the_timeline_reads_in_the_members_language_on_their_teams_clock(
    live: Kringloop,
) -> None:
    dutch_case = await case_for(live, BRAM)
    english_case = await case_for(live, PRIYA, language="en")
    bram, priya = await signed_in(live, BRAM), await signed_in(live, PRIYA)

    dutch = element((await bram.get(f"/cases/{dutch_case['case_id']}")).text, "timeline")
    english = element((await priya.get(f"/cases/{english_case['case_id']}")).text, "timeline")

    for timeline in (dutch, english):
        assert "UTC" not in timeline
    assert "criticus, score 4 (klant)" in dutch and "ontvangstbevestiging aan Anna" in dutch
    assert "bellen binnen 48 werkuren" in dutch and "belt uiterlijk" in dutch
    assert "due within" not in dutch and "acknowledgement" not in dutch
    # Priya's team works in London: the promise made in her name is on London's clock.
    due = datetime.fromisoformat(english_case["callback_due_at"])
    london = format_datetime(due, "EEE d MMM HH:mm", tzinfo=ZoneInfo("Europe/London"),
                             locale="en")
    assert f"Priya Nair calls by {london}" in english
    assert "detractor, score 4 (customer)" in english


async def test_a_rejection_sent_already_says_so_in_dutch_on_the_teams_clock(
    live: Kringloop,
) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    sent_at = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)  # 15:05 in Amsterdam
    rejection_id = f"rej-{uuid.uuid4().hex[:8]}"
    with session_for(live.engine) as session:
        session.add(Rejection(
            id=rejection_id, applicant_id="a-kees", applicant_name="Kees Mol",
            applicant_email="kees@example.nl", language="nl", vacancy_id=vacancy,
            vacancy_title="Fietsenmaker", stage="interview",
            reasons=[{"code": "certification", "sentence": CERTIFICATE}],
            recruiter_email=THIJS, created_by="Thijs Willems", created_at=sent_at,
            status="sent", send_at=sent_at, sent_at=sent_at))
        session.commit()
    anouk = await signed_in(live, ANOUK)
    page = await anouk.get(vacancy_page(vacancy))

    too_late = await press(anouk, page, f"cancel-confirmed:{rejection_id}")

    assert too_late.status_code == 409
    assert element(too_late.text, "vacancy-alert") == (
        "De e-mail is al verstuurd (di 1 dec 15:05) en kan niet meer worden geannuleerd.")
    assert "UTC" not in too_late.text
    # The reasons a recruiter picks from are words too.
    assert '<option value="certification">diploma of certificaat</option>' in page.text
    assert '<option value="other-candidate-stronger">een andere kandidaat paste beter' \
        '</option>' in page.text
