"""A case's timeline reads in the member's own language and on their team's clock: every step
the workflows and activities write, read back from the English they stored (old entries as
well as new), with what people typed shown as typed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from kringloop.cases.emails import CaseLetter, promise_in
from kringloop.cases.messages import ActionRecord, CaseInput, RespondentUpdate
from kringloop.cases.models import FeedbackCallRequest
from kringloop.cases.schemas import TimelineEntryPublic
from kringloop.cases.steps import action_detail, opened_because
from kringloop.cases.timeline_words import ERASED, TYPED_KINDS, read_detail
from kringloop.database import session_for
from kringloop.mail.delivery import Recipient
from kringloop.mail.suppression import BOUNCED, suppress, suppressed_among
from kringloop.org.organisation import Organisation
from kringloop.privacy.messages import ERASED as ERASED_BY_PRIVACY
from kringloop.privacy.messages import ERASED_ON_REQUEST
from kringloop.responses.models import SurveyResponse
from kringloop.web.pages.templates import environment

AMSTERDAM, LONDON = "Europe/Amsterdam", "Europe/London"
# A winter moment (Amsterdam one hour ahead of UTC, London on it) and a summer one (two, one).
WINTER = datetime(2026, 12, 2, 6, 3, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 16, 30, tzinfo=UTC)
HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def said(kind: str, detail: str, *, language: str, time_zone: str = AMSTERDAM) -> str:
    """The entry's detail as the case page says it (its own template), as plain text."""
    return unescape(_line(language, "detail(entry, time_zone)").render(
        entry=TimelineEntryPublic(at=WINTER, actor="kringloop", kind=kind, detail=detail),
        time_zone=time_zone))


def said_by(actor: str, *, language: str) -> str:
    """Who took the step, as the case page says it."""
    return unescape(_line(language, "actor(actor, time_zone)").render(
        actor=actor, time_zone=AMSTERDAM))


def _line(language: str, call: str) -> Any:
    return environment(language).from_string(
        '{% import "_timeline_words.html" as timeline %}{{ timeline.' + call + " }}")


def _response(**fields: Any) -> SurveyResponse:
    return SurveyResponse(id="r-1", program="customer", score=6, category="detractor",
                          language="nl", answered_at=WINTER, received_at=WINTER, **fields)


def _attempt(outcome: str, text: str = "") -> str:
    return action_detail(ActionRecord(case_id="c", step="s", kind="callback_attempt",
                                      actor="Bram de Groot", outcome=outcome, text=text))


