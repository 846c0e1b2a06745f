"""What a person's mail program makes of our emails, read from the bytes a real SMTP server
received: who they come from (a person of the organisation by name, or the organisation), where
they bounce to, a subject and a name with accents exactly as written, staff emails marked as
written by a machine, a survey that unsubscribes in one click, an answer in its thread, and
the sign-in email of a member."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine

from kringloop.mail.delivery import Recipient, message_id_for
from kringloop.mail.identity import sender_of
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.mail.rendering import KINDS, LANGUAGES, Email, render
from kringloop.org.access import principal_for
from kringloop.org.organisation import Organisation
from kringloop.rejections.emails import compose, outgoing
from kringloop.rejections.messages import RejectionEmail
from kringloop.rejections.models import Rejection
from kringloop.security.signed_links import unsubscribe_link
from kringloop.services import Services
from kringloop.settings import Settings
from kringloop.web.pages.sign_in_links import send_sign_in_link
from tests.support.mail import LIEKE, MailServer, body_of, context_for

ORGANISATION = "Fietsenwinkel Kringloop B.V."
ORGANISATION_ADDRESS = "loop@fietsenwinkel.example"
NOTE = Email(subject="Je feedback", text="Beste Lieke,\n\nDank je wel.\n",
             html="<p>Beste Lieke,</p><p>Dank je wel.</p>")
# As the issue lists them: to the organisation's own people, never to a respondent.
STAFF_KINDS = ("assignment", "reminder", "escalation", "digest", "spotlight", "sign_in",
               "respondent_update", "callback_booked", "respondent_reply", "mail_bounced")
RESPONDENT_KINDS = ("acknowledgement", "unreachable", "closing", "resurvey", "rejection",
                    "cnps", "feedback_call", "booking_confirmed", "promise_changed")


@pytest.fixture
def envelopes(smtp: MailServer, monkeypatch: pytest.MonkeyPatch) -> list[Envelope]:
    """Each email's SMTP envelope (MAIL FROM, and the bytes exactly as received)."""
    received: list[Envelope] = []
    accept = smtp.handle_DATA

    async def keeping(server: Any, session: Any, envelope: Envelope) -> str:
        received.append(envelope)
        return await accept(server, session, envelope)

    monkeypatch.setattr(smtp, "handle_DATA", keeping)
    return received


async def sent(settings: Settings, engine: Engine, envelopes: list[Envelope], outgoing: Outgoing,
               email: Email = NOTE) -> tuple[EmailMessage, Envelope]:
    """Send once over SMTP; the email as a mail program reads the bytes received, and its
    envelope."""
    receipt = await send_once(outgoing, lambda: email, engine=engine, settings=settings,
                              record=lambda *_: None)
    assert receipt.sent, receipt.error
    envelope = envelopes[-1]
    message = message_from_bytes(envelope.original_content or b"", policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message, envelope


def to_lieke(kind: str, key: str = "case-1:mail:1", **fields: Any) -> Outgoing:
    return Outgoing(key=key, kind=kind, to=Recipient("Lieke Smit", LIEKE, "nl"), **fields)


async def test_a_respondent_reads_who_writes_on_behalf_of_the_organisation(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
) -> None:
    message, envelope = await sent(settings, engine, envelopes, to_lieke(
        "acknowledgement", sender=sender_of(settings, org), from_name="Bram de Groot"))

    [sender] = message["From"].addresses
    assert sender.display_name == f"Bram de Groot via {ORGANISATION}"
    assert sender.addr_spec == ORGANISATION_ADDRESS == org.email
    assert envelope.mail_from == ORGANISATION_ADDRESS, "bounces come back to us"
    assert "kringloop.local" not in message["Message-ID"]


async def test_without_a_person_the_email_comes_from_the_organisation(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
) -> None:
    message, _ = await sent(settings, engine, envelopes,
                            to_lieke("closing", sender=sender_of(settings, org)))

    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (ORGANISATION, ORGANISATION_ADDRESS)


async def test_a_bounce_goes_to_the_envelope_sender_while_the_from_stays_ours(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
) -> None:
    case_address = "antwoord+k3v9q@antwoord.fietsenwinkel.example"
    message, envelope = await sent(settings, engine, envelopes, to_lieke(
        "acknowledgement", sender=sender_of(settings, org), from_name="Bram de Groot",
        envelope_from=case_address, reply_to=case_address))

    assert envelope.mail_from == case_address
    assert message["From"].addresses[0].addr_spec == ORGANISATION_ADDRESS
    assert message["Reply-To"] == case_address


async def test_an_explicit_mail_from_wins_over_the_organisation_file_and_keeps_message_ids(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
) -> None:
    mail_from = "Kringloop <loop@faults.example>"  # as the fault suite sets it
    configured = settings.model_copy(update={"mail_from": mail_from})

    message, envelope = await sent(configured, engine, envelopes, to_lieke(
        "acknowledgement", key="case-9:acknowledgement:1", sender=sender_of(configured, org),
        from_name="Bram de Groot"))

    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Bram de Groot via Kringloop",
                                                       "loop@faults.example")
    assert envelope.mail_from == "loop@faults.example"
    assert message["Message-ID"] == message_id_for("case-9:acknowledgement:1", mail_from)


