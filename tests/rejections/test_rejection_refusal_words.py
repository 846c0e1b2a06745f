"""Why a rejection was refused reads in the recruiter's own language: every refusal the rules,
the scheduling, the actions and the vacancy page write (in English, for the API and the CSV
import), and every way the form's fields fail their shape, read back and said in Dutch or
English; a message no pattern knows is shown as given, and never as markup."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest

from kringloop.cases.timeline_words import Reading
from kringloop.org.organisation import Organisation
from kringloop.rejections.csv_import import check_cells
from kringloop.rejections.refusal_words import read_rejection_refusal
from kringloop.web.pages.templates import environment

ROOT = Path(__file__).resolve().parents[2]
# Where rejections are refused, and how: `Refusal(message, field)` in the rules and the
# scheduling, `Refused(status, message, ...)` in the actions and on the vacancy page.
WRITERS = [ROOT / "kringloop" / "rejections" / name
           for name in ("rules.py", "scheduling.py", "actions.py")] + [
    ROOT / "kringloop" / "web" / "pages" / "rejections.py"]
CODES = ("experience, skills-match, certification, language, driving-licence, availability, "
         "location-or-travel, salary-expectations, other-candidate-stronger, "
         "position-filled-internally, vacancy-withdrawn")


def _page_says(reading: Reading, language: str) -> str:
    """What the rejection pages' own template makes of a refusal, as HTML."""
    return environment(language).from_string(
        '{% import "_rejection_refusal_words.html" as words %}{{ words.said(reading) }}'
    ).render(reading=reading)


def said(message: str, *, language: str, field: str | None = None) -> str:
    return unescape(_page_says(read_rejection_refusal(message, field), language))