# Every sentence the code writes, as it writes it, and as a Dutch and an English reader see it
# (in Amsterdam). Built with the writers' own code where it can be called on its own.
WRITTEN = [
    ("opened", opened_because(CaseInput("r-1", "customer", 6), _response()),
     "criticus, score 6 (klant)", "detractor, score 6 (customer)"),
    ("opened", opened_because(CaseInput("r-2", "candidate", None), FeedbackCallRequest(
        id="f-1", rejection_id="j-1", language="nl", vacancy_title="Fietsenmaker (32 uur)",
        recruiter_email="t@example.nl", requested_at=WINTER)),
     "de sollicitant vroeg na de afwijzing voor Fietsenmaker (32 uur) om een feedbackgesprek "
     "(sollicitant)",
     "the applicant asked for a feedback call after the rejection for Fietsenmaker (32 uur) "
     "(applicant)"),
    ("routed", "to Particulieren (routing rules)",
     "naar Particulieren (volgens de routeringsregels)",
     "to Particulieren (by the routing rules)"),
    ("routed", "to Zakelijk & Lease (adopted by Joost Bakker)",
     "naar Zakelijk & Lease (geadopteerd door Joost Bakker)",
     "to Zakelijk & Lease (adopted by Joost Bakker)"),
    ("routed", "to Werving & Selectie (Thijs Willems wrote the rejection)",
     "naar Werving & Selectie (Thijs Willems schreef de afwijzing)",
     "to Werving & Selectie (Thijs Willems wrote the rejection)"),
    ("assigned", "to Bram de Groot", "naar Bram de Groot", "to Bram de Groot"),
    ("reassigned", "to Sanne Jansen (was Bram de Groot): by Esther Mulder",
     "naar Sanne Jansen (was Bram de Groot): door Esther Mulder",
     "to Sanne Jansen (was Bram de Groot): by Esther Mulder"),
    ("reassigned", "to Sanne Jansen (was Bram de Groot): callback overdue after the grace period",
     "naar Sanne Jansen (was Bram de Groot): na de extra tijd nog steeds niet teruggebeld",
     "to Sanne Jansen (was Bram de Groot): callback still not made after the grace period"),
    ("reassigned", "to Esther Mulder (was Sanne Jansen): the colleague's grace period ran out "
     "too", "naar Esther Mulder (was Sanne Jansen): ook de extra tijd van de collega is "
     "verstreken", "to Esther Mulder (was Sanne Jansen): the colleague's grace period ran out "
     "too"),
    ("reassigned", "to Esther Mulder (was Bram de Groot): reopened after a low re-survey",
     "naar Esther Mulder (was Bram de Groot): heropend na een lage nieuwe score",
     "to Esther Mulder (was Bram de Groot): reopened after a low new score"),
    ("reassigned", "to Bram de Groot (was Bram de Groot): reopened by the respondent's reply",
     "naar Bram de Groot (was Bram de Groot): heropend door het antwoord van de respondent",
     "to Bram de Groot (was Bram de Groot): reopened by the respondent's reply"),
    ("reassigned", "to Sanne Jansen (was Bram de Groot): by Esther Mulder "
     "(Bram de Groot absent until 2026-12-04)",
     "naar Sanne Jansen (was Bram de Groot): door Esther Mulder "
     "(Bram de Groot afwezig tot en met vr 4 dec 2026)",
     "to Sanne Jansen (was Bram de Groot): by Esther Mulder "
     "(Bram de Groot absent until Fri 4 Dec 2026)"),
    ("callback_scheduled", f"due within {48.0:g} business hours",
     "bellen binnen 48 werkuren", "due within 48 business hours"),
    ("callback_scheduled", f"due within {1.0:g} business hours",
     "bellen binnen 1 werkuur", "due within 1 business hour"),
    ("escalated", f"callback due {WINTER:%Y-%m-%d %H:%M} UTC not yet made; "
     "Esther Mulder informed",
     "terugbellen uiterlijk wo 2 dec 07:03 is nog niet gebeurd; Esther Mulder is ingelicht",
     "callback due Wed 2 Dec 07:03 not yet made; Esther Mulder informed"),
    ("email_sent", "acknowledgement to Anna de Vries",
     "ontvangstbevestiging aan Anna de Vries", "acknowledgement to Anna de Vries"),
    ("email_sent", "feedback_call to lisa@example.nl",
     "bevestiging van het feedbackgesprek aan lisa@example.nl",
     "confirmation of the feedback call to lisa@example.nl"),
    ("email_sent", "closing to Anna de Vries", "afsluitende e-mail aan Anna de Vries",
     "closing email to Anna de Vries"),
    ("email_sent", "assignment to Bram de Groot", "toewijzing aan Bram de Groot",
     "assignment to Bram de Groot"),
    ("email_failed", "closing to Anna de Vries: 550 5.1.1 <anna@example.nl>: no such user",
     "afsluitende e-mail aan Anna de Vries: geweigerd door de mailserver: "
     "550 5.1.1 <anna@example.nl>: no such user",
     "closing email to Anna de Vries: refused by the mail server: "
     "550 5.1.1 <anna@example.nl>: no such user"),
    ("promised", promise_in("acknowledgement", CaseLetter(
        Recipient("Anna", "anna@example.nl", "nl"),
        {"assignee_name": "Bram de Groot", "callback_due_at": SUMMER}, None)),
     "Bram de Groot belt uiterlijk wo 1 jul 18:30", "Bram de Groot calls by Wed 1 Jul 18:30"),
    ("callback_attempt", _attempt("no_answer"), "geen gehoor", "no answer"),
    ("callback_attempt", _attempt("reached", "Nieuwe band besteld"),
     "bereikt: Nieuwe band besteld", "reached: Nieuwe band besteld"),
    ("callback_attempt", _attempt("wrong_number", ERASED_BY_PRIVACY),
     "verkeerd nummer: [gewist]", "wrong number: [erased]"),
    ("resolution", action_detail(ActionRecord(
        case_id="c", step="s", kind="resolution", actor="Bram de Groot",
        root_cause="delivery-late", action_taken="Fiets gratis nagestuurd: excuses", text="x")),
     "te late levering: Fiets gratis nagestuurd: excuses",
     "late delivery: Fiets gratis nagestuurd: excuses"),
    ("resolution", "a-cause-of-another-org: Opgelost", "a cause of another org: Opgelost",
     "a cause of another org: Opgelost"),
    ("resumed", f"after {3.5:.1f} working hours", "na 3,5 werkuren", "after 3.5 working hours"),
    ("resumed", f"after {40.0:.1f} working hours", "na 40 werkuren", "after 40 working hours"),
    ("callback_booked", f"callback booked for {SUMMER:%Y-%m-%d %H:%M} UTC",
     "terugbelafspraak gemaakt voor wo 1 jul 18:30", "callback booked for Wed 1 Jul 18:30"),
    ("reopened", "the respondent replied after the case was closed",
     "de respondent antwoordde nadat de case was gesloten",
     "the respondent replied after the case was closed"),
    ("reopened", "re-survey score 2 is still low", "de nieuwe score 2 is nog steeds laag",
     "the new score 2 is still low"),
    ("resurvey_sent", "one-click score email sent", "mail met de score in één klik verstuurd",
     "email with the one-click score sent"),
    ("resurvey_unanswered", "no new score", "geen nieuwe score", "no new score"),
    ("resurvey_answered", "new score 9: recovered", "nieuwe score 9: teruggewonnen",
     "new score 9: won back"),
    ("resurvey_answered", "new score 4: not recovered", "nieuwe score 4: niet teruggewonnen",
     "new score 4: not won back"),
    ("resurvey_answered", "new score 8: first score", "eerste score: 8", "first score: 8"),
    ("respondent_update", RespondentUpdate(score_before=4, score=7).detail(),
     "score gewijzigd van 4 naar 7", "score changed from 4 to 7"),
    ("respondent_update", RespondentUpdate(comment="Monteur kwam niet; weer niet").detail(),
     "toelichting: Monteur kwam niet; weer niet", "comment: Monteur kwam niet; weer niet"),
    ("respondent_update", RespondentUpdate(comment="Toch beter", score_before=None,
                                           score=8).detail(),
     "score gewijzigd van – naar 8; toelichting: Toch beter",
     "score changed from – to 8; comment: Toch beter"),
    ("respondent_replied", "replied by email", "antwoordde per mail", "replied by email"),
    ("auto_reply", "automatic reply (out of office): nobody is told",
     "een automatisch antwoord (afwezigheidsmelding): niemand krijgt bericht",
     "an automatic reply (out of office): nobody is told"),
    ("email_bounced", "email to anna@example.nl bounced: no more email goes to it",
     "mail aan anna@example.nl kwam niet aan: er gaat geen mail meer naartoe",
     "email to anna@example.nl bounced: no more email goes to it"),
    ("email_bounced", "email to the respondent bounced: no more email goes to it",
     "mail aan de respondent kwam niet aan: er gaat geen mail meer naartoe",
     "email to the respondent bounced: no more email goes to it"),
    ("answered_by_email", "answered the respondent by email", "de respondent per mail beantwoord",
     "answered the respondent by email"),
    ("erased", ERASED_ON_REQUEST,
     "persoonsgegevens gewist op verzoek; deze persoon krijgt geen mail meer",
     "personal data erased on request; no more emails to this person"),
    ("erased", f"personal data erased after the {24}-month retention period",
     "persoonsgegevens gewist na de bewaartermijn van 24 maanden",
     "personal data erased after the retention period of 24 months"),
    ("email_sent", f"closing to {ERASED_BY_PRIVACY}", "afsluitende e-mail aan [gewist]",
     "closing email to [erased]"),
    ("closed", "", "", ""),
]


