"""Why an action was refused reads in the member's own language: every refusal the case
workflow, the case and team actions and the team page write (in English, for the API and the
workflow's history), and every common way a form fails its shape, read back and said in Dutch
or English; a message no pattern knows is shown as given, and never as markup."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from kringloop.cases.messages import CALLBACK_OUTCOMES
from kringloop.cases.refusal_words import read_invalid, read_refusal
from kringloop.cases.schemas import AbsenceIn, CallbackAttemptIn, NoteIn, ReassignIn, ResolveIn
from kringloop.cases.timeline_words import Reading
from kringloop.org.organisation import Organisation
from kringloop.shapes import StrictShape
from kringloop.web.pages.templates import environment

ROOT = Path(__file__).resolve().parents[2]
# Where refusals are written, and how: the workflow's `_refuse`/`refusal(message, ...)`, and
# `Refused(status, message, ...)` of the case and team actions and the team page.
WRITERS = [ROOT / "workflows" / "case.py", ROOT / "workflows" / "relay.py",
           *sorted((ROOT / "kringloop" / "cases").glob("*.py")),
           ROOT / "kringloop" / "web" / "pages" / "team_cases.py"]
OUTCOMES = ", ".join(CALLBACK_OUTCOMES)


def _page_says(reading: Reading, language: str) -> str:
    """What the page's own template makes of a refusal, as HTML."""
    return environment(language).from_string(
        '{% import "_refusal_words.html" as refusal_words %}{{ refusal_words.said(reading) }}'
    ).render(reading=reading)


def said(message: str, *, language: str) -> str:
    return unescape(_page_says(read_refusal(message), language))


def invalid(error: dict[str, Any], *, language: str) -> str:
    return unescape(_page_says(read_invalid(error), language))


# Every refusal as it is written (with a made-up name, address or day where the code puts one
# in), and as a Dutch and an English reader see it.
REFUSED = [
    (f"outcome must be one of {OUTCOMES}",
     "het resultaat moet een van deze zijn: bereikt, geen gehoor, verkeerd nummer",
     "the outcome must be one of: reached, no answer, wrong number"),
    ("a note needs some text", "een notitie heeft tekst nodig", "a note needs some text"),
    ("an anonymous employee is answered in their conversation",
     "een anonieme medewerker beantwoord je in het gesprek",
     "an anonymous employee is answered in their conversation"),
    ("the respondent cannot be emailed", "de respondent kan geen e-mail krijgen",
     "the respondent cannot be emailed"),
    ("noor.hendriks@fietsenwinkel.example is not a member of this case's team",
     "noor.hendriks@fietsenwinkel.example is geen lid van het team van deze case",
     "noor.hendriks@fietsenwinkel.example is not a member of this case's team"),
    ("the case is already assigned to this member", "de case is al aan deze collega toegewezen",
     "the case is already assigned to this member"),
    ("unknown root cause 'weather'; choose one of delivery-late, price, other",
     "onbekende oorzaak ‘weather’; kies een van: te late levering, prijs, anders",
     "unknown root cause ‘weather’; choose one of: late delivery, price, other"),
    ('unknown root cause "Kees\' fiets"; choose one of delivery-late',
     "onbekende oorzaak ‘Kees' fiets’; kies een van: te late levering",
     "unknown root cause ‘Kees' fiets’; choose one of: late delivery"),
    ("action taken must not be empty", "Wat we eraan gedaan hebben: dit is leeg",
     "What we did: this is empty"),
    ("message must not be empty", "Bericht aan de respondent: dit is leeg",
     "Message to the respondent: this is empty"),
    ("the case is already waiting on the respondent", "de case wacht al op de respondent",
     "the case is already waiting on the respondent"),
    ("say what the respondent is asked for", "zeg waar je de respondent om vraagt",
     "say what the respondent is asked for"),
    ("the case is not waiting on the respondent", "de case wacht niet op de respondent",
     "the case is not waiting on the respondent"),
    ("that time has passed; pick another", "dat tijdstip is al voorbij; kies een ander",
     "that time has passed; pick another"),
    ("the case is still being opened; try again in a moment",
     "de case wordt nog geopend; probeer het zo nog eens",
     "the case is still being opened; try again in a moment"),
    ("the case is already resolved", "de case is al opgelost", "the case is already resolved"),
    ("the case is already closed", "de case is al gesloten", "the case is already closed"),
    ("this case was opened before its clock could stop or move; note it instead",
     "deze case is geopend voordat de klok kon stilstaan of verschuiven; maak er een notitie "
     "van", "this case was opened before its clock could stop or move; note it instead"),
    ("only an anonymous employee's case has a conversation; contact this person directly",
     "alleen de case van een anonieme medewerker heeft een gesprek; neem rechtstreeks contact "
     "op met deze persoon",
     "only an anonymous employee's case has a conversation; contact this person directly"),
    ("a message needs some text", "een bericht heeft tekst nodig", "a message needs some text"),
    ("the case is closed (workflow execution already completed)", "de case is gesloten",
     "the case is closed"),
    ("no case case-r-123", "er is geen case case-r-123", "there is no case case-r-123"),
    ("only the team lead can reassign a case", "alleen de teamleider kan een case overdragen",
     "only the team lead can reassign a case"),
    ("only a member of this case's team can adopt the customer",
     "alleen een lid van het team van deze case kan de klant adopteren",
     "only a member of this case's team can adopt the customer"),
    ("Bram de Groot has already adopted this customer",
     "Bram de Groot heeft deze klant al geadopteerd",
     "Bram de Groot has already adopted this customer"),
    ("only a customer with a customer id and an email address can be adopted",
     "alleen een klant met een klantnummer en een e-mailadres kan geadopteerd worden",
     "only a customer with a customer id and an email address can be adopted"),
    ("no team zakelijk", "er is geen team zakelijk", "there is no team zakelijk"),
    ("only the team lead can reassign cases or mark a colleague absent",
     "alleen de teamleider kan cases overdragen of een collega afwezig melden",
     "only the team lead can reassign cases or mark a colleague absent"),
    ("to_member: bram.degroot@fietsenwinkel.example is not a member of Zakelijk & Lease",
     "Geef ze aan: bram.degroot@fietsenwinkel.example is geen lid van Zakelijk & Lease",
     "Give them to: bram.degroot@fietsenwinkel.example is not a member of Zakelijk & Lease"),
    ("to_member: choose a colleague other than the one the cases leave",
     "Geef ze aan: kies een andere collega dan degene van wie de cases komen",
     "Give them to: choose a colleague other than the one the cases leave"),
    ("to_member: Noor Hendriks is absent until 2026-12-04",
     "Geef ze aan: Noor Hendriks is afwezig tot en met vr 4 dec 2026",
     "Give them to: Noor Hendriks is absent until Fri 4 Dec 2026"),
    ("until: 2026-12-01 has passed; the absence ends today or later",
     "Afwezig tot en met: di 1 dec 2026 is al voorbij; de afwezigheid eindigt vandaag of later",
     "Absent until: Tue 1 Dec 2026 has passed; the absence ends today or later"),
    ("from_member: choose a colleague", "Alle open cases van: kies een collega",
     "All open cases of: choose a colleague"),
    ("member: choose a colleague", "Collega: kies een collega", "Colleague: choose a colleague"),
    ("until: give the last day away as a date",
     "Afwezig tot en met: geef de laatste afwezige dag als datum",
     "Absent until: give the last day away as a date"),
]