# Every refusal as it is written (with a made-up name, vacancy or moment where the code puts
# one in), and as a Dutch and an English recruiter read it.
REFUSED = [
    ("the sentence for reason 'certification' is empty: write in one or two sentences why, "
     "concretely, so Lisa can do something with it",
     "de zin bij de reden ‘diploma of certificaat’ is leeg: schrijf in een of twee zinnen "
     "waarom, concreet, zodat Lisa er iets mee kan",
     "the sentence for the reason ‘diploma or certificate’ is empty: write in one or two "
     "sentences why, concretely, so Lisa can do something with it"),
    ("the sentence for reason 'experience' is a stock phrase (\"we received many "
     "applications\"); it is true for every applicant and tells Lisa nothing: say what was "
     "missing or what made the difference",
     "de zin bij de reden ‘werkervaring’ is een standaardzin (“we received many "
     "applications”); die geldt voor elke sollicitant en zegt Lisa niets: zeg wat er ontbrak "
     "of wat de doorslag gaf",
     "the sentence for the reason ‘work experience’ is a stock phrase (“we received many "
     "applications”); it is true for every applicant and tells Lisa nothing: say what was "
     "missing or what made the difference"),
    ("the sentence for reason 'availability' has 3 words; write at least 6: what exactly was "
     "missing, so Sam can improve",
     "de zin bij de reden ‘beschikbaarheid’ heeft 3 woorden; schrijf er minstens 6: wat "
     "ontbrak er precies, zodat Sam zich kan verbeteren",
     "the sentence for the reason ‘availability’ has 3 words; write at least 6: what exactly "
     "was missing, so Sam can improve"),
    ("the sentence for reason 'availability' has 1 word; write at least 6: what exactly was "
     "missing, so Sam can improve",
     "de zin bij de reden ‘beschikbaarheid’ heeft 1 woord; schrijf er minstens 6: wat "
     "ontbrak er precies, zodat Sam zich kan verbeteren",
     "the sentence for the reason ‘availability’ has 1 word; write at least 6: what exactly "
     "was missing, so Sam can improve"),
    ("a rejection needs a reason: give one or two, each a reason code and a personal sentence "
     "about why Lisa was not chosen",
     "een afwijzing heeft een reden nodig: geef er een of twee, elk met waar ze over gaat en "
     "een persoonlijke zin over waarom Lisa niet gekozen is",
     "a rejection needs a reason: give one or two, each with what it is about and a personal "
     "sentence about why Lisa was not chosen"),
    ("give one or two reasons, not 3: the one or two that mattered most are the ones an "
     "applicant can act on",
     "geef een of twee redenen, niet 3: met de een of twee die het zwaarst wogen kan een "
     "sollicitant iets",
     "give one or two reasons, not 3: the one or two that mattered most are the ones an "
     "applicant can act on"),
    ("unknown reason code 'weather'; choose one of experience, availability",
     "onbekende reden ‘weather’; kies een van: werkervaring, beschikbaarheid",
     "unknown reason ‘weather’; choose one of: work experience, availability"),
    (f"unknown reason code ''; choose one of {CODES}", "kies waar de reden over gaat",
     "choose what the reason is about"),
    ("send_at 2026-12-01T09:30:00+00:00 lies in the past; leave it out to send after the hold, "
     "inside working hours",
     "het verzendmoment di 1 dec 10:30 ligt in het verleden; laat het weg om na de bedenktijd "
     "binnen werktijd te versturen",
     "the send time Tue 1 Dec 10:30 lies in the past; leave it out to send after the hold, "
     "inside working hours"),
    ("noor@example.nl is not a member of the recruiting team (Werving & Selectie): the email "
     "is signed by the person who will call back",
     "noor@example.nl is geen lid van het wervingsteam (Werving & Selectie): de e-mail wordt "
     "ondertekend door wie terugbelt",
     "noor@example.nl is not a member of the recruiting team (Werving & Selectie): the email "
     "is signed by the person who will call back"),
    ("a rejection of Lisa Jansen for Fietsenmaker is already scheduled, with other content; "
     "cancel it first (DELETE /api/rejections/rej-sol-1-v-1-0a1b2c3d), then send the new one",
     "een afwijzing van Lisa Jansen voor Fietsenmaker is al ingepland, met een andere inhoud; "
     "annuleer die eerst en plan dan de nieuwe in",
     "a rejection of Lisa Jansen for Fietsenmaker is already scheduled, with other content; "
     "cancel that one first, then schedule the new one"),
    ("a rejection of Lisa Jansen for Fietsenmaker is already sent, with other content; the "
     "applicant has had their email",
     "een afwijzing van Lisa Jansen voor Fietsenmaker heeft al de status ‘verstuurd’, met een "
     "andere inhoud; de sollicitant heeft de e-mail al gehad",
     "a rejection of Lisa Jansen for Fietsenmaker is already sent, with other content; the "
     "applicant has had their email"),
    ("vacancy.id is 'v-2', but this batch is for vacancy 'v-1'",
     "het vacaturenummer is ‘v-2’, maar deze afwijzingen zijn voor vacature ‘v-1’",
     "the vacancy number is ‘v-2’, but these rejections are for vacancy ‘v-1’"),
    ("only recruiters and leads of the recruiting team send or cancel rejections",
     "alleen recruiters en teamleiders van het wervingsteam versturen of annuleren afwijzingen",
     "only recruiters and leads of the recruiting team send or cancel rejections"),
    ("no rejection rej-sol-1-v-1-0a1b2c3d", "er is geen afwijzing rej-sol-1-v-1-0a1b2c3d",
     "there is no rejection rej-sol-1-v-1-0a1b2c3d"),
    ("the email is being sent right now and can no longer be cancelled",
     "De e-mail wordt nu verstuurd en kan niet meer worden geannuleerd.",
     "The email is being sent right now and can no longer be cancelled."),
    ("the email has already been sent (2026-12-01 09:30 UTC), so it can no longer be cancelled",
     "De e-mail is al verstuurd (di 1 dec 10:30) en kan niet meer worden geannuleerd.",
     "The email has already been sent (Tue 1 Dec 10:30), so it can no longer be cancelled."),
    ("the rejection is cancelled; there is nothing left to cancel",
     "Deze afwijzing is geannuleerd: er valt niets meer te annuleren.",
     "This rejection is cancelled: there is nothing left to cancel."),
    ("this applicant is in the list already; remove that line to change it",
     "deze sollicitant staat al in de lijst; haal die regel eruit om hem te wijzigen",
     "this applicant is in the list already; remove that line to change it"),
    # The API names the field first when an item fails its shape (actions.py `_item_of`).
    ("applicant.email: value is not a valid email address: An email address must have an "
     "@-sign.", "E-mail: dit is geen geldig e-mailadres",
     "Email: this is not a valid email address"),
    ("reasons.1.sentence: Value error, must not contain control characters (such as line "
     "breaks)", "Tweede reden: mag geen stuurtekens bevatten (zoals regeleinden)",
     "Second reason: must not contain control characters (such as line breaks)"),
]


@pytest.mark.parametrize(("message", "dutch", "english"), REFUSED,
                         ids=[f"{n}-{r[0][:30]}" for n, r in enumerate(REFUSED)])
def test_every_rejection_refusal_reads_in_the_recruiters_language(message: str, dutch: str,
                                                                  english: str) -> None:
    assert read_rejection_refusal(message).phrases, f"not recognised: {message!r}"
    assert said(message, language="nl") == dutch
    assert said(message, language="en") == english


