"""Why an action on a case was refused, read back so a page can say it in the reader's language
(pure: no database, no words of any language).

The case workflow's validators, the case and team actions and the pages' own checks refuse in
English, and keep doing so: a workflow's history must replay unchanged, and the JSON API's
clients may match on the message. So the messages are recognised here, pattern by pattern, as
a phrase (which sentence it is) and its values (names, addresses, days, and codes such as an
outcome, a root cause, a case's status or a form's field), the way timeline_words reads a
timeline entry; the page's templates (templates/workspace/_refusal_words.html) say them in the
reader's language. A form that did not pass its shape (pydantic) is read from the error's type.
A message no pattern knows is the text itself: shown as it was given.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from kringloop.cases.timeline_words import Phrase, Reading, Word

_DAY = r"\d{4}-\d{2}-\d{2}"
_CODES = r"[\w-]+(?:, [\w-]+)*"

# Sentences said as they are (workflows/case.py, workflows/relay.py, kringloop/cases/*.py).
_FIXED = {
    "a note needs some text": "note_needs_text",
    "a message needs some text": "message_needs_text",
    "an anonymous employee is answered in their conversation": "answered_in_conversation",
    "only an anonymous employee's case has a conversation; contact this person directly":
        "no_conversation",
    "the respondent cannot be emailed": "respondent_not_emailable",
    "the case is already assigned to this member": "already_assigned",
    "the case is already waiting on the respondent": "already_waiting",
    "say what the respondent is asked for": "say_what_asked",
    "the case is not waiting on the respondent": "not_waiting",
    "that time has passed; pick another": "time_passed",
    "the case is still being opened; try again in a moment": "still_opening",
    "this case was opened before its clock could stop or move; note it instead": "no_clock",
    "only the team lead can reassign a case": "lead_reassigns",
    "only a member of this case's team can adopt the customer": "members_adopt",
    "only a customer with a customer id and an email address can be adopted": "not_adoptable",
    "only the team lead can reassign cases or mark a colleague absent": "lead_only",
}


def _codes(group: str, text: str) -> tuple[Word, ...]:
    return tuple(Word(group, code) for code in text.split(", "))


def _root_cause(quoted: str) -> str | None:
    """The root cause as the workflow quoted it (Python's repr), or None if it is not one."""
    try:
        cause = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        return None
    return cause if isinstance(cause, str) else None


_OUTCOME_ONE_OF = re.compile(rf"outcome must be one of (?P<codes>{_CODES})")
_UNKNOWN_ROOT_CAUSE = re.compile(rf"unknown root cause (?P<cause>'.*'|\".*\"); choose one of "
                                 rf"(?P<codes>{_CODES})", re.DOTALL)
_MUST_NOT_BE_EMPTY = re.compile(r"(?P<name>[a-z][a-z ]*) must not be empty")
_ALREADY = re.compile(r"the case is already (?P<status>[a-z_]+)")
_NOT_IN_CASE_TEAM = re.compile(r"(?P<email>.+) is not a member of this case's team", re.DOTALL)
_CLOSED = re.compile(r"the case is closed \((?P<detail>.*)\)", re.DOTALL)
_NO_CASE = re.compile(r"no case (?P<case>.+)", re.DOTALL)
_NO_TEAM = re.compile(r"no team (?P<team>.+)", re.DOTALL)
_ADOPTED = re.compile(r"(?P<name>.+) has already adopted this customer", re.DOTALL)


def _whole(message: str) -> Phrase | None:
    """A message that is one sentence, about the action as a whole (or its one field)."""
    if message in _FIXED:
        return Phrase(_FIXED[message])
    if found := _OUTCOME_ONE_OF.fullmatch(message):
        return Phrase("outcome_one_of", {"outcomes": _codes("outcomes", found["codes"])})
    if (found := _UNKNOWN_ROOT_CAUSE.fullmatch(message)) and (
            cause := _root_cause(found["cause"])) is not None:
        return Phrase("unknown_root_cause", {"cause": cause,
                                             "causes": _codes("root_causes", found["codes"])})
    if found := _MUST_NOT_BE_EMPTY.fullmatch(message):
        return Phrase("empty", {"field": Word("fields", found["name"].replace(" ", "_"))})
    if found := _ALREADY.fullmatch(message):
        return Phrase("already", {"status": Word("statuses", found["status"])})
    if found := _NOT_IN_CASE_TEAM.fullmatch(message):
        return Phrase("not_in_case_team", {"email": found["email"]})
    if found := _CLOSED.fullmatch(message):
        # The detail is the Temporal server's, for whoever reads the logs: not for the member.
        return Phrase("closed_meanwhile", {"detail": found["detail"]})
    if found := _NO_CASE.fullmatch(message):
        return Phrase("no_case", {"case": found["case"]})
    if found := _NO_TEAM.fullmatch(message):
        return Phrase("no_team", {"team": found["team"]})
    if found := _ADOPTED.fullmatch(message):
        return Phrase("already_adopted", {"name": found["name"]})
    return None


# The team's checks name their field first (kringloop/cases/team_cases.py and the team page's
# own, kringloop/web/pages/team_cases.py): "to_member: choose a colleague".
_FIELD_FIRST = re.compile(r"(?P<field>[a-z_]+): (?P<rest>.+)", re.DOTALL)
_NOT_IN_TEAM = re.compile(r"(?P<email>.+) is not a member of (?P<team>.+)", re.DOTALL)
_ABSENT = re.compile(rf"(?P<name>.+) is absent until (?P<until>{_DAY})", re.DOTALL)
_ABSENCE_PASSED = re.compile(rf"(?P<until>{_DAY}) has passed; the absence ends today or later")
_ABOUT_A_FIELD: Mapping[str, str] = {
    "choose a colleague": "choose_colleague",
    "choose a colleague other than the one the cases leave": "other_colleague",
    "give the last day away as a date": "last_day_as_date",
}


def _about_a_field(message: str) -> Phrase | None:
    if not (found := _FIELD_FIRST.fullmatch(message)):
        return None
    field, rest = Word("fields", found["field"]), found["rest"]
    if rest in _ABOUT_A_FIELD:
        return Phrase(_ABOUT_A_FIELD[rest], {"field": field})
    if said := _ABSENT.fullmatch(rest):
        return Phrase("colleague_absent", {"field": field, "name": said["name"],
                                           "until": date.fromisoformat(said["until"])})
    if said := _ABSENCE_PASSED.fullmatch(rest):
        return Phrase("absence_passed", {"field": field,
                                         "until": date.fromisoformat(said["until"])})
    if said := _NOT_IN_TEAM.fullmatch(rest):
        return Phrase("not_in_team", {"field": field, "email": said["email"],
                                      "team": said["team"]})
    return None


def read_refusal(message: str) -> Reading:
    """The refusal's message as a phrase; the message itself when no pattern knows it."""
    phrase = _whole(message) or _about_a_field(message)
    return Reading((phrase,)) if phrase else Reading(text=message)


# A form that did not pass its shape: pydantic's error, by its type ----------------------------

_MOMENT_TYPES = ("datetime_type", "datetime_parsing", "datetime_from_date_parsing",
                 "datetime_object_invalid", "timezone_aware", "timezone_naive")
_DAY_TYPES = ("date_type", "date_parsing", "date_from_datetime_parsing",
              "date_from_datetime_inexact")


def _invalid_phrase(kind: str, message: str, context: Mapping[str, Any]) -> Phrase | None:
    if kind == "missing":
        return Phrase("missing")
    if kind == "string_too_short":
        least = int(context.get("min_length", 1))
        return Phrase("empty") if least <= 1 else Phrase("too_short", {"length": least})
    if kind == "string_too_long" and "max_length" in context:
        return Phrase("too_long", {"length": int(context["max_length"])})
    if kind in ("literal_error", "enum"):
        return Phrase("not_a_choice")
    if kind == "value_error":
        if "valid email address" in message:
            return Phrase("not_an_email_address")
        if "control characters" in message:
            return Phrase("control_characters")
        return Phrase("not_valid")
    if kind in _MOMENT_TYPES:
        return Phrase("not_a_moment")
    if kind in _DAY_TYPES:
        return Phrase("not_a_day")
    return None


def read_invalid(error: Mapping[str, Any]) -> Reading:
    """A form's first error as pydantic gives it (`type`, `loc`, `msg`, `ctx`): a phrase naming
    the field; for a type not known here, "field: message" as pydantic says it."""
    location = error.get("loc") or ()
    field = str(location[0]) if location else None
    message = str(error.get("msg", ""))
    phrase = _invalid_phrase(str(error.get("type", "")), message, error.get("ctx") or {})
    if phrase is None:
        return Reading(text=f"{field}: {message}" if field else message)
    field_word = Word("fields", field) if field else None
    return Reading((Phrase(phrase.key, {**phrase.values, "field": field_word}),))
