"""Rendering Kringloop's emails (subject, text, HTML; Dutch and English) as a pure function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    UndefinedError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from jinja2.utils import missing

from kringloop.resources import TEMPLATES

KINDS = (
    "acknowledgement",
    "assignment",
    "reminder",
    "respondent_update",
    "escalation",
    "unreachable",
    "closing",
    "resurvey",
    "sign_in",
    "rejection",
    "cnps",
    "feedback_call",
    "digest",
    "spotlight",
    "relay_message",
)
LANGUAGES = ("nl", "en")

# How a moment reads in a sentence such as "we call you on <moment>".
_MOMENT_FORMATS = {
    "nl": "EEEE d MMMM 'om' HH:mm",
    "en": "EEEE d MMMM 'at' HH:mm",
}


@dataclass(frozen=True)
class Email:
    """One rendered email, ready to be put in a MIME message."""

    subject: str
    text: str
    html: str


def _required(context: Context, name: str) -> object:
    """Look a context value up the way StrictUndefined would: missing is an error, not a blank."""
    value = context.resolve_or_missing(name)
    if value is missing:
        raise UndefinedError(f"{name!r} is undefined")
    return value


@pass_context
def _when(context: Context, moment: datetime) -> str:
    """Show an aware datetime in the reader's language and time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        # Babel would silently read a naive datetime as UTC and show the reader a wrong hour.
        raise ValueError(f"refusing to show a naive datetime: {moment!r}")
    language = str(_required(context, "language"))
    time_zone = ZoneInfo(str(_required(context, "time_zone")))
    return format_datetime(moment, _MOMENT_FORMATS[language], tzinfo=time_zone, locale=language)


def _first_name(name: str) -> str:
    """The first word of a name, for a friendly greeting ("Anna" from "Anna de Vries")."""
    # Split on spaces only: a name smuggling in a line break must reach the subject check.
    return name.strip().partition(" ")[0]


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES / "email"),
    undefined=StrictUndefined,
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["when"] = _when
_environment.filters["first_name"] = _first_name


def render(kind: str, language: str, context: Mapping[str, object]) -> Email:
    """Render the email `kind` in `language`; the subject is the `.txt` template's `subject`."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}; expected one of {', '.join(KINDS)}")
    if language not in LANGUAGES:
        raise ValueError(
            f"unknown email language {language!r}; expected one of {', '.join(LANGUAGES)}"
        )
    if context.get("language", language) != language:
        raise ValueError(
            f"context language {context['language']!r} contradicts language {language!r}"
        )
    values = {**context, "language": language}

    text_module = _environment.get_template(f"{language}/{kind}.txt").make_module(values)
    subject = str(getattr(text_module, "subject", "")).strip()
    if not subject:
        raise ValueError(f"the {language}/{kind} template sets no subject")
    if len(subject.splitlines()) != 1:
        # A line break in a header would let user text add headers (e.g. Bcc) to the message.
        raise ValueError(f"refusing a {kind} subject with a line break in it: {subject!r}")

    html = _environment.get_template(f"{language}/{kind}.html").render(
        {**values, "subject": subject}
    )
    return Email(subject=subject, text=str(text_module).strip() + "\n", html=html)
