"""The links Kringloop hands out (re-survey and candidate scores, a feedback-call request, an
anonymous employee's conversation) are signed tokens: they expire, a token made for one kind
of link or one case works for no other, and a re-survey's first click is the one that counts.
(Sign-in links, random and single-use in the database, are proven in tests/test_pages.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from itsdangerous.timed import TimestampSigner
from sqlmodel import select

from kringloop.database import session_for
from kringloop.models import SurveyResponse
from kringloop.signed_links import (
    SCORE_LINK_MAX_AGE_S,
    InvalidLink,
    conversation_token,
    feedback_call_token,
    read_conversation_token,
    read_feedback_call_token,
    read_score_token,
    read_survey_token,
    score_token,
    survey_token,
)
from tests.conftest import Kringloop
from tests.test_enps_relay import anonymous_case
from tests.test_intake_api import settled, unique

KEY = "a-signing-key"
DAY_S = 24 * 3600


@contextmanager
def signed_days_ago(days: int) -> Iterator[None]:
    """Tokens made inside this block carry a timestamp `days` in the past."""
    then = int(time.time()) - days * DAY_S
    original = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: then  # type: ignore[method-assign]
    try:
        yield
    finally:
        TimestampSigner.get_timestamp = original  # type: ignore[method-assign]


async def customer_case(live: Kringloop) -> str:
    posted = await live.post_response(unique("link"), 4, respondent={
        "name": "Anna de Vries", "email": "anna@example.nl", "language": "nl"})
    await settled(live, posted["case_id"])
    return str(posted["case_id"])


def resurvey_answers(live: Kringloop) -> list[tuple[str | None, int]]:
    with session_for(live.engine) as session:
        rows = session.exec(select(SurveyResponse).where(SurveyResponse.source == "resurvey"))
        return [(row.resurvey_of, row.score) for row in rows]


def relayed(live: Kringloop, case_id: str) -> list[str]:
    return [kind for kind, _ in live.timeline(case_id) if kind.startswith("relay")]


# --- every kind expires --------------------------------------------------------------------------

async def test_an_expired_link_of_every_kind_opens_nothing(live: Kringloop) -> None:
    key = live.settings.signing_key
    case_id = await customer_case(live)
    employee = await anonymous_case(live)
    await settled(live, employee["case_id"])
    with signed_days_ago(61):  # score and feedback-call links live 60 days
        score = score_token(key, case_id=case_id, score=9)
        candidate = survey_token(key, rejection_id="rej-long-ago", score=2)
        feedback = feedback_call_token(key, rejection_id="rej-long-ago")
    with signed_days_ago(181):  # a conversation link lives 180 days
        conversation = conversation_token(key, case_id=employee["case_id"])

    answers = {
        "re-survey score": await live.api.get(f"/r/{score}"),
        "candidate score": await live.api.get(f"/c/{candidate}"),
        "feedback-call page": await live.api.get(f"/f/{feedback}"),
        "feedback-call request": await live.api.post(f"/f/{feedback}",
                                                     data={"phone": "0612345678"}),
        "conversation": await live.api.get(f"/e/{conversation}"),
        "conversation message": await live.api.post(f"/e/{conversation}",
                                                     data={"text": "Hallo?"}),
    }

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "re-survey score": 400, "candidate score": 400, "feedback-call page": 400,
        "feedback-call request": 400, "conversation": 404, "conversation message": 404}
    assert "this link has expired" in answers["re-survey score"].text
    assert resurvey_answers(live) == []
    assert relayed(live, employee["case_id"]) == []
    with signed_days_ago(59):  # the same link a day younger still works
        still_fresh = score_token(key, case_id=case_id, score=9)
    assert (await live.api.get(f"/r/{still_fresh}")).status_code == 200


# --- a score link belongs to one case and one score --------------------------------------------

def _spliced(payload_from: str, signature_from: str) -> str:
    """One token's payload with another token's timestamp and signature."""
    payload, _, _ = payload_from.partition(".")
    _, _, stamp_and_signature = signature_from.partition(".")
    return f"{payload}.{stamp_and_signature}"


async def test_a_score_link_cannot_be_moved_to_another_case_or_another_score(
    live: Kringloop,
) -> None:
    key = live.settings.signing_key
    mine, theirs = await customer_case(live), await customer_case(live)
    link = score_token(key, case_id=mine, score=9)

    attempts = {
        "another case": _spliced(score_token(key, case_id=theirs, score=9), link),
        "another score": _spliced(score_token(key, case_id=mine, score=2), link),
        "signed with another key": score_token("a-guessed-key", case_id=theirs, score=0),
        "the case's conversation link": conversation_token(key, case_id=theirs),
        "garbage": "eyJjIjoiY2FzZS14In0.abc.def",
    }
    for what, token in attempts.items():
        answer = await live.api.get(f"/r/{token}")
        assert answer.status_code == 400, what
        assert "Deze link werkt niet" in answer.text
    assert resurvey_answers(live) == []

    assert (await live.api.get(f"/r/{link}")).status_code == 200
    assert resurvey_answers(live) == [(mine, 9)]


async def test_a_second_click_on_another_score_changes_nothing(live: Kringloop) -> None:
    key = live.settings.signing_key
    case_id = await customer_case(live)

    first = await live.api.get(f"/r/{score_token(key, case_id=case_id, score=9)}")
    second = await live.api.get(f"/r/{score_token(key, case_id=case_id, score=2)}")

    assert (first.status_code, second.status_code) == (200, 200)
    assert ">9<" in first.text and ">9<" in second.text, "the thank-you shows the first score"
    assert resurvey_answers(live) == [(case_id, 9)]


# --- one kind of link is no other kind ----------------------------------------------------------

TOKENS: dict[str, Callable[[], str]] = {
    "re-survey score": lambda: score_token(KEY, case_id="case-r-1", score=3),
    "candidate score": lambda: survey_token(KEY, rejection_id="case-r-1", score=3),
    "feedback call": lambda: feedback_call_token(KEY, rejection_id="case-r-1"),
    "conversation": lambda: conversation_token(KEY, case_id="case-r-1"),
}
READERS: dict[str, Callable[[str], object]] = {
    "re-survey score": lambda token: read_score_token(KEY, token),
    "candidate score": lambda token: read_survey_token(KEY, token),
    "feedback call": lambda token: read_feedback_call_token(KEY, token),
    "conversation": lambda token: read_conversation_token(KEY, token),
}


@pytest.mark.parametrize("made_for", TOKENS)
def test_a_token_made_for_one_kind_of_link_opens_no_other(made_for: str) -> None:
    token = TOKENS[made_for]()

    assert READERS[made_for](token) is not None
    for kind, read in READERS.items():
        if kind != made_for:
            with pytest.raises(InvalidLink, match="not valid"):
                read(token)


def test_score_links_live_sixty_days() -> None:
    assert SCORE_LINK_MAX_AGE_S == 60 * DAY_S
    with signed_days_ago(61):
        token = score_token(KEY, case_id="case-r-1", score=3)
    with pytest.raises(InvalidLink, match="expired"):
        read_score_token(KEY, token)