@pytest.mark.parametrize(("kind", "detail", "dutch", "english"), WRITTEN,
                         ids=[f"{w[0]}-{n}" for n, w in enumerate(WRITTEN)])
def test_every_step_the_code_writes_reads_in_the_members_language(
    kind: str, detail: str, dutch: str, english: str,
) -> None:
    assert said(kind, detail, language="nl") == dutch
    assert said(kind, detail, language="en") == english


def test_a_moment_is_on_the_teams_clock_never_utc(example_org: Organisation) -> None:
    dutch_team, english_team = example_org.team("particulier"), example_org.team("english")
    escalated = (f"callback due {WINTER:%Y-%m-%d %H:%M} UTC not yet made; "
                 "Esther Mulder informed")
    booked = f"callback booked for {SUMMER:%Y-%m-%d %H:%M} UTC"

    assert (dutch_team.time_zone, english_team.time_zone) == (AMSTERDAM, LONDON)
    assert said("escalated", escalated, language="nl", time_zone=dutch_team.time_zone) == (
        "terugbellen uiterlijk wo 2 dec 07:03 is nog niet gebeurd; Esther Mulder is ingelicht")
    assert said("escalated", escalated, language="en", time_zone=english_team.time_zone) == (
        "callback due Wed 2 Dec 06:03 not yet made; Esther Mulder informed")
    # In summer London is an hour ahead of UTC, Amsterdam two.
    assert said("callback_booked", booked, language="en", time_zone=english_team.time_zone
                ) == "callback booked for Wed 1 Jul 17:30"
    assert said("callback_booked", booked, language="nl", time_zone=dutch_team.time_zone
                ) == "terugbelafspraak gemaakt voor wo 1 jul 18:30"
    assert "UTC" not in said("promised", "Priya Nair calls by 2026-12-04 17:00 UTC",
                             language="en", time_zone=LONDON)


