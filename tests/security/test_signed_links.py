"""The links Kringloop hands out (re-survey and candidate scores, a feedback-call request, an
anonymous employee's conversation, the booking of a callback) carry sealed tokens: opaque (no
case or applicant id can be read from them), expiring, and a token made for one kind of link or
one case works for no other. Links already in inboxes (the older signed-only tokens) keep
working; a booking link was never anything but sealed, so no signed-only one opens.

A re-survey link only opens its page: mail scanners open every link in an email, so what
counts is the answer the person sends from that page, and the first one counts.
(Sign-in links, random and single-use in the database, are proven in
tests/web/pages/test_pages.py.)"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from cryptography.fernet import Fernet
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner
from sqlmodel import select
from temporalio.api.enums.v1 import EventType

from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse
from kringloop.security.signed_links import (
    BOOKING_LINK_MAX_AGE_S,
    SCORE_LINK_MAX_AGE_S,
    InvalidLink,
    booking_token,
    conversation_token,
    feedback_call_token,
    read_booking_token,
    read_conversation_token,
    read_feedback_call_token,
    read_score_token,
    read_survey_token,
    score_token,
    survey_token,
)
from tests.support.enps import anonymous_case
from tests.support.intake import settled, unique
from tests.support.kringloop import Kringloop
from tests.support.pages import problems_of

KEY = "a-signing-key"
DAY_S = 24 * 3600
# The salts of the links we sent before tokens were sealed: such links are still in inboxes.
OLD_SALTS = {"re-survey score": "kringloop-resurvey-score",
             "candidate score": "kringloop-candidate-survey",
             "feedback call": "kringloop-feedback-call",
             "conversation": "kringloop-employee-conversation",
             "booking": "kringloop-callback-booking"}  # never sent so: forged, it must not open


@contextmanager
def made_days_ago(days: int) -> Iterator[None]:
    """Tokens made inside this block (sealed, or old-style signed) carry a time `days` ago."""
    then = int(time.time()) - days * DAY_S
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Fernet, "encrypt", lambda self, data: self.encrypt_at_time(data, then))
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: then)
        yield


def old_token(key: str, kind: str, data: dict[str, object]) -> str:
    """A link as Kringloop made it before tokens were sealed: signed, readable base64 JSON."""
    return URLSafeTimedSerializer(key, salt=OLD_SALTS[kind]).dumps(data)


async def customer_case(live: Kringloop) -> str:
    posted = await live.post_response(unique("link"), 4, respondent={
        "name": "Anna de Vries", "email": "anna@example.nl", "language": "nl"})
    await settled(live, posted["case_id"])
    return str(posted["case_id"])


def resurvey_answers(live: Kringloop) -> list[tuple[str | None, int, str | None]]:
    with session_for(live.engine) as session:
        rows = session.exec(select(SurveyResponse).where(SurveyResponse.source == "resurvey"))
        return [(row.resurvey_of, row.score, row.comment) for row in rows]


def relayed(live: Kringloop, case_id: str) -> list[str]:
    return [kind for kind, _ in live.timeline(case_id) if kind.startswith("relay")]


async def signals_to(live: Kringloop, case_id: str) -> int:
    history = await live.env.client.get_workflow_handle(case_id).fetch_history()
    return sum(event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
               for event in history.events)


async def answer(live: Kringloop, token: str, **fields: str) -> httpx.Response:
    """The person presses the page's button: the score as chosen there, and a comment."""
    return await live.api.post(f"/r/{token}", data=fields)


# --- a score link opens a page; only the person's answer counts --------------------------------

