"""After the email, in simulated time: the applicant asks for a feedback call, or gives a score.
Both links only open a page (mail scanners open every link): the answer is what the applicant
sends from it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import select

from kringloop.cases.models import Case, FeedbackCallRequest
from kringloop.database import session_for
from kringloop.rejections.models import RejectionEvent
from kringloop.responses.models import SurveyResponse
from tests.support.mail import body_of, links_in
from tests.support.people import THIJS
from tests.support.rejections import Recruiting, applicant, rejection
from tests.support.web import signed_in
from tests.support.working_days import AMSTERDAM, dutch_working_day, next_weekday_at

pytestmark = pytest.mark.office_hours  # the recruiter's callback counts working hours


async def sent_on_a_tuesday(recruiting: Recruiting, who: dict[str, str], **fields: str
                            ) -> tuple[str, datetime]:
    """A rejection sent at 10:00 on a Tuesday followed by two working days: (its id, then)."""
    tuesday = next_weekday_at(
        await recruiting.now(), 2, time(10),
        also_working=lambda d: dutch_working_day(d + timedelta(days=1))
        and dutch_working_day(d + timedelta(days=2)))
    await recruiting.travel_to(tuesday)
    answer = await recruiting.reject(rejection(who, send_at=tuesday.isoformat(), **fields))
    assert answer.status_code == 202, answer.text
    await recruiting.kringloop.smtp.wait_for(1)
    return answer.json()["rejection_id"], tuesday


def cases_of(recruiting: Recruiting, response_id: str) -> list[Case]:
    with session_for(recruiting.kringloop.engine) as session:
        return list(session.exec(select(Case).where(Case.response_id == response_id)).all())


def survey_answer(recruiting: Recruiting, rejection_id: str) -> SurveyResponse | None:
    with session_for(recruiting.kringloop.engine) as session:
        return session.get(SurveyResponse, f"cnps-{rejection_id}")


def rejection_steps(recruiting: Recruiting, rejection_id: str) -> list[str]:
    with session_for(recruiting.kringloop.engine) as session:
        return [e.kind for e in session.exec(
            select(RejectionEvent).where(RejectionEvent.rejection_id == rejection_id)).all()]


async def test_asking_for_a_feedback_call_opens_a_case_where_the_recruiter_calls_back(
    recruiting: Recruiting,
) -> None:
    smtp, lisa = recruiting.kringloop.smtp, applicant("call-1")
    rejection_id, tuesday = await sent_on_a_tuesday(recruiting, lisa, recruiter=THIJS)
    [link] = links_in(smtp.to(lisa["email"], "rejection")[0], "/f/")

    page = await recruiting.api.get(link)

    assert page.status_code == 200 and "Thijs Willems" in page.text and "<form" in page.text
    with session_for(recruiting.kringloop.engine) as session:
        assert session.exec(select(FeedbackCallRequest)).all() == [], "a GET changes nothing"

    confirmed = await recruiting.api.post(
        link, data={"phone": "06 12345678", "note": "Wat mis ik precies voor niveau 3?"})

    assert confirmed.status_code == 200, confirmed.text
    assert "Thijs Willems belt je" in confirmed.text
    case_id = f"case-feedback-{rejection_id}"
    recruiting.follow(case_id)
    case = await recruiting.kringloop.case_when(
        case_id, lambda c: c["callback_due_at"] and len(c["timeline"]) >= 6)
    assert (case["program"], case["origin"], case["score"], case["category"]) == (
        "candidate", "feedback_call", None, None)
    assert case["team"] == "werving" and case["assignee"]["email"] == THIJS
    assert case["respondent"]["name"] == "Lisa Jansen"
    assert case["respondent"]["phone"] == "06 12345678"
    assert case["comment"] == "Wat mis ik precies voor niveau 3?"
    opened = case["timeline"][0]
    assert opened["kind"] == "opened" and "feedback call requested" in opened["detail"]
    assert "Thijs Willems wrote the rejection" in case["timeline"][1]["detail"]
    # Sixteen business hours: Thursday, same time (the request came in at 10:00 on Tuesday).
    due = datetime.fromisoformat(case["callback_due_at"]).astimezone(AMSTERDAM)
    assert due.date() == tuesday.date() + timedelta(days=2) and due.strftime("%H:%M") == "10:00"

    await smtp.wait_for(3)
    [acknowledgement] = smtp.to(lisa["email"], "feedback_call")
    text = body_of(acknowledgement)
    assert "Thijs Willems" in text and "donderdag" in text and "10:00" in text
    assert "06 12345678" in text and "Fietsenmaker" in text
    [assignment] = smtp.to(THIJS, "assignment")
    assert "feedbackgesprek" in assignment["Subject"] and "None" not in body_of(assignment)

    again = await recruiting.api.post(link, data={})
    assert again.status_code == 200 and "Thijs Willems belt je" in again.text
    assert len(cases_of(recruiting, f"feedback-{rejection_id}")) == 1
    followed = await recruiting.rejection(rejection_id)
    assert case_id in followed["case_ids"]
    assert "feedback_call_requested" in [e["kind"] for e in followed["timeline"]]

    # The candidate survey waits for this conversation instead of asking now.
    await recruiting.sleep(timedelta(days=4))
    assert not smtp.to(lisa["email"], "cnps")
    followed = await recruiting.rejection_when(
        rejection_id, lambda r: r["timeline"][-1]["kind"] == "survey_skipped")
    assert len(smtp.to(lisa["email"], "feedback_call")) == 1


async def test_the_candidate_survey_follows_after_two_days_and_a_low_score_opens_a_case(
    recruiting: Recruiting, keep_history: Any,
) -> None:
    smtp, lisa = recruiting.kringloop.smtp, applicant("cnps-low")
    rejection_id, _ = await sent_on_a_tuesday(recruiting, lisa)

    await recruiting.sleep(timedelta(days=1, hours=23, minutes=50))
    assert not smtp.to(lisa["email"], "cnps"), "not before two days"
    await recruiting.sleep(timedelta(minutes=20))
    await smtp.wait_for(2)
    [survey] = smtp.to(lisa["email"], "cnps")
    links = links_in(survey, "/c/")
    assert len(links) == 11
    steps = rejection_steps(recruiting, rejection_id)

    # A mail scanner opens every link first: eleven pages, and nothing recorded or opened.
    scanned = [await recruiting.api.get(link) for link in links]

    assert [page.status_code for page in scanned] == [200] * 11
    assert all(f'id="score-{n}" value="{n}" checked' in page.text
               for n, page in enumerate(scanned))
    assert survey_answer(recruiting, rejection_id) is None
    assert cases_of(recruiting, f"cnps-{rejection_id}") == []
    assert rejection_steps(recruiting, rejection_id) == steps

    # Lisa clicks 3 and sends it with a word about why.
    why = "Nooit iets gehoord na het gesprek.\n<b>Jammer</b>"
    sent = await recruiting.api.post(links[3], data={"score": "3", "comment": why})

    assert sent.status_code == 200 and ">3<" in sent.text
    assert "&lt;b&gt;Jammer&lt;/b&gt;" in sent.text and "<b>Jammer" not in sent.text
    assert "Lisa" not in sent.text and "Jansen" not in sent.text, "the page names nobody"
    case_id = f"case-cnps-{rejection_id}"
    recruiting.follow(case_id)
    case = await recruiting.kringloop.case_when(case_id, lambda c: c["assignee"])
    assert (case["program"], case["score"], case["team"]) == ("candidate", 3, "werving")
    assert case["respondent"]["email"] == lisa["email"]
    assert case["comment"] == why
    assert await recruiting.ended(recruiting.mailing_of(rejection_id)) == "COMPLETED"
    recruiter = await signed_in(recruiting.kringloop, case["assignee"]["email"])
    case_page = (await recruiter.get(f"/cases/{case_id}")).text
    assert "&lt;b&gt;Jammer&lt;/b&gt;" in case_page and "<b>Jammer" not in case_page

    second = await recruiting.api.post(links[9], data={"score": "9", "comment": "Toch goed"})
    visit = await recruiting.api.get(links[9])
    assert second.status_code == 200 and ">3<" in second.text, "the first answer counts"
    assert visit.status_code == 200 and ">3<" in visit.text and 'type="radio"' not in visit.text
    assert survey_answer(recruiting, rejection_id).comment == why  # type: ignore[union-attr]
    assert len(cases_of(recruiting, f"cnps-{rejection_id}")) == 1
    followed = await recruiting.rejection(rejection_id)
    assert followed["case_ids"] == [case_id]
    answered = [e for e in followed["timeline"] if e["kind"] == "survey_answered"]
    assert len(answered) == 1 and "candidate NPS 3" in answered[0]["detail"]
    await keep_history(recruiting.kringloop, recruiting.mailing_of(rejection_id),
                       "rejection_mailing_sent_then_surveyed")


async def test_a_high_candidate_score_is_recorded_without_a_case(recruiting: Recruiting) -> None:
    smtp, sam = recruiting.kringloop.smtp, applicant("cnps-high", language="en",
                                                     name="Sam Taylor")
    rejection_id, _ = await sent_on_a_tuesday(recruiting, sam)
    await recruiting.sleep(timedelta(days=3))
    await smtp.wait_for(2)
    [survey] = smtp.to(sam["email"], "cnps")
    assert "as an employer" in body_of(survey)

    opened = await recruiting.api.get(links_in(survey, "/c/")[9])
    assert opened.status_code == 200 and "Send my answer" in opened.text
    assert survey_answer(recruiting, rejection_id) is None, "opening the link records nothing"

    clicked = await recruiting.api.post(links_in(survey, "/c/")[9], data={"score": "9"})

    assert clicked.status_code == 200 and "Thank you!" in clicked.text
    assert "Sam" not in clicked.text and "Taylor" not in clicked.text
    with session_for(recruiting.kringloop.engine) as session:
        answer = session.get(SurveyResponse, f"cnps-{rejection_id}")
    assert answer is not None and (answer.program, answer.score, answer.case_id) == (
        "candidate", 9, None)
    assert answer.respondent_id == sam["id"] and answer.source == "candidate_survey"


async def test_a_tampered_link_asks_for_nothing_and_a_wrong_number_is_asked_again(
    recruiting: Recruiting,
) -> None:
    smtp, lisa = recruiting.kringloop.smtp, applicant("call-2")
    rejection_id, _ = await sent_on_a_tuesday(recruiting, lisa)
    [link] = links_in(smtp.to(lisa["email"], "rejection")[0], "/f/")

    tampered = await recruiting.api.post(link[:-3] + "xyz", data={"phone": "0612345678"})
    wrong = await recruiting.api.post(link, data={"phone": "bel me maar", "note": "Graag!"})

    assert tampered.status_code == 400 and "werkt niet" in tampered.text
    assert wrong.status_code == 422 and "geen telefoonnummer" in wrong.text
    assert "Graag!" in wrong.text, "what the applicant wrote is kept"
    assert cases_of(recruiting, f"feedback-{rejection_id}") == []
    survey = await recruiting.api.get(f"/c/{link.removeprefix('/f/')}")
    answered = await recruiting.api.post(f"/c/{link.removeprefix('/f/')}", data={"score": "0"})
    assert (survey.status_code, answered.status_code) == (400, 400), (
        "a feedback-call token is no score link")
    assert survey_answer(recruiting, rejection_id) is None
