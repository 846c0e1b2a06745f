"""A case's emails: who gets each kind, with which template, saying what (pure: no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import NamedTuple

from kringloop.cases.booking import SLOT, offers_booking
from kringloop.cases.messages import RESPONDENT_KINDS
from kringloop.cases.models import Case, CaseOrigin, FeedbackCallRequest
from kringloop.cases.queries import CaseAnswer, has_conversation
from kringloop.mail.delivery import Recipient, message_id_for
from kringloop.mail.identity import sender_of
from kringloop.mail.rendering import Attachment, Email, calendar_invitation, render
from kringloop.org.organisation import Organisation
from kringloop.security.signed_links import booking_token, score_token
from kringloop.settings import Settings

# The emails that ask for a score again, one link per score.
SCORE_LINK_KINDS = ("closing", "resurvey")
# The respondent's emails that offer a link to book (or move) the callback.
BOOKING_LINK_KINDS = ("acknowledgement", "unreachable", "booking_confirmed", "promise_changed")
# A booked callback, in the calendar of the respondent and of the assignee.
INVITATION_KINDS = ("booking_confirmed", "callback_booked")
_SUMMARIES = {  # the calendar event's title, by the reader's language
    "booking_confirmed": {"nl": "Telefoongesprek met {name} ({organisation})",
                          "en": "Phone call with {name} ({organisation})"},
    "callback_booked": {"nl": "Terugbellen: {name}", "en": "Call back: {name}"},
}
_SOMEONE = {"nl": "een respondent", "en": "a respondent"}  # a respondent who left no name


class NoAddress(ValueError):
    """The respondent left no email address: there is no one to write to, now or later."""


class CaseLetter(NamedTuple):
    """A composed case email: to whom, what its template is given, where replies go, and the
    person it comes from (the member who helps the respondent)."""

    to: Recipient
    context: dict[str, object]
    reply_to: str | None
    attachments: tuple[Attachment, ...] = ()
    from_name: str | None = None

    def render(self, template: str) -> Email:
        """The email in the recipient's language, with its attachments."""
        email = render(template, self.to.language, self.context | {"language": self.to.language})
        return replace(email, attachments=self.attachments)


def template_for(kind: str, origin: CaseOrigin) -> str:
    """A feedback-call case acknowledges the request for a call, not a score."""
    if kind == "acknowledgement" and isinstance(origin, FeedbackCallRequest):
        return "feedback_call"
    return kind


def reply_base(settings: Settings, org: Organisation) -> str | None:
    """Where respondents' replies go (before the case's token is added), if anywhere."""
    return settings.reply_address or org.reply_address


