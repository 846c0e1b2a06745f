"""The rules as pure functions: which reasons count, and when an email may go out."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from kringloop.org.organisation import Organisation
from kringloop.rejections.rules import (
    rejection_id_for,
    send_moment,
    sentence_refusal,
    survey_moment,
)
from tests.support.working_days import AMSTERDAM, LONDON


def amsterdam(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


@pytest.mark.parametrize(("decided", "language", "expected"), [
    # Friday 16:55 + 24 h hold is Saturday: Monday at nine.
    (amsterdam(2026, 11, 27, 16, 55), "nl", amsterdam(2026, 11, 30, 9, 0)),
    # Tuesday morning + 24 h: Wednesday, same time, inside the window.
    (amsterdam(2026, 12, 1, 10, 30), "nl", amsterdam(2026, 12, 2, 10, 30)),
    # Late evening + 24 h is evening again: the next morning.
    (amsterdam(2026, 12, 1, 22, 0), "nl", amsterdam(2026, 12, 3, 9, 0)),
    # Christmas Eve: Christmas and Boxing Day are Dutch public holidays.
    (amsterdam(2026, 12, 24, 11, 0), "nl", amsterdam(2026, 12, 28, 9, 0)),
    # King's Day (27 April 2027, a Tuesday) is skipped in the Netherlands ...
    (amsterdam(2027, 4, 26, 10, 0), "nl", amsterdam(2027, 4, 28, 9, 0)),
    # ... but not in England, where the window follows London time.
    (london(2027, 4, 26, 10, 0), "en", london(2027, 4, 27, 10, 0)),
    # The English late-May bank holiday (31 May 2027) is skipped for an English applicant.
    (london(2027, 5, 28, 10, 0), "en", london(2027, 6, 1, 9, 0)),
    # Across the change to summer time the window stays 09:00 local (and Easter Monday,
    # 29 March 2027, is a public holiday).
    (amsterdam(2027, 3, 26, 18, 0), "nl", amsterdam(2027, 3, 30, 9, 0)),
])
def test_the_email_waits_the_hold_then_the_next_moment_in_working_hours(
    decided: datetime, language: str, expected: datetime,
) -> None:
    moment = send_moment(decided_at=decided.astimezone(UTC), language=language, hold_hours=24)

    assert moment == expected
    assert moment.tzinfo is not None


def test_a_recruiters_own_moment_overrides_hold_and_window_but_never_lies_in_the_past() -> None:
    decided = amsterdam(2026, 11, 27, 16, 55)
    saturday_night = amsterdam(2026, 11, 28, 2, 0)

    assert send_moment(decided_at=decided, language="nl", hold_hours=24,
                       requested=saturday_night) == saturday_night
    assert send_moment(decided_at=decided, language="nl", hold_hours=24,
                       requested=decided - timedelta(minutes=3)) == decided


def test_time_scale_shrinks_the_wait_for_demos() -> None:
    decided = amsterdam(2026, 12, 1, 10, 0)

    moment = send_moment(decided_at=decided, language="nl", hold_hours=24, time_scale=24 * 60)

    assert moment - decided == timedelta(minutes=1)


def test_the_survey_follows_two_days_later_inside_the_window() -> None:
    thursday_afternoon = amsterdam(2026, 12, 3, 16, 30)

    assert survey_moment(sent_at=thursday_afternoon, language="nl", after_days=2) == amsterdam(
        2026, 12, 7, 9, 0)


@pytest.mark.parametrize("sentence", [
    "Helaas.",
    "Helaas, we hebben veel sollicitaties ontvangen.",
    "Unfortunately, other candidates matched better.",
    "WE RECEIVED MANY APPLICATIONS!!",
    "helaas helaas helaas helaas helaas helaas",
    "Unfortunately, we received many applications this time.",
])
def test_a_sentence_made_of_stock_phrases_is_refused(org: Organisation, sentence: str) -> None:
    refusal = sentence_refusal(sentence, code="experience", first_name="Lisa",
                               policy=org.programs["candidate"], field_name="reasons.0.sentence")

    assert refusal is not None and "stock phrase" in refusal.message
    assert "Lisa" in refusal.message


@pytest.mark.parametrize("sentence", [
    "Helaas mis je nog het diploma Fietstechnicus niveau 3, dat voor deze rol nodig is.",
    "Unfortunately the role needs a B driving licence for the pickup van.",
    "We zochten iemand die zaterdags kan werken; jij kunt alleen doordeweeks.",
    "Je hebt nog geen ervaring met e-bike diagnose.",
])
def test_a_concrete_sentence_is_accepted_even_when_it_starts_kindly(
    org: Organisation, sentence: str,
) -> None:
    assert sentence_refusal(sentence, code="experience", first_name="Lisa",
                            policy=org.programs["candidate"], field_name="f") is None


def test_a_short_sentence_is_refused_with_the_number_of_words_it_needs(org: Organisation) -> None:
    refusal = sentence_refusal("Geen e-bike ervaring.", code="experience", first_name="Lisa",
                               policy=org.programs["candidate"], field_name="f")

    assert refusal is not None
    assert "has 3 words; write at least 6" in refusal.message


def test_one_rejection_id_per_applicant_and_vacancy_even_with_unsafe_ids() -> None:
    assert rejection_id_for("sol-1", "v-2") == rejection_id_for("sol-1", "v-2")
    assert rejection_id_for("a/1", "v") != rejection_id_for("a_1", "v")
    assert rejection_id_for("a-1", "v") != rejection_id_for("a", "1-v")
    unsafe = rejection_id_for("SOL/2026/0012 ü", "vacature #7")
    assert unsafe.startswith("rej-SOL_2026_0012-vacature_7-")
    assert len(rejection_id_for("x" * 64, "y" * 64)) <= 100


def test_working_hours_are_nine_to_five() -> None:
    from kringloop.rejections.rules import SEND_WINDOWS

    assert {w.working_hours for w in SEND_WINDOWS.values()} == {(time(9), time(17))}