def _written_refusals(path: Path) -> list[tuple[str, ...]]:
    """Each refusal message in the file as the fixed parts of its text, in order (what an
    f-string fills in left out); and the vacancy page's own problem for a line it has."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            at = {"Refusal": 0, "Refused": 1}.get(node.func.id)
            message = node.args[at] if at is not None and len(node.args) > at else None
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(
                node.elts[0], ast.Constant) and node.elts[0].value == "applicant_id":
            message = node.elts[1]  # a (field, message) problem the page adds itself
        else:
            continue
        if isinstance(message, ast.Constant) and isinstance(message.value, str):
            found.append((message.value,))
        elif isinstance(message, ast.JoinedStr):
            found.append(tuple(part.value for part in message.values
                               if isinstance(part, ast.Constant) and part.value))
    return found


def test_every_refusal_the_rejections_code_writes_is_in_the_table() -> None:
    """A refusal added to the rules, the scheduling or the actions is read back here too (or
    this fails)."""
    examples = [message for message, _, _ in REFUSED]
    written = [(path.name, parts) for path in WRITERS for parts in _written_refusals(path)]

    assert len(written) >= 12, "the refusals are found where they are written"
    for path, parts in written:
        pattern = ".*".join(re.escape(part) for part in parts)
        assert any(re.fullmatch(f".*{pattern}.*", e, re.DOTALL) for e in examples), (path, parts)


# The form's fields failing their shape, as the vacancy page checks them -------------------------

LISA = {"applicant_id": "sol-1", "name": "Lisa Jansen", "email": "lisa@example.nl",
        "language": "nl", "vacancy_id": "v-1", "vacancy_title": "Fietsenmaker",
        "stage": "interview", "reason_code": "certification",
        "reason": "Voor deze rol is het diploma Fietstechnicus niveau 3 nodig, en dat heb je "
                  "(nog) niet.", "reason_code_2": "", "reason_2": ""}
INVALID = [
    ({"email": "lisa-at-home"}, "E-mail: dit is geen geldig e-mailadres",
     "Email: this is not a valid email address"),
    ({"name": ""}, "Naam: vul dit in", "Name: fill this in"),
    ({"language": "fr"}, "Taal van de e-mail: kies een van de mogelijkheden",
     "Language of the email: choose one of the options"),
    ({"stage": "coffee"}, "Fase: kies een van de mogelijkheden",
     "Stage: choose one of the options"),
    ({"name": "Lisa\u2028Jansen"}, "Naam: mag geen stuurtekens bevatten (zoals regeleinden)",
     "Name: must not contain control characters (such as line breaks)"),
    ({"applicant_id": "x" * 65}, "Sollicitantnummer: hooguit 64 tekens",
     "Applicant number: at most 64 characters"),
    ({"vacancy_title": "T" * 201}, "Titel: hooguit 200 tekens", "Title: at most 200 characters"),
    ({"send_at": "morgen"}, "Verzendmoment: geef een datum en een tijd",
     "Send time: give a date and a time"),
    ({"send_at": "2030-01-01T10:00"}, "Verzendmoment: geef een datum en een tijd",
     "Send time: give a date and a time"),
]


@pytest.mark.parametrize(("cells", "dutch", "english"), INVALID,
                         ids=[next(iter(cells)) + str(n) for n, (cells, *_) in enumerate(INVALID)])
def test_a_field_that_fails_its_shape_says_why_naming_the_field(
    example_org: Organisation, cells: dict[str, str], dutch: str, english: str,
) -> None:
    [(field, message)] = check_cells(LISA | cells, example_org, now=datetime.now(UTC))

    assert said(message, language="nl", field=field) == dutch
    assert said(message, language="en", field=field) == english
    # Beside its own field the field is not named again.
    assert said(message, language="nl") == dutch.partition(": ")[2]


def test_a_refusal_of_the_rules_reads_the_same_wherever_it_is_shown(
        example_org: Organisation) -> None:
    """The rules' sentences say what they are about themselves: no field's name before them."""
    [(field, message)] = check_cells(LISA | {"reason": "Helaas, we hebben veel sollicitaties "
                                             "ontvangen."}, example_org, now=datetime.now(UTC))

    assert field == "reason"
    assert said(message, language="nl", field=field) == said(message, language="nl") == (
        "de zin bij de reden ‘diploma of certificaat’ is een standaardzin (“helaas”); die geldt "
        "voor elke sollicitant en zegt Lisa niets: zeg wat er ontbrak of wat de doorslag gaf")


def test_a_message_no_pattern_knows_is_shown_as_given_and_never_as_markup() -> None:
    unknown = "the moon is <b>full</b> & nothing moves"

    assert read_rejection_refusal(unknown) == Reading(text=unknown)
    assert read_rejection_refusal(unknown, "reason") == Reading(text=unknown)
    assert said(unknown, language="nl") == unknown
    assert _page_says(read_rejection_refusal(unknown), "nl") == (
        "the moon is &lt;b&gt;full&lt;/b&gt; &amp; nothing moves")
    # A shape error pydantic words otherwise than we know: as it says it, field and all.
    odd = "send_at: Input should be a <valid> moment"
    assert said(odd, language="nl") == odd


def test_names_and_vacancies_in_a_refusal_are_never_markup() -> None:
    shown = [_page_says(read_rejection_refusal(message), "nl") for message in (
        "the sentence for reason 'experience' is empty: write in one or two sentences why, "
        "concretely, so <b>Lisa</b> can do something with it",
        "a rejection of <script>x</script> for <i>Fietsenmaker</i> is already sent, with other "
        "content; the applicant has had their email",
        "unknown reason code '<b>weer</b>'; choose one of experience",
        "<b>noor</b>@example.nl is not a member of the recruiting team (<i>W&S</i>): the email "
        "is signed by the person who will call back",
    )]

    for html in shown:
        assert "<script>" not in html and "<b>" not in html and "<i>" not in html, html
    assert "zodat &lt;b&gt;Lisa&lt;/b&gt; er iets mee kan" in shown[0]
    assert "(&lt;i&gt;W&amp;S&lt;/i&gt;)" in shown[3]