def test_an_email_withheld_from_a_listed_address_says_why_in_the_readers_words(
    engine: Engine,
) -> None:
    with session_for(engine) as session:
        suppress(session=session, email="anna@example.nl", reason="unsubscribed",
                 source="email link", now=datetime(2026, 11, 1, 12, tzinfo=UTC))
        suppress(session=session, email="kees@example.nl", reason="unsubscribed in delighted",
                 source="Delighted NPS", now=datetime(2026, 11, 2, 12, tzinfo=UTC))
        suppress(session=session, email="lieke@example.nl", reason=BOUNCED,
                 source="a delivery report", now=datetime(2026, 11, 3, 12, tzinfo=UTC))
        session.commit()
        why = suppressed_among(session.connection(), [
            "anna@example.nl", "kees@example.nl", "lieke@example.nl"])

    def failed(address: str, language: str) -> str:
        return said("email_failed", f"closing to Anna de Vries: {why[address]}",
                    language=language)

    assert failed("anna@example.nl", "nl") == (
        "afsluitende e-mail aan Anna de Vries: niet verstuurd: anna@example.nl heeft zich op "
        "zo 1 nov 2026 afgemeld via de link in een e-mail")
    assert failed("anna@example.nl", "en") == (
        "closing email to Anna de Vries: not sent: anna@example.nl unsubscribed through the "
        "link in an email on Sun 1 Nov 2026")
    assert failed("kees@example.nl", "nl") == (
        "afsluitende e-mail aan Anna de Vries: niet verstuurd: kees@example.nl heeft zich op "
        "ma 2 nov 2026 afgemeld via Delighted NPS")
    assert failed("lieke@example.nl", "nl") == (
        "afsluitende e-mail aan Anna de Vries: niet verstuurd: mail aan lieke@example.nl kwam "
        "op di 3 nov 2026 niet aan (een afleverbericht)")
    assert failed("lieke@example.nl", "en") == (
        "closing email to Anna de Vries: not sent: email to lieke@example.nl bounced on "
        "Tue 3 Nov 2026 (a delivery report)")


