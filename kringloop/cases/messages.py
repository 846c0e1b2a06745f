"""The case workflow's and the team rhythms' Temporal payloads (dataclasses: never table rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CallbackOutcome = Literal["reached", "no_answer", "wrong_number"]


CALLBACK_OUTCOMES: tuple[str, ...] = ("reached", "no_answer", "wrong_number")


def case_id_for(response_id: str) -> str:
    return f"case-{response_id}"


@dataclass(frozen=True)
class CaseInput:
    """Only the keys: who the respondent is stays in the database, out of workflow histories."""

    response_id: str
    program: str
    score: int | None  # None: the person asked for a call (a feedback call), gave no score


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    language: str = "nl"


@dataclass(frozen=True)
class CasePlan:
    """The team and the program's policy, snapshotted when the case opens (durations scaled)."""

    team_id: str
    time_zone: str
    lead: Member
    member_emails: list[str]
    root_causes: list[str]
    max_callback_attempts: int
    reminder_before_s: float
    escalation_grace_s: float
    resurvey_after_s: float
    resurvey_wait_s: float
    respondent_contactable: bool
    # Who should have the case: the adopter, or the recruiter who wrote the rejection.
    adopter_email: str | None = None
    # An anonymous employee: no one to call, but a conversation through their private link.
    anonymous: bool = False
    # The same periods in the team's working hours (unscaled); older cases planned without them.
    reminder_before_hours: float = 0.0
    escalation_grace_hours: float = 0.0
    # How long a closed case takes a reply as a reason to reopen (scaled like the others).
    reply_window_s: float = 30 * 24 * 3600.0


@dataclass(frozen=True)
class AssignRequest:
    case_id: str
    team_id: str
    step: str
    actor: str = "kringloop"
    preferred_email: str | None = None
    exclude_email: str | None = None
    reason: str = "assigned"
    callback_due_at: datetime | None = None


@dataclass(frozen=True)
class CallbackRequest:
    case_id: str
    team_id: str
    score: int | None
    program: str
    step: str
    since: datetime | None = None  # the SLA band counts from here (a reopening), not the opening


@dataclass(frozen=True)
class CallbackPlan:
    due_at: datetime


@dataclass(frozen=True)
class WorkingMoment:
    """A moment in the team's working time: `hours` of it after `start`, before it when
    negative; 0 is the first working moment at or after `start`."""

    team_id: str
    start: datetime
    hours: float = 0.0


@dataclass(frozen=True)
class WorkingSpan:
    """How much of the team's working time lies between two moments."""

    team_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class TimelineRecord:
    """One entry for the case timeline, optionally with a new status or callback due time."""

    case_id: str
    step: str
    actor: str
    kind: str
    detail: str = ""
    status: str | None = None
    callback_due_at: datetime | None = None


# Team actions (Temporal updates), as the web app sends them.
@dataclass(frozen=True)
class CallbackAttempt:
    actor: str
    outcome: str
    note: str = ""


@dataclass(frozen=True)
class Note:
    actor: str
    text: str


@dataclass(frozen=True)
class RespondentAnswer:
    """A member's answer to the respondent's email, stored as a message of the case first."""

    actor: str
    message_id: int


@dataclass(frozen=True)
class Reassignment:
    actor: str
    member_email: str


@dataclass(frozen=True)
class Pause:
    """Waiting on the respondent (asked for information or an appointment): the clock stops."""

    actor: str
    reason: str


@dataclass(frozen=True)
class Resume:
    actor: str


@dataclass(frozen=True)
class Resolution:
    actor: str
    root_cause: str
    action_taken: str
    message: str


@dataclass(frozen=True)
class RelayReply:
    """The team's reply to an anonymous employee; `actor` is the name the employee reads."""

    actor: str
    text: str


@dataclass(frozen=True)
class EmployeeMessage:
    """What an anonymous employee wrote through their conversation link (no one is named)."""

    text: str


@dataclass(frozen=True)
class CallbackBooking:
    """The respondent picked a time for the callback from the assignee's free working hours."""

    at: datetime


@dataclass(frozen=True)
class BookingRecord:
    """A booked callback to store on the case: the new due time, on the timeline."""

    case_id: str
    step: str
    at: datetime


@dataclass(frozen=True)
class ResurveyScore:
    score: int


@dataclass(frozen=True)
class RespondentUpdate:
    """More of the answer that opened the case, sent later by the survey tool (Delighted sends
    the comment in an update): the new comment, and the score if it changed."""

    comment: str | None = None
    score_before: int | None = None
    score: int | None = None

    def detail(self) -> str:
        """What the timeline says."""
        parts = []
        if self.score is not None:
            parts.append(f"score changed from {self.score_before} to {self.score}")
        if self.comment:
            parts.append(f"comment: {self.comment}")
        return "; ".join(parts)


@dataclass(frozen=True)
class ActionRecord:
    """A validated action to store on the case (the activity applies it in one transaction):
    the team's, or an anonymous employee's message through the relay."""

    case_id: str
    step: str
    kind: Literal["callback_attempt", "note", "resolution", "relay_reply", "relay_message"]
    actor: str
    outcome: str | None = None
    text: str = ""
    root_cause: str | None = None
    action_taken: str | None = None


# The case emails that go to the respondent (the others go to the team).
RESPONDENT_KINDS = ("acknowledgement", "unreachable", "closing", "resurvey", "booking_confirmed",
                    "promise_changed", "case_answer")


@dataclass(frozen=True)
class CaseEmail:
    """An email about a case, sent once; `key` is its idempotency key (case, kind, attempt)."""

    case_id: str
    kind: str
    key: str
    reassigned: bool = False
    # A changed promise to the respondent: the new time (the case keeps the first one).
    promised_at: datetime | None = None
    # The respondent's reply reopened the closed case (told to the member who has it again).
    reopened: bool = False
    # An answer to the respondent: the stored message (its words stay in the database).
    message_id: int | None = None

    @property
    def sequence(self) -> int:
        """The how-manieth email of its kind for the case (the key's last part), from 1."""
        return int(self.key.rsplit(":", 1)[1])


@dataclass(frozen=True)
class CaseState:
    """What the running workflow knows right now (the `state` query)."""

    status: str
    assignee_email: str | None
    attempts: int
    callback_due_at: datetime | None
    outgoing_mail: int


@dataclass(frozen=True)
class TeamMorningRequest:
    """Which team's morning; `day` (ISO date) defaults to the day the schedule fires."""

    team_id: str
    day: str | None = None


@dataclass(frozen=True)
class TeamMorning:
    """What a team's scheduled morning email needs to know (dates in the team's time zone)."""

    date: str
    working_day: bool
    members_with_callbacks: list[str]
    all_members: list[str]


@dataclass(frozen=True)
class RespondentMail:
    """An email from the respondent was stored with the case (only its key: the words stay in
    the database): a reply, an auto-reply or a bounce."""

    message_id: int
    kind: str  # "reply", "auto_reply", "bounce"


@dataclass(frozen=True)
class RespondentMailRecord:
    """Put an email from the respondent on the timeline (a bounce also stops mail to the
    address that bounced)."""

    case_id: str
    step: str
    message_id: int
    kind: str
