"""Why a rejection was refused, read back so the rejection pages can say it in the recruiter's
language (pure: no database, no words of any language).

The rules, the scheduling, the actions and the pages' own checks refuse in English, and keep
doing so: the JSON API's clients and the CSV import's report read those words. So the messages
are recognised here, pattern by pattern, as a phrase and its values (a name, a vacancy, a
number, a moment, and codes such as a reason code or a rejection's status), the way
kringloop/cases/refusal_words.py reads a case's refusals, with the same Phrase and Word; the
templates (templates/workspace/_rejection_refusal_words.html) say them in the reader's
language. A form that did not pass its shape arrives as pydantic's message only (the rows are
checked like the spreadsheet's lines: `csv_import.check_cells`), so its type is recognised
from the message and read as the case pages read a shape's error. A message no pattern knows
is the text itself: shown as it was given.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from typing import Any

from kringloop.cases.refusal_words import read_invalid
from kringloop.cases.timeline_words import Phrase, Reading, Word
from kringloop.rejections.csv_import import column_of

_CODES = r"[\w-]+(?:, [\w-]+)*"


def _codes(text: str) -> tuple[Word, ...]:
    return tuple(Word("reason_codes", code) for code in text.split(", "))


def _reason(code: str) -> Word:
    return Word("reason_codes", code)


# The rules (kringloop/rejections/rules.py) -----------------------------------------------------

_SENTENCE = r"the sentence for reason '(?P<code>.*?)' "
_SENTENCE_EMPTY = re.compile(_SENTENCE + r"is empty: write in one or two sentences why, "
                             r"concretely, so (?P<name>.+) can do something with it", re.DOTALL)
_STOCK_PHRASE = re.compile(_SENTENCE + r"is a stock phrase \(\"(?P<phrase>.*)\"\); it is true "
                           r"for every applicant and tells (?P<name>.+) nothing: say what was "
                           r"missing or what made the difference", re.DOTALL)
_TOO_FEW_WORDS = re.compile(_SENTENCE + r"has (?P<words>\d+) words?; write at least "
                            r"(?P<least>\d+): what exactly was missing, so (?P<name>.+) can "
                            r"improve", re.DOTALL)
_NO_REASON = re.compile(r"a rejection needs a reason: give one or two, each a reason code and a "
                        r"personal sentence about why (?P<name>.+) was not chosen", re.DOTALL)
_TOO_MANY_REASONS = re.compile(r"give one or two reasons, not (?P<count>\d+): the one or two "
                               r"that mattered most are the ones an applicant can act on")
_UNKNOWN_CODE = re.compile(rf"unknown reason code '(?P<code>.*)'; choose one of "
                           rf"(?P<codes>{_CODES})", re.DOTALL)
_SEND_AT_PASSED = re.compile(r"send_at (?P<at>\S+) lies in the past; leave it out to send "
                             r"after the hold, inside working hours")
_NOT_A_RECRUITER = re.compile(r"(?P<email>.+) is not a member of the recruiting team "
                              r"\((?P<teams>.*)\): the email is signed by the person who will "
                              r"call back", re.DOTALL)


def _about_the_reasons(message: str) -> Phrase | None:
    if found := _SENTENCE_EMPTY.fullmatch(message):
        return Phrase("sentence_empty", {"code": _reason(found["code"]), "name": found["name"]})
    if found := _STOCK_PHRASE.fullmatch(message):
        return Phrase("stock_phrase", {"code": _reason(found["code"]),
                                       "phrase": found["phrase"], "name": found["name"]})
    if found := _TOO_FEW_WORDS.fullmatch(message):
        return Phrase("too_few_words", {"code": _reason(found["code"]),
                                        "words": int(found["words"]),
                                        "least": int(found["least"]), "name": found["name"]})
    if found := _NO_REASON.fullmatch(message):
        return Phrase("no_reason", {"name": found["name"]})
    if found := _TOO_MANY_REASONS.fullmatch(message):
        return Phrase("too_many_reasons", {"count": int(found["count"])})
    if found := _UNKNOWN_CODE.fullmatch(message):
        if not found["code"]:  # a sentence typed without choosing what it is about
            return Phrase("no_reason_code")
        return Phrase("unknown_reason_code", {"code": found["code"],
                                              "codes": _codes(found["codes"])})
    return None


def _send_at_passed(message: str) -> Phrase | None:
    if not (found := _SEND_AT_PASSED.fullmatch(message)):
        return None
    try:
        return Phrase("send_at_passed", {"at": datetime.fromisoformat(found["at"])})
    except ValueError:
        return None


# Scheduling, the actions and the vacancy page ---------------------------------------------------

_OTHER_CONTENT = re.compile(r"a rejection of (?P<name>.+?) for (?P<title>.+) is already "
                            r"(?P<status>[a-z]+), with other content; (?:(?P<scheduled>cancel it "
                            r"first \(DELETE /api/rejections/.+\), then send the new one)|the "
                            r"applicant has had their email)", re.DOTALL)
_NO_REJECTION = re.compile(r"no rejection (?P<rejection>.+)", re.DOTALL)
_OTHER_VACANCY = re.compile(r"vacancy\.id is (?P<given>'.*'|\".*\"), but this batch is for "
                            r"vacancy (?P<vacancy>'.*'|\".*\")", re.DOTALL)
_ALREADY_SENT = re.compile(r"the email has already been sent \((?P<at>\d{4}-\d{2}-\d{2} "
                           r"\d{2}:\d{2}) UTC\), so it can no longer be cancelled")
_NOTHING_TO_CANCEL = re.compile(r"the rejection is (?P<status>[a-z]+); there is nothing left "
                                r"to cancel")
_FIXED = {
    "only recruiters and leads of the recruiting team send or cancel rejections":
        "recruiters_only",
    "the email is being sent right now and can no longer be cancelled": "being_sent",
    # kringloop/web/pages/rejections.py: the same applicant twice in the draft.
    "this applicant is in the list already; remove that line to change it": "in_the_list",
}


def _quoted(text: str) -> str | None:
    """A value as the message quoted it (Python's repr), or None if it is not one."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _about_the_rejection(message: str) -> Phrase | None:
    if message in _FIXED:
        return Phrase(_FIXED[message])
    if found := _OTHER_CONTENT.fullmatch(message):
        about = {"name": found["name"], "title": found["title"]}
        if found["scheduled"]:  # the API's advice (DELETE ...) is the page's cancel button
            return Phrase("other_content_scheduled", about)
        return Phrase("other_content_sent",
                      {**about, "status": Word("rejection_statuses", found["status"])})
    if found := _NOT_A_RECRUITER.fullmatch(message):
        return Phrase("not_a_recruiter", {"email": found["email"], "teams": found["teams"]})
    if (found := _OTHER_VACANCY.fullmatch(message)) and None not in (
            given := _quoted(found["given"]), vacancy := _quoted(found["vacancy"])):
        return Phrase("other_vacancy", {"given": given, "vacancy": vacancy})
    if found := _ALREADY_SENT.fullmatch(message):
        return Phrase("already_sent", {"at": datetime.strptime(
            found["at"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)})
    if found := _NOTHING_TO_CANCEL.fullmatch(message):
        return Phrase("nothing_to_cancel",
                      {"status": Word("rejection_statuses", found["status"])})
    if found := _NO_REJECTION.fullmatch(message):
        return Phrase("no_rejection", {"rejection": found["rejection"]})
    return None


# A form that did not pass its shape: pydantic's message, without its type ----------------------

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Field required"), "missing"),
    (re.compile(r"String should have at least (?P<min_length>\d+) characters?"),
     "string_too_short"),
    (re.compile(r"String should have at most (?P<max_length>\d+) characters?"),
     "string_too_long"),
    (re.compile(r"Input should be '.*'", re.DOTALL), "literal_error"),
    (re.compile(r"value is not a valid email address: .*", re.DOTALL), "value_error"),
    (re.compile(r"Value error, .*", re.DOTALL), "value_error"),
    (re.compile(r"Input should be a valid datetime.*", re.DOTALL), "datetime_parsing"),
    (re.compile(r"Input should have timezone info"), "timezone_aware"),
)
# The API's way of naming the field first (kringloop/rejections/actions.py `_item_of`).
_FIELD_FIRST = re.compile(r"(?P<field>[a-z_][\w.]*): (?P<rest>.+)", re.DOTALL)


def _shape(message: str) -> Phrase | None:
    """pydantic's message as the case pages read its error, from the type it tells."""
    for pattern, kind in _SHAPES:
        if found := pattern.fullmatch(message):
            error: dict[str, Any] = {"type": kind, "msg": message, "ctx": found.groupdict()}
            reading = read_invalid(error)
            return reading.phrases[0] if reading.phrases else None
    return None


def _named(phrase: Phrase, field: str) -> Phrase:
    """The phrase about one field of the form (a column, or the API's path to it)."""
    return Phrase(phrase.key, {**phrase.values, "field": Word("rejection_fields",
                                                             column_of(field))})


def read_rejection_refusal(message: str, field: str | None = None) -> Reading:
    """A rejection's refusal as a phrase; the message itself when no pattern knows it. A form's
    shape error names `field` (a column or the API's path), unless it is shown beside it."""
    if phrase := (_about_the_reasons(message) or _send_at_passed(message)
                  or _about_the_rejection(message)):
        return Reading((phrase,))
    if phrase := _shape(message):
        return Reading((_named(phrase, field) if field else phrase,))
    if (found := _FIELD_FIRST.fullmatch(message)) and (phrase := _shape(found["rest"])):
        return Reading((_named(phrase, found["field"]),))
    return Reading(text=message)