@pytest.mark.parametrize("kind", TYPED_KINDS)
def test_what_people_typed_is_shown_as_typed_and_never_as_markup(kind: str) -> None:
    typed = "Graag <b>morgen</b> bellen: after 17:00 UTC & niet eerder"
    page = _line("nl", "detail(entry, time_zone)").render(
        entry=TimelineEntryPublic(at=WINTER, actor="x", kind=kind, detail=typed),
        time_zone=AMSTERDAM)

    assert page == "Graag &lt;b&gt;morgen&lt;/b&gt; bellen: after 17:00 UTC &amp; niet eerder"
    assert said(kind, ERASED, language="nl") == "[gewist]"


def test_a_detail_no_pattern_knows_is_shown_as_stored() -> None:
    assert said("escalated", "escalated by hand <now>", language="nl") == (
        "escalated by hand <now>")
    assert said("a_step_from_the_future", "something new", language="nl") == "something new"
    assert "&lt;now&gt;" in _line("nl", "detail(entry, time_zone)").render(
        entry=TimelineEntryPublic(at=WINTER, actor="x", kind="escalated",
                                  detail="escalated by hand <now>"), time_zone=AMSTERDAM)


def test_who_took_a_step_is_said_in_the_readers_words() -> None:
    assert [said_by(a, language="nl") for a in (
        "kringloop", "respondent", "employee", "applicant", "operator", "Bram de Groot")] == [
        "Kringloop", "respondent", "medewerker", "sollicitant", "beheer", "Bram de Groot"]
    handover = "Esther Mulder (Bram de Groot absent until 2026-12-04)"
    assert said_by(handover, language="nl") == (
        "Esther Mulder (Bram de Groot afwezig tot en met vr 4 dec 2026)")
    assert said_by(handover, language="en") == (
        "Esther Mulder (Bram de Groot absent until Fri 4 Dec 2026)")


def _recorded_steps() -> list[tuple[str, str]]:
    """The timeline steps in the committed workflow histories: what cases wrote back then."""
    steps: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("data"), str) and "metadata" in node:
                try:
                    payload = json.loads(base64.b64decode(node["data"]))
                except ValueError:
                    return
                if isinstance(payload, dict) and {"kind", "detail"} <= payload.keys():
                    steps.add((payload["kind"], payload["detail"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for history in sorted(HISTORIES.glob("case_*.json")):
        walk(json.loads(history.read_text()))
    return sorted(steps)


def test_steps_stored_long_ago_in_english_read_in_dutch() -> None:
    recorded = [(kind, detail) for kind, detail in _recorded_steps()
                if detail and kind not in TYPED_KINDS]

    assert len(recorded) >= 6, "the committed histories hold steps with a detail"
    for kind, detail in recorded:
        assert read_detail(kind=kind, detail=detail).phrases, f"not recognised: {detail!r}"
        dutch = said(kind, detail, language="nl")
        assert dutch != detail and "UTC" not in dutch, (kind, detail, dutch)
    assert said("escalated", "callback due 2026-12-18 09:00 UTC not yet made; "
                "Esther Mulder informed", language="nl") == (
        "terugbellen uiterlijk vr 18 dec 10:00 is nog niet gebeurd; Esther Mulder is ingelicht")


def test_the_mark_of_erased_text_is_the_one_privacy_writes() -> None:
    assert ERASED == ERASED_BY_PRIVACY
