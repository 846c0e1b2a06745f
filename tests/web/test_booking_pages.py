"""The respondent books their callback from the link in our email: opening it (as a mail scanner
does) changes nothing; pressing a time books it with the case, which both confirm by email with
an invitation for the calendar; a time no longer free, a forged or expired link, a link of
another kind and a finished case are each answered plainly."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import icalendar
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import select

from kringloop.cases.models import Case, TimelineEntry
from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.responses.models import SurveyResponse
from kringloop.security.signed_links import booking_token, score_token
from kringloop.settings import Settings
from tests.support.intake import settled, unique
from tests.support.kringloop import Kringloop
from tests.support.mail import links_in
from tests.support.pages import assert_inert, problems_of
from tests.support.web import web_client

SCRIPT = "<script>alert(1)</script>"
SLOT = re.compile(r'<button type="submit" name="slot" value="([^"]+)">([^<]+)</button>')


def link(settings: Settings, case_id: str) -> str:
    return f"/b/{booking_token(settings.signing_key, case_id=case_id)}"


def respondent(engine: Engine, case_id: str, **fields: str) -> None:
    """Change who answered (their name, their language)."""
    with session_for(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        answer = session.get(SurveyResponse, case.response_id)
        assert answer is not None
        for name, value in fields.items():
            setattr(answer, name, value)
        session.add(answer)
        session.commit()


def case_status(engine: Engine, case_id: str, status: str) -> None:
    with session_for(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.status = status
        session.add(case)
        session.commit()


def stored(engine: Engine, case_id: str) -> tuple[object, ...]:
    """What a booking would change: the case row and its timeline."""
    with session_for(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        timeline = session.exec(select(TimelineEntry).where(TimelineEntry.case_id == case_id))
        return case.model_dump_json(), [entry.model_dump_json() for entry in timeline]


@pytest.fixture
async def web(settings: Settings, org: Organisation, engine: Engine
              ) -> AsyncIterator[httpx.AsyncClient]:
    """The pages without Temporal: nothing these tests post gets as far as the case."""
    async with web_client(settings, org, engine) as client:
        yield client


async def test_opening_the_link_shows_free_times_and_changes_nothing(
    web: httpx.AsyncClient, assigned_case: str, engine: Engine, settings: Settings,
) -> None:
    before = stored(engine, assigned_case)

    page = await web.get(link(settings, assigned_case))
    again = await web.get(link(settings, assigned_case))

    assert page.status_code == again.status_code == 200
    assert stored(engine, assigned_case) == before
    slots = SLOT.findall(page.text)
    assert len(slots) >= 16
    assert all(label.endswith("(Europe/Amsterdam)") for _, label in slots)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", value) for value, _ in slots)
    assert 'lang="nl"' in page.text and "Hoi Lieke" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert problems_of(page.text) == []


async def test_a_time_not_offered_is_refused_in_the_persons_language_and_nothing_changes(
    web: httpx.AsyncClient, assigned_case: str, engine: Engine, settings: Settings,
) -> None:
    respondent(engine, assigned_case, language="en")
    before = stored(engine, assigned_case)
    for slot in ("2025-12-08T09:00Z", "2099-12-08T09:10Z", "tomorrow", ""):
        refused = await web.post(link(settings, assigned_case), data={"slot": slot})

        assert refused.status_code == 422
        assert 'lang="en"' in refused.text
        assert 'data-field="slot"' in refused.text
        assert "That time is no longer free" in refused.text
        assert SLOT.search(refused.text), "with the times still free to pick from"
    assert stored(engine, assigned_case) == before


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_forged_or_expired_link_or_one_of_another_kind_opens_nothing(
    web: httpx.AsyncClient, assigned_case: str, engine: Engine, settings: Settings, method: str,
) -> None:
    key = settings.signing_key
    month_ago = int(time.time()) - 31 * 24 * 3600
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Fernet, "encrypt", lambda self, data: self.encrypt_at_time(data, month_ago))
        expired = booking_token(key, case_id=assigned_case)
    before = stored(engine, assigned_case)
    tokens = {
        "forged": "forged",
        "another key": booking_token("a-guessed-key", case_id=assigned_case),
        "a score link's": score_token(key, case_id=assigned_case, score=3),
        "expired": expired,
    }

    for what, token in tokens.items():
        answer = await web.request(method, f"/b/{token}", data={"slot": "2026-12-08T09:00Z"}
                                   if method == "POST" else None)

        assert answer.status_code == 400, what
        reason = "this link has expired" if what == "expired" else "this link is not valid"
        assert reason in answer.text, what
        assert "Deze link werkt niet" in answer.text
    assert stored(engine, assigned_case) == before


async def test_a_finished_case_says_so_politely(
    web: httpx.AsyncClient, assigned_case: str, engine: Engine, settings: Settings,
) -> None:
    case_status(engine, assigned_case, "resolved")

    page = await web.get(link(settings, assigned_case))
    pressed = await web.post(link(settings, assigned_case), data={"slot": "2026-12-08T09:00Z"})

    assert page.status_code == 200 and pressed.status_code == 409
    for answer in (page, pressed):
        assert "Dit gesprek is al afgerond" in answer.text
        assert not SLOT.search(answer.text)


async def test_the_respondents_name_is_shown_as_text_never_run(
    web: httpx.AsyncClient, assigned_case: str, engine: Engine, settings: Settings,
) -> None:
    respondent(engine, assigned_case, name=f"{SCRIPT} Smit")

    page = await web.get(link(settings, assigned_case))

    assert page.status_code == 200
    assert_inert(page.text, texts=(SCRIPT,))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_the_respondent_books_a_time_and_both_calendars_get_it(live: Kringloop) -> None:
    posted = await live.post_response(unique("book"), 3, respondent={
        "name": "Anna de Vries", "email": "anna@example.nl", "language": "nl"})
    case_id = posted["case_id"]
    await settled(live, case_id)
    [acknowledgement] = live.smtp.to("anna@example.nl", "acknowledgement")
    [booking_link] = links_in(acknowledgement, "/b/")
    page = await live.api.get(booking_link)
    value, label = SLOT.findall(page.text)[3]

    pressed = await live.api.post(booking_link, data={"slot": value})

    assert pressed.status_code == 303 and pressed.headers["location"] == booking_link
    chosen = datetime.strptime(value, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    case = await live.case(case_id)
    assert datetime.fromisoformat(case["callback_due_at"]) == chosen
    assert ("callback_booked", f"callback booked for {chosen:%Y-%m-%d %H:%M} UTC") in \
        live.timeline(case_id)
    booked_page = await live.api.get(booking_link)
    assert f"Je belafspraak staat: <strong>{label}</strong>" in booked_page.text
    assert SLOT.search(booked_page.text), "and another time may still be picked"
    await settled(live, case_id)
    [confirmation] = live.smtp.to("anna@example.nl", "booking_confirmed")
    [notice] = live.smtp.to(case["assignee"]["email"], "callback_booked")
    for message in (confirmation, notice):
        [invitation] = [part for part in message.iter_attachments()
                        if part.get_content_type() == "text/calendar"]
        [event] = icalendar.Calendar.from_ical(invitation.get_content()).walk("VEVENT")
        assert event.decoded("DTSTART") == chosen
