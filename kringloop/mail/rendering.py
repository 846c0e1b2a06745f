"""Rendering Kringloop's emails (subject, text, HTML; Dutch and English) as a pure function,
and the calendar invitation an email about an appointment carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_timezone, get_timezone_location
from icalendar import Calendar, Event, vCalAddress
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
    "booking_confirmed",
    "callback_booked",
    "promise_changed",
    "respondent_reply",
    "mail_bounced",
    "case_answer",
)
LANGUAGES = ("nl", "en")

# How a moment reads in a sentence such as "we call you on <moment>".
_MOMENT_FORMATS = {
    "nl": "EEEE d MMMM 'om' HH:mm",
    "en": "EEEE d MMMM 'at' HH:mm",
}


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email, as text: e.g. a calendar invitation (`text/calendar`, with
    the parameter `method=REQUEST`)."""

    filename: str
    content_type: str
    text: str
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Email:
    """One rendered email, ready to be put in a MIME message."""

    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def calendar_invitation(*, uid: str, sequence: int, start: datetime, end: datetime,
                        summary: str, organizer: tuple[str, str],
                        attendee: tuple[str | None, str], stamp: datetime) -> Attachment:
    """An appointment from the organisation (name, email) for the attendee's calendar, as an
    iCalendar request (RFC 5545/5546), every time in UTC. Sent again with the same `uid` and a
    higher `sequence`, it moves the event already in the calendar."""
    calendar = Calendar()
    calendar.add("prodid", "-//Kringloop//Kringloop//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    event.add("status", "CONFIRMED")
    event.add("organizer", _address(*organizer))
    guest = _address(*attendee)
    guest.params.update({"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"})
    event.add("attendee", guest)
    calendar.add_component(event)
    return Attachment(filename="invite.ics", content_type="text/calendar",
                      text=calendar.to_ical().decode(), parameters=(("method", "REQUEST"),))


def _address(name: str | None, email: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    return address


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


@pass_context
def _place(context: Context, time_zone: str) -> str:
    """The city a time zone is named after, in the reader's language ("Londen", "New York"):
    a time in an email says whose clock it is."""
    language = str(_required(context, "language"))
    return str(get_timezone_location(get_timezone(time_zone), locale=language,
                                     return_city=True))


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
_environment.filters["place"] = _place


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