def compose(*, kind: str, case: Case, origin: CaseOrigin, org: Organisation,
            settings: Settings, reassigned: bool = False, sequence: int = 0,
            now: datetime | None = None, promised_at: datetime | None = None,
            reopened: bool = False, reply_address: str | None = None,
            answer: CaseAnswer | None = None) -> CaseLetter:
    """The `kind` email about `case` as it stands: the respondent's emails, the lead's
    escalation, or the assignment, reminder and booked callback to the member working the
    case. A calendar invitation carries `sequence` (the how-manieth of its kind for the case:
    a later booking moves the same event) and is stamped `now` (the clock by default). A
    changed promise tells the respondent `promised_at` (the case keeps the first one). The
    respondent's replies go to `reply_address` (the case's own); without one, to the member."""
    team = org.team(case.team_id) if case.team_id else None
    assignee = org.member(case.assignee_email) if case.assignee_email else None
    context: dict[str, object] = {
        "organisation": org.name,
        "time_zone": team.time_zone if team else "Europe/Amsterdam",
        "base_url": settings.base_url,
        "respondent_name": origin.name,
        "assignee_name": assignee.name if assignee else None,
        "score": case.score,
        # The answer's score now: a survey tool may have sent a changed one since.
        "score_now": None if isinstance(origin, FeedbackCallRequest) else origin.score,
        "program": case.program,
        "comment": origin.comment,
        "callback_due_at": case.callback_due_at,
        "case_url": f"{settings.base_url}/cases/{case.id}",
        # An anonymous employee: the team answers through their conversation, never calls.
        "anonymous": has_conversation(case, origin),
    }
    if isinstance(origin, FeedbackCallRequest):
        context |= {"vacancy_title": origin.vacancy_title, "phone": origin.phone}
    reply_to = reply_address or (assignee.email if assignee else None)
    from_name = None
    if kind in RESPONDENT_KINDS:
        from_name = assignee.name if assignee else None
        if not origin.email:
            raise NoAddress("respondent has no email address")
        to = Recipient(origin.name, origin.email, origin.language)
        context |= {
            "attempts": case.attempts,
            "action_taken": case.action_taken,
            "message": case.resolution_message,
            # Eleven signed links cost as much as the rest of the email: only where shown.
            "score_links": [(score, _score_link(settings, case.id, score))
                            for score in range(11)] if kind in SCORE_LINK_KINDS else [],
            "booking_url": _booking_link(settings, case.id)
            if kind in BOOKING_LINK_KINDS and offers_booking(case, origin) else None,
        }
        if kind == "promise_changed":
            context |= {"promised_at": promised_at or case.callback_due_at,
                        "first_promise": case.callback_due_at}
        if kind == "case_answer":
            assert answer is not None, "an answer has its words"
            context |= {"answer": answer.text, "thread_subject": answer.thread_subject}
    elif kind == "escalation":
        assert team is not None
        to = Recipient(team.lead.name, team.lead.email, team.lead.language)
        context["lead_name"] = team.lead.name
        reply_to = None
    else:  # assignment, reminder, respondent_update, callback_booked: to the member working it
        assert assignee is not None
        to = Recipient(assignee.name, assignee.email, assignee.language)
        context |= {"member_name": assignee.name, "reassigned": reassigned,
                    "reopened": reopened}
        reply_to = None
    if kind not in INVITATION_KINDS:
        return CaseLetter(to, context, reply_to, from_name=from_name)
    invitation = _invitation(kind, case=case, origin=origin, org=org, settings=settings, to=to,
                             sequence=sequence, now=now or datetime.now(UTC))
    return CaseLetter(to, context, reply_to, (invitation,), from_name=from_name)


def _invitation(kind: str, *, case: Case, origin: CaseOrigin, org: Organisation,
                settings: Settings, to: Recipient, sequence: int, now: datetime) -> Attachment:
    """The booked callback for the recipient's calendar. One event per case: a booking moved
    later is sent with a higher SEQUENCE, and moves it."""
    assert case.callback_due_at is not None, "a booked callback has its time"
    other = case.assignee_name if kind == "booking_confirmed" else origin.name
    summary = _SUMMARIES[kind][to.language].format(name=other or _SOMEONE[to.language],
                                                   organisation=org.name)
    return calendar_invitation(
        uid=message_id_for(f"{case.id}:callback", sender_of(settings, org).address).strip("<>"),
        sequence=sequence,
        start=case.callback_due_at, end=case.callback_due_at + SLOT, summary=summary,
        organizer=(org.name, sender_of(settings, org).address), attendee=(to.name, to.email),
        stamp=now)


def _score_link(settings: Settings, case_id: str, score: int) -> str:
    """The re-survey's one-click answer: a signed link for this case and score."""
    token = score_token(settings.signing_key, case_id=case_id, score=score)
    return f"{settings.base_url}/r/{token}"


def _booking_link(settings: Settings, case_id: str) -> str:
    """Where the respondent picks a time for the callback: a signed link for this case."""
    return f"{settings.base_url}/b/{booking_token(settings.signing_key, case_id=case_id)}"


# The respondent's emails that promise a call: by whom, and by when.
PROMISING_KINDS = ("acknowledgement", "booking_confirmed", "promise_changed")


def promise_in(kind: str, letter: CaseLetter) -> str | None:
    """The promise a respondent's email makes, for the case timeline: who calls, by when."""
    who, when = letter.context.get("assignee_name"), (
        letter.context.get("promised_at") or letter.context.get("callback_due_at"))
    if kind not in PROMISING_KINDS or not who or not isinstance(when, datetime):
        return None
    return f"{who} calls by {when:%Y-%m-%d %H:%M} UTC"