async def test_a_mail_scanner_opening_every_score_link_records_nothing_and_the_person_does(
    live: Kringloop,
) -> None:
    key = live.settings.signing_key
    case_id = await customer_case(live)
    links = [score_token(key, case_id=case_id, score=score) for score in range(11)]
    signals = await signals_to(live, case_id)

    opened = [await live.api.get(f"/r/{link}") for link in links]  # the scanner, every link

    assert [page.status_code for page in opened] == [200] * 11
    for score, page in enumerate(opened):
        assert re.search(rf'id="score-{score}" value="{score}" checked', page.text), score
        assert len(re.findall(r'type="radio" name="score"', page.text)) == 11
        assert "<form method=\"post\"" in page.text and 'id="comment"' in page.text
        assert page.headers["cache-control"] == "no-store"
    assert resurvey_answers(live) == []
    assert await signals_to(live, case_id) == signals, "opening a link signals nothing"
    assert (await live.case(case_id))["resurvey_score"] is None

    # The person opens the 3, thinks better of it, picks 8 on the page and writes a line.
    sent = await answer(live, links[3], score="8",
                        comment="Veel beter nu.\n<script>alert('hoi')</script>")

    assert sent.status_code == 200, sent.text
    assert ">8<" in sent.text
    assert "Veel beter nu.\n&lt;script&gt;alert(&#39;hoi&#39;)&lt;/script&gt;" in sent.text
    assert "<script>alert" not in sent.text
    assert resurvey_answers(live) == [
        (case_id, 8, "Veel beter nu.\n<script>alert('hoi')</script>")]
    assert await signals_to(live, case_id) == signals + 1


async def test_the_first_answer_counts_and_a_later_one_or_a_visit_changes_nothing(
    live: Kringloop,
) -> None:
    key = live.settings.signing_key
    case_id = await customer_case(live)
    nine, two = (score_token(key, case_id=case_id, score=s) for s in (9, 2))

    first = await answer(live, nine, score="9", comment="Top")
    second = await answer(live, two, score="2", comment="Toch niet")
    visit = await live.api.get(f"/r/{two}")

    assert (first.status_code, second.status_code, visit.status_code) == (200, 200, 200)
    assert all(">9<" in page.text for page in (first, second, visit)), "the first answer shows"
    assert "We hadden je antwoord al" in second.text and "Toch niet" not in second.text
    assert 'type="radio"' not in visit.text, "no form once the answer is in"
    assert "Top" not in visit.text, "the comment is shown only to whoever just wrote it"
    assert resurvey_answers(live) == [(case_id, 9, "Top")]


async def test_the_thank_you_page_names_nobody(live: Kringloop) -> None:
    link = score_token(live.settings.signing_key, case_id=await customer_case(live), score=7)

    for page in (await answer(live, link, score="7"), await live.api.get(f"/r/{link}")):
        assert page.status_code == 200 and ">7<" in page.text
        assert "Anna" not in page.text and "de Vries" not in page.text


async def test_a_comment_with_control_characters_or_too_long_is_refused_and_kept_to_correct(
    live: Kringloop,
) -> None:
    link = score_token(live.settings.signing_key, case_id=await customer_case(live), score=6)

    control = await answer(live, link, score="6", comment="Goed\x1b[31m gedaan")
    too_long = await answer(live, link, score="6", comment="x" * 2_001)
    no_score = await answer(live, link, score="11", comment="Prima")

    assert (control.status_code, too_long.status_code, no_score.status_code) == (422, 422, 422)
    assert 'role="alert"' in control.text and "tekens die we niet aannemen" in control.text
    assert "hooguit 2.000 tekens" in too_long.text and "x" * 2_001 in too_long.text
    assert "van 0 tot en met 10" in no_score.text and ">Prima</textarea>" in no_score.text
    assert resurvey_answers(live) == [], "nothing stored"

    fine = await answer(live, link, score="6", comment="x" * 2_000)
    assert fine.status_code == 200 and resurvey_answers(live)[0][1:] == (6, "x" * 2_000)


