"""A refused rejection says why in the recruiter's own language: the rules' refusals, the
fields that fail their shape and the lines of the draft that cannot be scheduled read in Dutch
for a Dutch recruiter and in English for an English one, while the JSON API keeps its English."""

from __future__ import annotations

import json
import uuid
from html import unescape

import httpx

from tests.support.kringloop import ADMIN, Kringloop
from tests.support.pages import element
from tests.support.people import THIJS
from tests.support.rejections import CERTIFICATE, lisa, press, stored, vacancy_page
from tests.support.web import signed_in

HANNAH = "hannah.price@fietsenwinkel.example"  # recruiter, Werving & Selectie, English
STOCK = "We received many applications."
# What the rejections domain writes in English, none of which a Dutch recruiter reads.
ENGLISH = ("stock phrase", "valid email", "String should", "Input should", "Field required",
           "sentence for reason", "reason code", "with other content", "in the list already")


def errors(page: httpx.Response) -> str:
    """Every refusal on the page, as its reader reads it."""
    return unescape(" | ".join(part.split(">", 1)[1].split("</p>", 1)[0]
                               for part in page.text.split('class="error"')[1:]))


def assert_dutch_only(*pages: httpx.Response) -> None:
    for page in pages:
        for english in ENGLISH:
            assert english not in page.text, (english, errors(page))


async def test_a_dutch_recruiter_reads_why_an_applicant_was_not_added_in_dutch(
    live: Kringloop,
) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    opened = await thijs.get(vacancy_page(vacancy))

    stock = await press(thijs, opened, "add", lisa(vacancy, reason=STOCK))
    no_address = await press(thijs, opened, "add", lisa(vacancy, email="lisa-at-home"))
    few_words = await press(thijs, opened, "add", lisa(vacancy, reason="Te weinig ervaring."))
    no_code = await press(thijs, opened, "add", lisa(
        vacancy, reason_2="Je woont te ver van de werkplaats in Utrecht voor een vroege dienst."))

    assert {p.status_code for p in (stock, no_address, few_words, no_code)} == {422}
    assert unescape(element(stock.text, "reason-error")) == (
        "de zin bij de reden ‘diploma of certificaat’ is een standaardzin (“we received many "
        "applications”); die geldt voor elke sollicitant en zegt Lisa niets: zeg wat er "
        "ontbrak of wat de doorslag gaf")
    assert element(no_address.text, "email-error") == "dit is geen geldig e-mailadres"
    assert unescape(element(few_words.text, "reason-error")) == (
        "de zin bij de reden ‘diploma of certificaat’ heeft 3 woorden; schrijf er minstens 6: "
        "wat ontbrak er precies, zodat Lisa zich kan verbeteren")
    assert element(no_code.text, "reason_code_2-error") == "kies waar de reden over gaat"
    assert 'id="field-reason_code_2" aria-invalid="true"' in no_code.text
    assert_dutch_only(stock, no_address, few_words, no_code)
    assert stored(live, vacancy) == []


async def test_a_draft_line_that_cannot_be_scheduled_says_why_in_dutch_naming_its_field(
    live: Kringloop,
) -> None:
    """The draft has the spreadsheet's columns and is checked line by line as the CSV import
    checks them: a line a tampered or stale form carries says what is wrong with which cell."""
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    opened = await thijs.get(vacancy_page(vacancy))
    draft = [lisa(vacancy) | {"applicant_id": "sol-1", "email": "lisa-at-home"},
             lisa(vacancy) | {"applicant_id": "sol-2", "name": "", "reason": STOCK},
             lisa(vacancy) | {"applicant_id": "sol-3", "stage": "coffee"}]

    scheduled = await press(thijs, opened, "schedule", {"draft": json.dumps(draft)})

    assert scheduled.status_code == 422
    assert errors(scheduled) == " | ".join((
        "Er is niets ingepland: verbeter of verwijder eerst de gemarkeerde sollicitanten "
        "hieronder.",
        "Niet ingepland: E-mail: dit is geen geldig e-mailadres",
        "Niet ingepland: Naam: vul dit in",
        "Niet ingepland: Fase: kies een van de mogelijkheden"))
    assert_dutch_only(scheduled)
    assert stored(live, vacancy) == []


