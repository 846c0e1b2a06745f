"""The Jinja environments of the workspace pages: one per language, with its gettext catalog.

Templates are written in English (`{% trans %}`, `_()`); the Dutch catalog is
`templates/workspace/locale/nl/LC_MESSAGES/messages.po`, compiled in memory at start-up, so the
repository holds no .mo file and there is no build step.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from io import BytesIO
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from kringloop.cases.refusal_words import read_refusal
from kringloop.cases.timeline_words import Phrase, Word, read_actor, read_detail
from kringloop.rejections.refusal_words import read_rejection_refusal
from kringloop.resources import TEMPLATES as ALL_TEMPLATES

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
SOURCE_LANGUAGE = "en"  # the language the templates are written in
TEMPLATES = ALL_TEMPLATES / "workspace"
LOCALES = TEMPLATES / "locale"


def translations(language: str) -> gettext.NullTranslations:
    """The language's catalog, compiled from its .po file in memory."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries stay out, as with msgfmt
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _moment_filter(language: str) -> Callable[[datetime, str], str]:
    def when(moment: datetime, time_zone: str = "Europe/Amsterdam") -> str:
        """An aware moment in the reader's language, on the team's clock."""
        return format_datetime(moment, "EEE d MMM HH:mm", tzinfo=ZoneInfo(time_zone),
                               locale=language)
    return when


def _timeline_words(env: Environment, language: str) -> None:
    """What the timeline's sentences need (templates/workspace/_timeline_words.html): an entry
    read back (kringloop/cases/timeline_words.py), a day and a number as the reader writes
    them, and tests telling a code, a phrase, a moment and a day apart."""
    env.filters["reading"] = lambda entry: read_detail(kind=entry.kind, detail=entry.detail)
    # A refusal's message read back the same way (templates/workspace/_refusal_words.html).
    env.filters["refusal"] = read_refusal
    env.filters["rejection_refusal"] = read_rejection_refusal  # _rejection_refusal_words.html
    env.filters["actor"] = read_actor
    env.filters["day"] = lambda day: format_date(day, "EEE d MMM yyyy", locale=language)
    env.filters["number"] = lambda value: format_decimal(value, format="#,##0.##",
                                                         locale=language)
    env.tests["word"] = lambda value: isinstance(value, Word)
    env.tests["phrase"] = lambda value: isinstance(value, Phrase)
    env.tests["moment"] = lambda value: isinstance(value, datetime)
    env.tests["day"] = lambda value: isinstance(value, date) and not isinstance(value, datetime)


@cache
def environment(language: str) -> Environment:
    if language not in LANGUAGES:
        raise ValueError(f"no workspace pages in {language!r}")
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"],
                      trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = _moment_filter(language)
    env.filters["first_name"] = lambda name: str(name).strip().partition(" ")[0]
    _timeline_words(env, language)
    return env


def accepted_language(header: str | None) -> str:
    """The first of our languages the browser asks for (by q-value), else Dutch."""
    wishes: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        wishes.append((-quality, position, tag.strip().lower().split("-")[0]))
    for negative_quality, _, language in sorted(wishes):
        if negative_quality < 0 and language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def render(request: Request, template: str, context: dict[str, object], *, language: str,
           status_code: int = 200) -> HTMLResponse:
    html = environment(language).get_template(template).render(
        {**context, "language": language, "request": request})
    # Pages show personal data: never kept in a shared cache. (Security headers: middleware.)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