async def test_the_score_page_is_labelled_and_in_the_persons_language(live: Kringloop) -> None:
    posted = await live.post_response(unique("link-en"), 5, respondent={
        "name": "Sam Taylor", "email": "sam@example.com", "language": "en"})
    await settled(live, posted["case_id"])
    dutch = score_token(live.settings.signing_key, case_id=await customer_case(live), score=4)
    english = score_token(live.settings.signing_key, case_id=posted["case_id"], score=4)

    pages = {"nl": await live.api.get(f"/r/{dutch}"), "en": await live.api.get(f"/r/{english}")}

    assert problems_of(pages["nl"].text) == [] and problems_of(pages["en"].text) == []
    assert '<html lang="nl">' in pages["nl"].text and '<html lang="en">' in pages["en"].text
    assert "Verstuur mijn antwoord" in pages["nl"].text
    assert "Send my answer" in pages["en"].text and "Sam" not in pages["en"].text
    for page in pages.values():  # one radio group, each choice with its own label
        assert '<fieldset class="scale"' in page.text and "<legend>" in page.text
        for score in range(11):
            assert f'<label for="score-{score}">{score}</label>' in page.text


# --- every kind expires -------------------------------------------------------------------------

async def test_an_expired_link_of_every_kind_opens_nothing(live: Kringloop) -> None:
    key = live.settings.signing_key
    case_id = await customer_case(live)
    employee = await anonymous_case(live)
    await settled(live, employee["case_id"])
    with made_days_ago(61):  # score and feedback-call links live 60 days
        score = score_token(key, case_id=case_id, score=9)
        candidate = survey_token(key, rejection_id="rej-long-ago", score=2)
        feedback = feedback_call_token(key, rejection_id="rej-long-ago")
    with made_days_ago(181):  # a conversation link lives 180 days
        conversation = conversation_token(key, case_id=employee["case_id"])
    with made_days_ago(31):  # a booking link lives 30 days
        booking = booking_token(key, case_id=case_id)

    answers = {
        "re-survey page": await live.api.get(f"/r/{score}"),
        "re-survey answer": await answer(live, score, score="9"),
        "candidate page": await live.api.get(f"/c/{candidate}"),
        "candidate answer": await live.api.post(f"/c/{candidate}", data={"score": "2"}),
        "feedback-call page": await live.api.get(f"/f/{feedback}"),
        "feedback-call request": await live.api.post(f"/f/{feedback}",
                                                     data={"phone": "0612345678"}),
        "conversation": await live.api.get(f"/e/{conversation}"),
        "conversation message": await live.api.post(f"/e/{conversation}",
                                                     data={"text": "Hallo?"}),
        "booking page": await live.api.get(f"/b/{booking}"),
        "booking": await live.api.post(f"/b/{booking}", data={"slot": "2026-12-08T09:00Z"}),
    }

    assert {name: page.status_code for name, page in answers.items()} == {
        "re-survey page": 400, "re-survey answer": 400, "candidate page": 400,
        "candidate answer": 400, "feedback-call page": 400, "feedback-call request": 400,
        "conversation": 404, "conversation message": 404, "booking page": 400, "booking": 400}
    assert "this link has expired" in answers["re-survey answer"].text
    assert "this link has expired" in answers["candidate page"].text
    assert "this link has expired" in answers["booking"].text
    assert "callback_booked" not in [kind for kind, _ in live.timeline(case_id)]
    assert resurvey_answers(live) == []
    assert relayed(live, employee["case_id"]) == []
    with made_days_ago(59):  # the same link a day younger still works
        still_fresh = score_token(key, case_id=case_id, score=9)
    assert (await answer(live, still_fresh)).status_code == 200
    assert resurvey_answers(live) == [(case_id, 9, None)], "no score posted: the link's own"


def test_score_links_live_sixty_days() -> None:
    assert SCORE_LINK_MAX_AGE_S == 60 * DAY_S
    with made_days_ago(61):
        token = score_token(KEY, case_id="case-r-1", score=3)
    with pytest.raises(InvalidLink, match="expired"):
        read_score_token(KEY, token)
    with made_days_ago(59):
        assert read_score_token(KEY, score_token(KEY, case_id="case-r-1", score=3)).score == 3