@pytest.mark.parametrize(("message", "dutch", "english"), REFUSED,
                         ids=[f"{n}-{r[0][:30]}" for n, r in enumerate(REFUSED)])
def test_every_refusal_reads_in_the_members_language(message: str, dutch: str, english: str
                                                     ) -> None:
    assert read_refusal(message).phrases, f"not recognised: {message!r}"
    assert said(message, language="nl") == dutch
    assert said(message, language="en") == english


def _written_refusals(path: Path) -> list[tuple[str, ...]]:
    """Each refusal message in the file as the fixed parts of its text, in order (what an
    f-string fills in left out)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        at = {"_refuse": 0, "refusal": 0, "Refused": 1}.get(node.func.id)
        if at is None or len(node.args) <= at:
            continue
        message = node.args[at]
        if isinstance(message, ast.Constant) and isinstance(message.value, str):
            found.append((message.value,))
        elif isinstance(message, ast.JoinedStr):
            found.append(tuple(part.value for part in message.values
                               if isinstance(part, ast.Constant) and part.value))
    return found


def test_every_refusal_the_code_writes_is_in_the_table() -> None:
    """A refusal added to the workflow or the actions is read back here too (or this fails)."""
    examples = [message for message, _, _ in REFUSED]
    written = [(path.name, parts) for path in WRITERS for parts in _written_refusals(path)]

    assert len(written) >= 25, "the refusals are found where they are written"
    for path, parts in written:
        pattern = ".*".join(re.escape(part) for part in parts)
        assert any(re.fullmatch(f".*{pattern}.*", e, re.DOTALL) for e in examples), (path, parts)


def test_the_root_causes_offered_are_the_programs_own_in_words(example_org: Organisation
                                                                ) -> None:
    causes = example_org.programs["customer"].root_causes
    message = f"unknown root cause {'astrology'!r}; choose one of {', '.join(causes)}"

    dutch = said(message, language="nl")

    assert dutch.startswith("onbekende oorzaak ‘astrology’; kies een van: te late levering, ")
    assert "rude-or-unhelpful" not in dutch and "onvriendelijk of onbehulpzaam personeel" in dutch


def test_a_message_no_pattern_knows_is_shown_as_given_and_never_as_markup() -> None:
    unknown = "the moon is <b>full</b> & nothing moves"

    assert read_refusal(unknown) == Reading(text=unknown)
    assert said(unknown, language="nl") == unknown
    assert _page_says(read_refusal(unknown), "nl") == (
        "the moon is &lt;b&gt;full&lt;/b&gt; &amp; nothing moves")


def test_names_and_addresses_in_a_refusal_are_never_markup() -> None:
    shown = [_page_says(read_refusal(message), "nl") for message in (
        "<script>x</script>@example.nl is not a member of this case's team",
        "<b>Bram</b> has already adopted this customer",
        "unknown root cause '<i>weer</i>'; choose one of price",
        "to_member: <b>Noor</b> is absent until 2026-12-04",
        "member: a@b.example is not a member of <b>Zakelijk</b> & Lease",
    )]

    for html in shown:
        assert "<script>" not in html and "<b>" not in html and "<i>" not in html, html
    assert shown[0].startswith("&lt;script&gt;x&lt;/script&gt;@example.nl is geen lid")
    assert "&lt;b&gt;Zakelijk&lt;/b&gt; &amp; Lease" in shown[4]


# A form that fails its shape: the shapes' own errors, as pydantic gives them ------------------

class _Booking(StrictShape):
    at: datetime


def first_error(shape: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as failed:
        shape.model_validate(values)
    return dict(failed.value.errors()[0])


INVALID = [
    (NoteIn, {"text": "   "}, "Tekst: dit is leeg", "Text: this is empty"),
    (NoteIn, {"text": "x" * 5_001}, "Tekst: hooguit 5.000 tekens",
     "Text: at most 5,000 characters"),
    (NoteIn, {}, "Tekst: vul dit in", "Text: fill this in"),
    (CallbackAttemptIn, {"outcome": "maybe"}, "Resultaat: kies een van de mogelijkheden",
     "Outcome: choose one of the options"),
    (ReassignIn, {"member": "bram at fietsenwinkel"}, "Collega: dit is geen geldig e-mailadres",
     "Colleague: this is not a valid email address"),
    (ResolveIn, {"root_cause": "price\r\nBcc: x", "action_taken": "a", "message": "b"},
     "Oorzaak: mag geen stuurtekens bevatten (zoals regeleinden)",
     "Root cause: must not contain control characters (such as line breaks)"),
    (ResolveIn, {"root_cause": "price", "action_taken": "", "message": "b"},
     "Wat we eraan gedaan hebben: dit is leeg", "What we did: this is empty"),
    (AbsenceIn, {"until": "soon"}, "Afwezig tot en met: geef een datum",
     "Absent until: give a date"),
    (_Booking, {"at": "tomorrow at ten"}, "Tijdstip: geef een datum en een tijd",
     "Time: give a date and a time"),
]


@pytest.mark.parametrize(("shape", "values", "dutch", "english"), INVALID,
                         ids=[f"{n}-{i[0].__name__}" for n, i in enumerate(INVALID)])
def test_a_form_that_fails_its_shape_says_why_naming_the_field(
    shape: type[BaseModel], values: dict[str, Any], dutch: str, english: str,
) -> None:
    error = first_error(shape, values)

    assert invalid(error, language="nl") == dutch
    assert invalid(error, language="en") == english


def test_the_less_common_shape_errors_still_say_something_in_the_readers_words() -> None:
    at_least = {"type": "string_too_short", "loc": ("reason",), "msg": "String should have at "
                "least 3 characters", "ctx": {"min_length": 3}}
    other_value = {"type": "value_error", "loc": ("at",), "msg": "Value error, too early"}
    no_field = {"type": "missing", "loc": (), "msg": "Field required"}
    unknown = {"type": "json_invalid", "loc": ("text",), "msg": "Invalid <JSON>"}

    assert invalid(at_least, language="nl") == "Waar je om vroeg: schrijf minstens 3 tekens"
    assert invalid(at_least, language="en") == "What you asked for: write at least 3 characters"
    assert invalid(other_value, language="nl") == "Tijdstip: deze waarde is niet geldig"
    assert invalid(no_field, language="nl") == "vul dit in"
    assert invalid({"type": "date_parsing", "loc": ("until",), "msg": "x"},
                   language="en") == "Absent until: give a date"
    # A type not known here: as pydantic says it, escaped.
    assert invalid(unknown, language="nl") == "text: Invalid <JSON>"
    assert "&lt;JSON&gt;" in _page_says(read_invalid(unknown), "nl")


def test_days_in_a_refusal_are_read_as_days() -> None:
    reading = read_refusal("to_member: Noor Hendriks is absent until 2026-12-04")

    assert reading.phrases[0].values["until"] == date(2026, 12, 4)