async def test_a_staff_email_is_marked_auto_generated_and_a_respondents_is_not(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
) -> None:
    sender = sender_of(settings, org)
    assignment, _ = await sent(settings, engine, envelopes,
                               to_lieke("assignment", key="a", sender=sender))
    acknowledgement, _ = await sent(settings, engine, envelopes,
                                    to_lieke("acknowledgement", key="b", sender=sender))

    assert assignment["Auto-Submitted"] == "auto-generated"
    assert acknowledgement["Auto-Submitted"] is None


@pytest.mark.parametrize("kind", STAFF_KINDS + RESPONDENT_KINDS)
def test_every_staff_kind_and_no_other_is_marked_auto_generated(
    kind: str, settings: Settings,
) -> None:
    message = to_lieke(kind).message(NOTE, settings=settings, message_id="<m@x>")

    assert (message["Auto-Submitted"] == "auto-generated") == (kind in STAFF_KINDS)


async def test_a_resurvey_unsubscribes_in_one_click_and_an_acknowledgement_offers_none(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
) -> None:
    link = unsubscribe_link(settings, email=LIEKE, language="nl")
    sender = sender_of(settings, org)
    resurvey, _ = await sent(settings, engine, envelopes,
                             to_lieke("resurvey", key="r", sender=sender, unsubscribe_url=link))
    acknowledgement, _ = await sent(settings, engine, envelopes,
                                    to_lieke("acknowledgement", key="a", sender=sender))

    assert link.startswith("http://kringloop.test/u/")
    # Too long for the header's first line, the link is folded onto the next (RFC 5322 FWS).
    assert resurvey["List-Unsubscribe"].strip() == f"<{link}>"
    assert resurvey["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert acknowledgement["List-Unsubscribe"] is None
    assert acknowledgement["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize("subject", [
    "Bedankt, Zoë",
    "Hoe gaat het nu met je fiets? Eén vraag van Fietsenwinkel Kringloop B.V. — één minuutje",
    "Even kort: hoe was de reparatie van je e-bike bij Fietsenwinkel Kringloop? Één vraag",
    "Een heel lange onderwerpregel zonder accenten die toch over de regellengte heen gaat, ja",
])
async def test_a_dutch_subject_and_names_with_accents_read_back_exactly(
    subject: str, settings: Settings, org: Organisation, engine: Engine,
    envelopes: list[Envelope],
) -> None:
    email = Email(subject=subject, text=NOTE.text, html=NOTE.html)
    message, _ = await sent(settings, engine, envelopes, Outgoing(
        key="case-1:resurvey:1", kind="resurvey",
        to=Recipient("Anaïs Brouwère-de Sévérac", LIEKE, "nl"),
        sender=sender_of(settings, org), from_name="Sérgio Ångström"), email)

    assert message["Subject"] == subject
    assert message["From"].addresses[0].display_name == f"Sérgio Ångström via {ORGANISATION}"
    assert message["To"].addresses[0].display_name == "Anaïs Brouwère-de Sévérac"