# --- a token says nothing, and belongs to one case and one score --------------------------------

TOKENS: dict[str, Callable[[str], str]] = {
    "re-survey score": lambda key: score_token(key, case_id="case-r-1", score=3),
    "candidate score": lambda key: survey_token(key, rejection_id="case-r-1", score=3),
    "feedback call": lambda key: feedback_call_token(key, rejection_id="case-r-1"),
    "conversation": lambda key: conversation_token(key, case_id="case-r-1"),
    "booking": lambda key: booking_token(key, case_id="case-r-1"),
}
OLD_DATA: dict[str, dict[str, object]] = {
    "re-survey score": {"c": "case-r-1", "s": 3}, "candidate score": {"r": "case-r-1", "s": 3},
    "feedback call": {"r": "case-r-1"}, "conversation": {"c": "case-r-1"},
    "booking": {"c": "case-r-1"}}
READERS: dict[str, Callable[[str], object]] = {
    "re-survey score": lambda token: read_score_token(KEY, token),
    "candidate score": lambda token: read_survey_token(KEY, token),
    "feedback call": lambda token: read_feedback_call_token(KEY, token),
    "conversation": lambda token: read_conversation_token(KEY, token),
    "booking": lambda token: read_booking_token(KEY, token),
}
READ = {"re-survey score": "ScoreClick(case_id='case-r-1', score=3)",
        "candidate score": "SurveyClick(rejection_id='case-r-1', score=3)",
        "feedback call": "'case-r-1'", "conversation": "'case-r-1'", "booking": "'case-r-1'"}


def decodings(token: str) -> Iterator[bytes]:
    """Every way a token's base64-looking parts decode, at each of the four alignments."""
    for part in re.findall(r"[A-Za-z0-9_+/=-]{4,}", token):
        for start in range(4):
            piece = part[start:].rstrip("=")
            try:
                yield base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
            except (binascii.Error, ValueError):
                continue


@pytest.mark.parametrize("kind", TOKENS)
def test_a_token_reveals_no_case_or_applicant_id(kind: str) -> None:
    the_id = "case-8f3a2c91-acme-applicant-4711"
    token = {"re-survey score": lambda: score_token(KEY, case_id=the_id, score=3),
             "candidate score": lambda: survey_token(KEY, rejection_id=the_id, score=3),
             "feedback call": lambda: feedback_call_token(KEY, rejection_id=the_id),
             "conversation": lambda: conversation_token(KEY, case_id=the_id),
             "booking": lambda: booking_token(KEY, case_id=the_id)}[kind]()

    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), "URL-safe as it is"
    assert "." not in token, "never the old readable format"
    for secret in (the_id, "4711", "acme"):
        assert secret not in token
        for decoded in decodings(token):
            assert secret.encode() not in decoded, (secret, decoded)
    assert READERS[kind](token) is not None
    assert score_token(KEY, case_id=the_id, score=3) != score_token(
        KEY, case_id=the_id, score=3), "sealed afresh each time: equal links do not show"


@pytest.mark.parametrize("kind", TOKENS)
def test_a_changed_character_anywhere_in_a_token_makes_it_invalid(kind: str) -> None:
    token = TOKENS[kind](KEY)

    for position, character in enumerate(token):
        for replacement in {"A", "B", "a", "z", "0", "-", "_"} - {character}:
            with pytest.raises(InvalidLink, match="not valid"):
                READERS[kind](token[:position] + replacement + token[position + 1:])
    for changed in (token[:-1], token + "A", token + "=", token + ".", "", token.lower()):
        with pytest.raises(InvalidLink, match="not valid"):
            READERS[kind](changed)
    with pytest.raises(InvalidLink, match="not valid"):
        READERS[kind](TOKENS[kind]("a-guessed-key"))


