"""A case's timeline entries read back from what was stored, so a page can say them in the
reader's language and on the team's clock (pure: no database, no words of any language).

The workflows and activities write each step's detail as an English sentence, and those are
kept as written: a workflow's history must replay unchanged, and entries stored long ago must
read as well as new ones. So the sentences are recognised here, pattern by pattern, and taken
apart into a phrase (which sentence it is) and its values (names, numbers, moments in UTC, and
codes such as an outcome or a root cause); the page's templates
(templates/workspace/_timeline_words.html) put them back together in the reader's language.
What people typed (a note, a callback note, what was done about it, a message) is kept as the
text, shown as typed. A detail that matches no pattern is the text itself: shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

# What erased free text and names became (kringloop/privacy/messages.py: a wider domain than
# cases, so the text is recognised here rather than imported; the tests hold the two together).
ERASED = "[erased]"
# The moments the workflows write: "2026-12-02 06:03 UTC".
_MOMENT = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
_DAY = r"\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class Word:
    """A code the pages have a word for: `group` names the list (outcomes, programs, email
    kinds, root causes ...), `code` the entry in it."""

    group: str
    code: str


@dataclass(frozen=True)
class Phrase:
    """One thing an entry says: which sentence (`key`) and the values that go in it."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """An entry's detail read back: its phrases, said one after another with `joiner` between
    them, then the text a person typed (or, when nothing was recognised, the stored detail)."""

    phrases: tuple[Phrase, ...] = ()
    text: str = ""
    joiner: str = ": "


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def _name(text: str) -> object:
    """A person's name, or the mark erasure left in its place."""
    return Word("marks", "erased") if text == ERASED else text


def _typed(text: str) -> Reading:
    """What a person wrote; erased, it says so."""
    return Reading((Phrase("erased_text"),)) if text == ERASED else Reading(text=text)


def _after(phrase: Phrase, rest: str) -> Reading:
    """A phrase, then what a person typed (if anything)."""
    typed = _typed(rest)
    return Reading((phrase, *typed.phrases), typed.text)


# Opened, routed, assigned -----------------------------------------------------------------------

_OPENED_SCORE = re.compile(r"(?P<category>detractor|passive|promoter) score (?P<score>\d+) "
                           r"\((?P<program>\w+)\)")
_OPENED_CALL = re.compile(r"feedback call requested by the applicant after the rejection for "
                          r"(?P<vacancy>.*) \((?P<program>\w+)\)", re.DOTALL)


def _opened(detail: str) -> Reading | None:
    if found := _OPENED_SCORE.fullmatch(detail):
        return Reading((Phrase("opened_score", {
            "category": Word("categories", found["category"]), "score": int(found["score"]),
            "program": Word("programs", found["program"])}),))
    if found := _OPENED_CALL.fullmatch(detail):
        return Reading((Phrase("opened_feedback_call", {
            "vacancy": found["vacancy"], "program": Word("programs", found["program"])}),))
    return None


_ROUTED = re.compile(r"to (?P<team>.+) \((?:(?P<rules>routing rules)|adopted by (?P<adopter>.+)|"
                     r"(?P<signer>.+) wrote the rejection)\)", re.DOTALL)


def _routed(detail: str) -> Reading | None:
    if not (found := _ROUTED.fullmatch(detail)):
        return None
    if found["rules"]:
        return Reading((Phrase("routed", {"team": found["team"]}),))
    if found["adopter"]:
        return Reading((Phrase("routed_to_adopter", {"team": found["team"],
                                                     "name": _name(found["adopter"])}),))
    return Reading((Phrase("routed_to_signer", {"team": found["team"],
                                                "name": _name(found["signer"])}),))


# Why a case moved to someone else (workflows/case.py `_assign`'s reasons).
_REASONS = {
    "reopened by the respondent's reply": "reason_reopened_by_reply",
    "callback overdue after the grace period": "reason_overdue",
    "the colleague's grace period ran out too": "reason_colleague_overdue",
    "reopened after a low re-survey": "reason_low_resurvey",
}
_ASSIGNED = re.compile(r"to (?P<to>.+?)(?: \(was (?P<was>.+?)\))?(?:: (?P<reason>.+))?",
                       re.DOTALL)
# A lead marking a colleague absent hands their callbacks over under this name
# (kringloop/cases/team_cases.py `mark_member_absent`).
_ABSENT_ACTOR = re.compile(rf"(?P<lead>.+) \((?P<member>.+) absent until (?P<until>{_DAY})\)")


def _assigned(detail: str) -> Reading | None:
    if not (found := _ASSIGNED.fullmatch(detail)):
        return None
    phrases = [Phrase("to_was", {"to": _name(found["to"]), "was": _name(found["was"])})
               if found["was"] else Phrase("to", {"to": _name(found["to"])})]
    reason = found["reason"]
    if reason is None:
        return Reading(tuple(phrases))
    if reason in _REASONS:
        return Reading((*phrases, Phrase(_REASONS[reason])))
    if reason.startswith("by "):
        return Reading((*phrases, Phrase("by", {"who": read_actor(reason[3:])})))
    return Reading(tuple(phrases), reason)