async def test_an_answer_goes_in_the_thread_it_answers_and_a_forged_id_stays_out(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
) -> None:
    answer, _ = await sent(settings, engine, envelopes, to_lieke(
        "acknowledgement", key="a", sender=sender_of(settings, org),
        in_reply_to="<CAF1x@mail.example>",
        references=("<root.1@mail.example>", "<CAF1x@mail.example>")))
    forged, _ = await sent(settings, engine, envelopes, to_lieke(
        "acknowledgement", key="b", sender=sender_of(settings, org),
        in_reply_to="<x@mail.example>\r\nBcc: mallory@example.com",
        references=("<x@mail.example> <y@z>\nBcc: mallory@example.com",)))

    assert answer["In-Reply-To"] == "<CAF1x@mail.example>"
    assert answer["References"] == "<root.1@mail.example> <CAF1x@mail.example>"
    assert forged["In-Reply-To"] is None and forged["References"] is None
    assert forged["Bcc"] is None and "mallory" not in forged.as_string()


async def test_a_candidate_survey_comes_from_the_recruiter_and_unsubscribes(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
) -> None:
    recruiter = next(m for m in org.members if m.role == "recruiter")
    row = Rejection(id="rej-1", applicant_id="a-1", applicant_name="Lisa Jansen",
                    applicant_email="lisa@example.nl", language="nl", vacancy_id="v-1",
                    vacancy_title="Fietsenmaker", stage="interview",
                    recruiter_email=recruiter.email, created_by=recruiter.email,
                    created_at=datetime.now(UTC))
    survey = outgoing(order=RejectionEmail(rejection_id=row.id, kind="cnps", key="rej-1:cnps:1"),
                      row=row, org=org, settings=settings)
    rejection = outgoing(order=RejectionEmail(rejection_id=row.id, kind="rejection",
                                              key="rej-1:rejection:1"),
                         row=row, org=org, settings=settings)

    message, _ = await sent(settings, engine, envelopes, survey,
                            compose(kind="cnps", row=row, org=org, settings=settings))

    assert message["From"].addresses[0].display_name == f"{recruiter.name} via {ORGANISATION}"
    assert message["Reply-To"] == recruiter.email
    assert message["List-Unsubscribe"].strip() == f"<{survey.unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert rejection.from_name == recruiter.name and rejection.unsubscribe_url is None


async def test_a_members_sign_in_email_comes_from_the_organisation_and_says_so_once(
    settings: Settings, org: Organisation, engine: Engine, envelopes: list[Envelope],
    smtp: MailServer,
) -> None:
    member = org.members[0]
    principal = principal_for(org, member.email)
    assert principal is not None
    services = Services(settings=settings, org=org, engine=engine, temporal=None)  # type: ignore[arg-type]

    await send_sign_in_link(services, principal)

    [message] = smtp.received
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (ORGANISATION, ORGANISATION_ADDRESS)
    assert message["Auto-Submitted"] == "auto-generated"
    html = message.get_body(("html",))
    assert html is not None
    assert ORGANISATION in body_of(message)
    assert "B.V.." not in body_of(message) and "B.V.." not in str(html.get_content())  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_no_email_ends_a_sentence_on_the_organisations_own_dot(kind: str, language: str) -> None:
    email = render(kind, language, context_for(kind, language, organisation=ORGANISATION))

    for part in (email.subject, email.text, email.html):
        assert "B.V.." not in part