@pytest.mark.parametrize("made_for", TOKENS)
def test_a_token_made_for_one_kind_of_link_opens_no_other(made_for: str) -> None:
    old = [] if made_for == "booking" else [old_token(KEY, made_for, OLD_DATA[made_for])]
    for token in (TOKENS[made_for](KEY), *old):
        assert repr(READERS[made_for](token)) == READ[made_for]
        for kind, read in READERS.items():
            if kind != made_for:
                with pytest.raises(InvalidLink, match="not valid"):
                    read(token)


def test_a_booking_link_signed_the_old_way_never_opens() -> None:
    """There never were signed-only booking links: one that looks like it is forged."""
    with pytest.raises(InvalidLink, match="not valid"):
        read_booking_token(KEY, old_token(KEY, "booking", OLD_DATA["booking"]))


def test_booking_links_live_thirty_days() -> None:
    assert BOOKING_LINK_MAX_AGE_S == 30 * DAY_S
    with made_days_ago(31):
        token = booking_token(KEY, case_id="case-b-1")
    with pytest.raises(InvalidLink, match="expired"):
        read_booking_token(KEY, token)
    with made_days_ago(29):
        assert read_booking_token(KEY, booking_token(KEY, case_id="case-b-1")) == "case-b-1"


async def test_a_score_link_cannot_be_moved_to_another_case(live: Kringloop) -> None:
    key = live.settings.signing_key
    mine, theirs = await customer_case(live), await customer_case(live)
    link = score_token(key, case_id=mine, score=9)
    old_link = old_token(key, "re-survey score", {"c": mine, "s": 9})
    old_theirs = old_token(key, "re-survey score", {"c": theirs, "s": 0})

    attempts = {
        "an old link's payload with another's signature":
            f"{old_theirs.partition('.')[0]}.{old_link.partition('.')[2]}",
        "signed with another key": score_token("a-guessed-key", case_id=theirs, score=0),
        "the case's conversation link": conversation_token(key, case_id=theirs),
        "the case's booking link": booking_token(key, case_id=theirs),
        "a byte changed": link[:60] + ("A" if link[60] != "A" else "B") + link[61:],
        "garbage": "eyJjIjoiY2FzZS14In0.abc.def",
    }
    for what, token in attempts.items():
        page = await live.api.get(f"/r/{token}")
        sent = await answer(live, token, score="0")
        assert (page.status_code, sent.status_code) == (400, 400), what
        assert "Deze link werkt niet" in sent.text
    assert resurvey_answers(live) == []

    assert (await answer(live, link, score="9")).status_code == 200
    assert resurvey_answers(live) == [(mine, 9, None)]
    with session_for(live.engine) as session:
        assert session.get(Case, theirs).resurvey_score is None  # type: ignore[union-attr]


# --- links already in inboxes keep working ----------------------------------------------------

async def test_a_link_sent_before_tokens_were_sealed_still_works(live: Kringloop) -> None:
    key = live.settings.signing_key
    case_id = await customer_case(live)
    employee = await anonymous_case(live)
    await settled(live, employee["case_id"])
    with made_days_ago(179):  # given once, never stored: it must last its 180 days
        conversation = old_token(key, "conversation", {"c": employee["case_id"]})
    with made_days_ago(181):
        too_old = old_token(key, "conversation", {"c": employee["case_id"]})
    with made_days_ago(61):
        expired_score = old_token(key, "re-survey score", {"c": case_id, "s": 2})
    score = old_token(key, "re-survey score", {"c": case_id, "s": 7})

    assert (await live.api.get(f"/e/{conversation}")).status_code == 200
    assert (await live.api.get(f"/e/{too_old}")).status_code == 404
    refused = await answer(live, expired_score, score="2")
    assert refused.status_code == 400 and "this link has expired" in refused.text
    page = await live.api.get(f"/r/{score}")
    assert page.status_code == 200 and 'id="score-7" value="7" checked' in page.text
    assert (await answer(live, score, score="7")).status_code == 200
    assert resurvey_answers(live) == [(case_id, 7, None)]