def read_actor(actor: str) -> object:
    """Who took a step: the system, the respondent, an anonymous employee, an applicant or the
    operator (as words); a lead handing over an absent colleague's case; or a person's name."""
    if actor in ("kringloop", "respondent", "employee", "applicant", "operator"):
        return Word("actors", actor)
    if found := _ABSENT_ACTOR.fullmatch(actor):
        return Phrase("absent_handover", {"lead": _name(found["lead"]),
                                          "member": _name(found["member"]),
                                          "until": date.fromisoformat(found["until"])})
    return _name(actor)


# The callback ------------------------------------------------------------------------------------

_DUE_WITHIN = re.compile(r"due within (?P<hours>[\d.]+) business hours")
_ESCALATED = re.compile(rf"callback due (?P<due>{_MOMENT}) UTC not yet made; (?P<lead>.+) "
                        r"informed", re.DOTALL)
_RESUMED = re.compile(r"after (?P<hours>[\d.]+) working hours")
_BOOKED = re.compile(rf"callback booked for (?P<at>{_MOMENT}) UTC")
_PROMISED = re.compile(rf"(?P<who>.+) calls by (?P<by>{_MOMENT}) UTC", re.DOTALL)


def _callback_scheduled(detail: str) -> Reading | None:
    if found := _DUE_WITHIN.fullmatch(detail):
        return Reading((Phrase("due_within", {"hours": float(found["hours"])}),))
    return None


def _escalated(detail: str) -> Reading | None:
    if found := _ESCALATED.fullmatch(detail):
        return Reading((Phrase("escalated", {"due": _moment(found["due"]),
                                             "lead": _name(found["lead"])}),))
    return None


def _resumed(detail: str) -> Reading | None:
    if found := _RESUMED.fullmatch(detail):
        return Reading((Phrase("resumed_after", {"hours": float(found["hours"])}),))
    return None


def _booked(detail: str) -> Reading | None:
    if found := _BOOKED.fullmatch(detail):
        return Reading((Phrase("booked_for", {"at": _moment(found["at"])}),))
    return None


def _promised(detail: str) -> Reading | None:
    if found := _PROMISED.fullmatch(detail):
        return Reading((Phrase("calls_by", {"who": _name(found["who"]),
                                            "by": _moment(found["by"])}),))
    return None


def _callback_attempt(detail: str) -> Reading | None:
    outcome, _, note = detail.partition(": ")
    if not re.fullmatch(r"[a-z_]+", outcome):
        return None
    return _after(Phrase("outcome", {"outcome": Word("outcomes", outcome)}), note)


def _resolution(detail: str) -> Reading | None:
    cause, colon, action = detail.partition(": ")
    if not colon or not re.fullmatch(r"[\w-]+", cause):
        return None
    return _after(Phrase("root_cause", {"cause": Word("root_causes", cause)}), action)


# Emails ---------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?P<kind>[a-z_]+) to (?P<to>.+?)(?:: (?P<error>.+))?", re.DOTALL)
# kringloop/mail/suppression.py `_withheld_because`: why an email to a listed address stays.
_BOUNCED_BEFORE = re.compile(rf"not sent: (?P<address>\S+) bounced on (?P<on>{_DAY})"
                             r"(?: \((?P<source>.+)\))?", re.DOTALL)
_UNSUBSCRIBED = re.compile(rf"not sent: (?P<address>\S+) unsubscribed(?: through (?P<source>.+?))?"
                           rf" on (?P<on>{_DAY}) \((?P<reason>.+)\)", re.DOTALL)
# A mail server's refusal: its code, then its own words (not ours to translate).
_SERVER_REFUSAL = re.compile(r"\d{3} .*", re.DOTALL)
# The source the code gives for a bounce and for the unsubscribe link in our emails.
_SOURCES = {"a delivery report": "delivery_report", "email link": "email_link"}


def _source(source: str | None) -> object:
    if source is None:
        return None
    return Word("sources", _SOURCES[source]) if source in _SOURCES else source


def _email(detail: str) -> Reading | None:
    if not (found := _EMAIL.fullmatch(detail)):
        return None
    sent = Phrase("email_to", {"email": Word("emails", found["kind"]), "to": _name(found["to"])})
    error = found["error"]
    if error is None:
        return Reading((sent,))
    if withheld := _BOUNCED_BEFORE.fullmatch(error):
        return Reading((sent, Phrase("not_sent_bounced", {
            "address": _name(withheld["address"]), "on": date.fromisoformat(withheld["on"]),
            "source": _source(withheld["source"])})))
    if withheld := _UNSUBSCRIBED.fullmatch(error):
        return Reading((sent, Phrase("not_sent_unsubscribed", {
            "address": _name(withheld["address"]), "on": date.fromisoformat(withheld["on"]),
            "source": _source(withheld["source"])})))
    if _SERVER_REFUSAL.fullmatch(error):
        return Reading((sent, Phrase("refused_by_mail_server")), error)
    return Reading((sent,), error)


