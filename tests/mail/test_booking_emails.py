"""A booked callback lands in both calendars: the respondent's confirmation and the assignee's
notice each carry an invitation (.ics) for the same event, which a later booking moves; and the
respondent's first emails offer the link to book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import icalendar
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.mail import MailActivities
from kringloop.cases import emails
from kringloop.cases.booking import record_booking
from kringloop.cases.messages import BookingRecord, CaseEmail
from kringloop.cases.models import Case, FeedbackCallRequest
from kringloop.cases.steps import load_case
from kringloop.database import session_for
from kringloop.mail.delivery import Recipient, build_message
from kringloop.mail.identity import sender_of
from kringloop.mail.rendering import Email, calendar_invitation
from kringloop.org.organisation import Organisation
from kringloop.responses.models import SurveyResponse
from kringloop.security.signed_links import read_booking_token
from kringloop.settings import Settings
from tests.support.mail import LIEKE, MailServer, body_of

BOOKED = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # Tuesday 8 December, 10:00 in Amsterdam
SENT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def booked(engine: Engine, case_id: str, at: datetime = BOOKED, step: str = "booking-1") -> None:
    record_booking(engine=engine, record=BookingRecord(case_id=case_id, step=step, at=at),
                   now=SENT)


def built(engine: Engine, org: Organisation, settings: Settings, case_id: str, kind: str,
          sequence: int = 1) -> EmailMessage:
    """The case's `sequence`th email of its kind, as it goes on the wire, read back the way a
    mail program reads it."""
    case, origin = load_case(engine=engine, case_id=case_id)
    letter = emails.compose(kind=kind, case=case, origin=origin, org=org, settings=settings,
                            sequence=sequence, now=case.opened_at + timedelta(hours=1))
    message = build_message(letter.render(kind), kind=kind, sender=sender_of(settings, org),
                            to=letter.to, message_id="<m@kringloop.local>")
    parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def invitation_in(message: EmailMessage) -> tuple[EmailMessage, icalendar.Event, str]:
    """The calendar part, its one event, and the .ics as text."""
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert isinstance(part, EmailMessage)
    ics = part.get_content()
    calendar = icalendar.Calendar.from_ical(ics)
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    return part, event, ics


async def test_the_respondent_gets_the_booked_time_with_an_invitation_for_their_calendar(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings, smtp: MailServer,
) -> None:
    booked(engine, assigned_case)
    mail = MailActivities(engine=engine, org=org, settings=settings)

    receipt = await ActivityEnvironment().run(mail.send_case_email, CaseEmail(
        case_id=assigned_case, kind="booking_confirmed", key=f"{assigned_case}:booking:1"))

    assert receipt.sent
    [message] = smtp.to(LIEKE, "booking_confirmed")
    assert "dinsdag 8 december om 10:00" in body_of(message)
    assert message.get_body(("html",)) is not None
    part, event, ics = invitation_in(message)
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    assert "DTSTART:20261208T090000Z" in ics and "DTEND:20261208T093000Z" in ics
    assert event.decoded("DTSTART") == BOOKED
    assert event.decoded("DTEND") == BOOKED + timedelta(minutes=30)
    assert str(event["ATTENDEE"]) == f"mailto:{LIEKE}"
    assert event["ATTENDEE"].params["CN"] == "Lieke Smit"
    assert str(event["ORGANIZER"]) == f"mailto:{org.email}"
    assert event["ORGANIZER"].params["CN"] == org.name
    assignee = org.member(load_case(engine=engine, case_id=assigned_case)[0].assignee_email or "")
    assert assignee.name in str(event["SUMMARY"])


def test_both_calendars_hold_the_same_event_and_booking_again_moves_it(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings,
) -> None:
    booked(engine, assigned_case)
    _, respondents, _ = invitation_in(built(engine, org, settings, assigned_case,
                                            "booking_confirmed"))
    _, assignees, _ = invitation_in(built(engine, org, settings, assigned_case,
                                          "callback_booked"))
    moved_to = BOOKED + timedelta(days=1, hours=3)
    booked(engine, assigned_case, moved_to, step="booking-2")
    _, moved, _ = invitation_in(built(engine, org, settings, assigned_case, "booking_confirmed",
                                      sequence=2))

    assert respondents["UID"] == assignees["UID"] == moved["UID"]
    assert assigned_case not in str(moved["UID"]), "the event's id says nothing of the case"
    assert moved["SEQUENCE"] > respondents["SEQUENCE"]
    assert moved.decoded("DTSTART") == moved_to


def test_the_assignees_invitation_names_the_respondent_and_tells_nothing_more(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings,
) -> None:
    with session_for(engine) as session:
        case = session.get(Case, assigned_case)
        assert case is not None
        answer = session.get(SurveyResponse, case.response_id)
        assert answer is not None
        answer.comment, answer.phone = "Mijn fiets is gestolen bij jullie", "+31 6 11122233"
        session.add(answer)
        session.commit()
    booked(engine, assigned_case)

    message = built(engine, org, settings, assigned_case, "callback_booked")

    assert message["X-Kringloop-Kind"] == "callback_booked"
    assert "dinsdag 8 december om 10:00" in body_of(message)
    _, event, ics = invitation_in(message)
    assert str(event["SUMMARY"]) == "Terugbellen: Lieke Smit"
    assert str(event["ATTENDEE"]) != f"mailto:{LIEKE}"
    for private in (LIEKE, "gestolen", "11122233"):
        assert private not in ics


def respondent_letter(kind: str, org: Organisation, settings: Settings, *,
                      program: str = "customer") -> emails.CaseLetter:
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    answer = SurveyResponse(id="b-1", program=program, score=3, category="detractor",
                            name="Anna de Vries", email="anna@example.nl", language="en",
                            answered_at=now, received_at=now)
    case = Case(id="case-b-1", response_id="b-1", program=program, score=3, status="assigned",
                team_id="particulier", assignee_email="bram.degroot@fietsenwinkel.example",
                assignee_name="Bram de Groot", opened_at=now, attempts=3,
                callback_due_at=now + timedelta(days=1))
    return emails.compose(kind=kind, case=case, origin=answer, org=org, settings=settings)


def test_the_acknowledgement_and_the_we_tried_to_reach_you_email_offer_to_book_a_time(
    org: Organisation, settings: Settings,
) -> None:
    for kind in ("acknowledgement", "unreachable"):
        letter = respondent_letter(kind, org, settings)

        link = str(letter.context["booking_url"])
        assert link.startswith(f"{settings.base_url}/b/")
        assert read_booking_token(settings.signing_key, link.rpartition("/")[2]) == "case-b-1"
        email = letter.render(kind)
        assert link in email.text and f'href="{link}"' in email.html
        assert "Pick a time" in email.text
        assert email.attachments == ()


def test_an_applicant_who_asked_for_a_feedback_call_may_pick_the_time_too(
    org: Organisation, settings: Settings,
) -> None:
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    request = FeedbackCallRequest(
        id="call-b-1", rejection_id="rejection-b-1", name="Lotte de Wit",
        email="lotte@example.nl", phone="0612345678", language="en", vacancy_title="Fietsenmaker",
        recruiter_email="thijs.willems@fietsenwinkel.example", requested_at=now)
    case = Case(id="case-call-b-1", response_id="call-b-1", program="candidate",
                team_id="werving", assignee_email="thijs.willems@fietsenwinkel.example",
                opened_at=now, callback_due_at=now + timedelta(days=1))
    letter = emails.compose(kind="acknowledgement", case=case, origin=request, org=org,
                            settings=settings)

    email = letter.render(emails.template_for("acknowledgement", request))

    link = str(letter.context["booking_url"])
    assert read_booking_token(settings.signing_key, link.rpartition("/")[2]) == "case-call-b-1"
    assert link in email.text and f'href="{link}"' in email.html
    assert "Pick a time" in email.html and "about your application" in email.subject


def test_an_anonymous_employee_is_offered_no_booking(
    org: Organisation, settings: Settings,
) -> None:
    letter = respondent_letter("acknowledgement", org, settings, program="employee")

    assert letter.context["booking_url"] is None
    assert "/b/" not in letter.render("acknowledgement").text


def test_an_email_without_attachments_is_built_as_before(settings: Settings) -> None:
    message = build_message(Email("Hallo", "tekst", "<p>tekst</p>"), kind="closing",
                            sender=sender_of(settings), to=Recipient("Anna", LIEKE, "nl"),
                            message_id="<m@x>")

    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]


def test_a_name_full_of_calendar_syntax_stays_a_name() -> None:
    name = 'Anna "de" Vries;ROLE=CHAIR:mailto:mallory@example.com'

    invitation = calendar_invitation(
        uid="u@kringloop.local", sequence=1, start=BOOKED, end=BOOKED + timedelta(minutes=30),
        summary=f"Terugbellen: {name}\nATTENDEE:mailto:mallory@example.com",
        organizer=("Bikes & Co", "loop@kringloop.local"), attendee=(name, LIEKE), stamp=SENT)

    [event] = icalendar.Calendar.from_ical(invitation.text).walk("VEVENT")
    assert str(event["ATTENDEE"]) == f"mailto:{LIEKE}"
    assert event["ATTENDEE"].params["CN"] == name
    assert "mallory" not in str(event["ORGANIZER"])