async def test_a_rejection_scheduled_already_with_other_reasons_says_so_in_dutch(
    live: Kringloop,
) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    first = await press(thijs, await press(thijs, await thijs.get(vacancy_page(vacancy)),
                                           "add", lisa(vacancy)), "schedule")
    assert first.status_code == 303
    other = await press(thijs, await thijs.get(vacancy_page(vacancy)), "add",
                        lisa(vacancy, reason=CERTIFICATE + " Helaas."))

    again = await press(thijs, other, "schedule")

    assert other.status_code == 200 and again.status_code == 422
    assert errors(again) == (
        "Niet ingepland: een afwijzing van Lisa Jansen voor Fietsenmaker is al ingepland, met "
        "een andere inhoud; annuleer die eerst en plan dan de nieuwe in")
    assert_dutch_only(again)
    assert [r.status for r in stored(live, vacancy)] == ["scheduled"]


async def test_the_same_applicant_twice_in_the_list_is_refused_in_dutch(live: Kringloop) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    thijs = await signed_in(live, THIJS)
    once = await press(thijs, await thijs.get(vacancy_page(vacancy)), "add", lisa(vacancy))

    twice = await press(thijs, once, "add", lisa(vacancy))

    assert twice.status_code == 422
    assert element(twice.text, "applicant_id-error") == (
        "deze sollicitant staat al in de lijst; haal die regel eruit om hem te wijzigen")
    assert_dutch_only(twice)


async def test_a_vacancy_without_a_number_is_refused_in_dutch(live: Kringloop) -> None:
    thijs = await signed_in(live, THIJS)

    nameless = await thijs.get("/rejections/vacancy", vacancy_id=" ", vacancy_title="Monteur")

    assert nameless.status_code == 422
    assert element(nameless.text, "vacancy_id-error") == "dit is leeg"
    assert_dutch_only(nameless)


async def test_an_english_recruiter_reads_the_same_refusals_in_english(live: Kringloop) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    hannah = await signed_in(live, HANNAH)
    opened = await hannah.get(vacancy_page(vacancy))

    stock = await press(hannah, opened, "add", lisa(vacancy, reason=STOCK))
    no_address = await press(hannah, opened, "add", lisa(vacancy, email="lisa-at-home"))

    assert unescape(element(stock.text, "reason-error")).startswith(
        "the sentence for the reason ‘diploma or certificate’ is a stock phrase (“we received "
        "many applications”); it is true for every applicant and tells Lisa nothing")
    assert element(no_address.text, "email-error") == "this is not a valid email address"


async def test_the_api_keeps_saying_it_in_english(live: Kringloop) -> None:
    vacancy = f"v-{uuid.uuid4().hex[:8]}"
    answer = await live.api.post(f"/api/vacancies/{vacancy}/rejections", headers=ADMIN, json={
        "vacancy_title": "Fietsenmaker", "items": [
            {"applicant": {"id": "a-1", "name": "Noor Bos", "email": "noor@example.nl",
                           "language": "nl"}, "stage": "screening",
             "reasons": [{"code": "experience", "sentence": STOCK}]},
            {"applicant": {"id": "a-2", "name": "Kees Mol", "email": "kees-at-home",
                           "language": "nl"}, "stage": "screening",
             "reasons": [{"code": "certification", "sentence": CERTIFICATE}]}]})

    stock, address = answer.json()["results"]
    assert stock["message"].startswith(
        "the sentence for reason 'experience' is a stock phrase (\"we received many")
    assert address["message"].startswith("applicant.email: value is not a valid email address")