_BOUNCE = re.compile(r"email to (?P<address>.+) bounced: no more email goes to it", re.DOTALL)


def _email_bounced(detail: str) -> Reading | None:
    if not (found := _BOUNCE.fullmatch(detail)):
        return None
    if found["address"] == "the respondent":
        return Reading((Phrase("bounced_respondent"),))
    return Reading((Phrase("bounced", {"address": _name(found["address"])}),))


# The respondent ------------------------------------------------------------------------------

_NEW_SCORE = re.compile(r"new score (?P<score>\d+): (?P<outcome>recovered|not recovered|"
                        r"first score)")
_NEW_SCORE_PHRASES = {"recovered": "new_score_recovered",
                      "not recovered": "new_score_not_recovered",
                      "first score": "new_score_first"}
_UPDATE = re.compile(r"(?:score changed from (?P<before>\d+|None) to (?P<score>\d+))?"
                     r"(?:(?:; )?comment: (?P<comment>.*))?", re.DOTALL)
_STILL_LOW = re.compile(r"re-survey score (?P<score>\d+) is still low")
_RETENTION = re.compile(r"personal data erased after the (?P<months>\d+)-month retention period")


def _resurvey_answered(detail: str) -> Reading | None:
    if found := _NEW_SCORE.fullmatch(detail):
        return Reading((Phrase(_NEW_SCORE_PHRASES[found["outcome"]],
                               {"score": int(found["score"])}),))
    return None


def _respondent_update(detail: str) -> Reading | None:
    found = _UPDATE.fullmatch(detail)
    if not detail or not found:
        return None
    phrases = []
    if found["score"]:
        before = found["before"]
        phrases.append(Phrase("score_changed", {
            "before": int(before) if before != "None" else None, "score": int(found["score"])}))
    if found["comment"] is None:
        return Reading(tuple(phrases))
    comment = _after(Phrase("comment"), found["comment"])
    return Reading((*phrases, *comment.phrases), comment.text, joiner="; " if phrases else ": ")


def _reopened(detail: str) -> Reading | None:
    if detail == "the respondent replied after the case was closed":
        return Reading((Phrase("reopened_by_reply"),))
    if found := _STILL_LOW.fullmatch(detail):
        return Reading((Phrase("still_low", {"score": int(found["score"])}),))
    return None


def _erased(detail: str) -> Reading | None:
    if detail == "personal data erased on request; no more emails to this person":
        return Reading((Phrase("erased_on_request"),))
    if found := _RETENTION.fullmatch(detail):
        return Reading((Phrase("erased_after_retention", {"months": int(found["months"])}),))
    return None


def _fixed(sentences: Mapping[str, str]) -> Callable[[str], Reading | None]:
    """A kind whose detail is always one of a few fixed sentences."""
    def read(detail: str) -> Reading | None:
        return Reading((Phrase(sentences[detail]),)) if detail in sentences else None
    return read


_READERS: dict[str, Callable[[str], Reading | None]] = {
    "opened": _opened,
    "routed": _routed,
    "assigned": _assigned,
    "reassigned": _assigned,
    "callback_scheduled": _callback_scheduled,
    "escalated": _escalated,
    "email_sent": _email,
    "email_failed": _email,
    "promised": _promised,
    "callback_attempt": _callback_attempt,
    "resolution": _resolution,
    "resumed": _resumed,
    "callback_booked": _booked,
    "reopened": _reopened,
    "resurvey_answered": _resurvey_answered,
    "respondent_update": _respondent_update,
    "email_bounced": _email_bounced,
    "erased": _erased,
    "resurvey_sent": _fixed({"one-click score email sent": "resurvey_sent"}),
    "resurvey_unanswered": _fixed({"no new score": "no_new_score"}),
    "respondent_replied": _fixed({"replied by email": "replied_by_email"}),
    "auto_reply": _fixed({"automatic reply (out of office): nobody is told": "nobody_told"}),
    "answered_by_email": _fixed({"answered the respondent by email": "answered_by_email"}),
}
# What people write: a note, a message to or from an anonymous employee, what was asked for.
TYPED_KINDS = ("note", "relay_message", "relay_reply", "paused")


def read_detail(*, kind: str, detail: str) -> Reading:
    """The entry's detail as phrases and typed text; the stored text when it is not known."""
    if not detail:
        return Reading()
    if kind in TYPED_KINDS:
        return _typed(detail)
    reader = _READERS.get(kind)
    return (reader(detail) if reader else None) or Reading(text=detail)
