"""The workspace speaks Dutch and English: the member's language, else the browser's."""

from __future__ import annotations

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from kringloop.web.pages.templates import LOCALES, TEMPLATES
from tests.support.cases import case_for
from tests.support.kringloop import Kringloop
from tests.support.pages import element
from tests.support.people import BRAM, PRIYA
from tests.support.web import browser, signed_in


async def test_each_member_works_in_their_own_language(live: Kringloop) -> None:
    for_priya = await case_for(live, PRIYA, language="en")
    priya, bram = await signed_in(live, PRIYA), await signed_in(live, BRAM)

    english = (await priya.get("/queue")).text
    dutch = (await bram.get("/queue")).text
    case_page = (await priya.get(f"/cases/{for_priya['case_id']}")).text

    assert '<html lang="en">' in english and "<h1>My queue</h1>" in english
    assert "Signed in as Priya Nair" in english
    assert '<html lang="nl">' in dutch and "<h1>Mijn wachtrij</h1>" in dutch
    assert "Je wachtrij is leeg" in dutch
    assert element(case_page, "case-status") == "assigned"
    assert "due in" in element(case_page, "sla-clock")
    assert 'id="log-attempt">Log attempt</button>' in case_page


@pytest.mark.parametrize(("accept", "language"), [
    (None, "nl"), ("en-GB,en;q=0.9", "en"), ("fr-FR, en;q=0.5", "en"),
    ("nl;q=0.2, en;q=0.8", "en"), ("de", "nl"), ("nl-BE", "nl"),
])
async def test_before_signing_in_the_browsers_language_is_used(
    live: Kringloop, accept: str | None, language: str,
) -> None:
    page = await browser(live, language=accept).get("/login")

    assert f'<html lang="{language}">' in page.text
    heading = "Inloggen op de werkplek" if language == "nl" else "Sign in to the workspace"
    assert heading in page.text


def test_every_text_of_the_workspace_has_its_dutch_translation() -> None:
    with (LOCALES / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    texts = {message for _, _, message, *_ in extract_from_dir(TEMPLATES, method_map, options_map)}
    with (LOCALES / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="nl")
    translated = {m.id: m for m in catalog if m.id}

    missing = [t for t in texts if t not in translated or not translated[t].string
               or translated[t].fuzzy]
    assert missing == [], "translate these in messages.po"
    assert set(translated) - texts == set(), "no longer in any template: remove from messages.po"
    assert [(m.id, errors) for m, errors in catalog.check()] == []  # same %(placeholders)s
