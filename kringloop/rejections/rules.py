"""Considerate rejections, the domain rules: every "no" carries a concrete, honest reason.

Seed 000: with 200 applicants a stock rejection sends 200 potential ambassadors away; one or two
concrete sentences about *why* let the person improve. So Kringloop refuses a rejection without
one, and this module says why, in words a recruiter can act on. Pure functions only (no database,
no Temporal): the API, the CSV import and the workflow's activities all use them.

Decisions, as a recruiter and an applicant would expect them:
- One rejection per applicant and vacancy: its id derives from both, so posting it twice changes
  nothing (a retry is safe) and the applicant gets one email.
- The reason is checked, not just present: a sentence made only of stock phrases ("we received
  many applications", "helaas") or shorter than a handful of words is refused, naming the reason.
- The email goes out after a hold (default 24 h, to cancel a mistake or avoid mailing minutes
  after an interview), at the next moment inside working hours in the applicant's language's
  home time zone (nl: Amsterdam, en: London), never at night, at weekends or on that country's
  public holidays. An explicit `send_at` overrides both: the recruiter chose the moment.
- The candidate-NPS survey follows `cnps_after_days` after the email, again inside the window.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from kringloop.org.access import Principal
from kringloop.org.business_hours import add_business_hours
from kringloop.org.organisation import LoyaltyTeam, Member, Organisation, ProgramPolicy
from kringloop.rejections.schemas import RejectionCreate

PROGRAM = "candidate"
MAX_REASONS = 2
# `send_at` a little in the past is "now" (a client's clock); far in the past is a typo.
PAST_SEND_AT_TOLERANCE = timedelta(hours=1)
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._@-]+")


@dataclass(frozen=True)
class Refusal:
    """Why a rejection cannot be sent as it is, and which field to fix."""

    message: str
    field: str


@dataclass(frozen=True)
class SendWindow:
    """Working hours in the applicant's home time zone (see `business_hours.WorkingCalendar`)."""

    time_zone: str
    holiday_country: str
    holiday_subdivision: str | None = None
    working_hours: tuple[time, time] = (time(9), time(17))
    working_days: tuple[int, ...] = field(default=(1, 2, 3, 4, 5))


# The applicant's language decides their time zone and public holidays: we know no more of them.
SEND_WINDOWS = {
    "nl": SendWindow(time_zone="Europe/Amsterdam", holiday_country="NL"),
    "en": SendWindow(time_zone="Europe/London", holiday_country="GB", holiday_subdivision="ENG"),
}


# Identity ------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return _UNSAFE_ID.sub("_", text).strip("_.-")[:40] or "x"


def rejection_id_for(applicant_id: str, vacancy_id: str) -> str:
    """Stable id for one applicant and one vacancy: readable, URL-safe, unique for the exact pair
    (the short hash keeps "a/1" and "a_1" apart after the unsafe characters are replaced)."""
    digest = hashlib.sha256(f"{applicant_id}\x1f{vacancy_id}".encode()).hexdigest()[:8]
    return f"rej-{_slug(applicant_id)}-{_slug(vacancy_id)}-{digest}"


def mailing_id_for(vacancy_id: str) -> str:
    """The workflow id of the vacancy's rejection mailing."""
    digest = hashlib.sha256(vacancy_id.encode()).hexdigest()[:8]
    return f"rejections-{_slug(vacancy_id)}-{digest}"


def survey_response_id_for(rejection_id: str) -> str:
    """The candidate-NPS answer's response id: a second click finds the first answer."""
    return f"cnps-{rejection_id}"


def feedback_call_id_for(rejection_id: str) -> str:
    """The feedback-call request's id, which is also its case's response id (one per rejection)."""
    return f"feedback-{rejection_id}"


# Who rejects, on behalf of which team ---------------------------------------------------------

def recruiting_teams(org: Organisation) -> list[LoyaltyTeam]:
    """Teams that route the candidate program: they send rejections and call applicants back."""
    return [t for t in org.teams if any(PROGRAM in route.programs for route in t.routes)]


def recruiting_team_for(org: Organisation, language: str) -> LoyaltyTeam:
    return org.route(program=PROGRAM, segment=None, language=language)


def signer_of(org: Organisation, recruiter_email: str) -> Member | None:
    """The member who signed a rejection; None once they have left the organisation."""
    return org.member_or_none(recruiter_email)


def may_reject(principal: Principal, org: Organisation) -> bool:
    """Admins, and recruiters and leads of a recruiting team; not members, not other teams."""
    if principal.is_admin:
        return True
    teams = {t.id for t in recruiting_teams(org)}
    return principal.role in ("recruiter", "lead") and bool(principal.team_ids & teams)


def may_see(principal: Principal, org: Organisation) -> bool:
    """Everyone on a recruiting team sees rejections: they call the applicants back."""
    return principal.is_admin or bool(principal.team_ids & {t.id for t in recruiting_teams(org)})


def recruiter_for(payload: RejectionCreate, org: Organisation, caller: Principal | None
                  ) -> Member | Refusal:
    """The named recruiter; else the caller when they recruit; else the recruiting team's lead."""
    members = {m.email: m for t in recruiting_teams(org) for m in t.members}
    if payload.recruiter is not None:
        email = str(payload.recruiter).lower()
        if email not in members:
            names = ", ".join(t.name for t in recruiting_teams(org))
            return Refusal(f"{email} is not a member of the recruiting team ({names}): the "
                           "email is signed by the person who will call back", "recruiter")
        return members[email]
    if caller is not None and caller.email in members:
        return members[caller.email]
    return recruiting_team_for(org, payload.applicant.language).lead


# The reasons ----------------------------------------------------------------------------------

def words_of(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _stock_phrases_in(words: list[str], phrases: list[str]) -> tuple[list[str], list[str]]:
    """The words left once every stock phrase is taken out, and the phrases that were found."""
    patterns = sorted((words_of(p) for p in phrases), key=len, reverse=True)
    left: list[str] = []
    found: list[str] = []
    index = 0
    while index < len(words):
        match = next((p for p in patterns if p and words[index:index + len(p)] == p), None)
        if match:
            found.append(" ".join(match))
            index += len(match)
        else:
            left.append(words[index])
            index += 1
    return left, found


def sentence_refusal(sentence: str, *, code: str, first_name: str, policy: ProgramPolicy,
                     field_name: str) -> Refusal | None:
    """A reason sentence must say something about this person, in at least a handful of words."""
    if not sentence.strip():
        return Refusal(f"the sentence for reason '{code}' is empty: write in one or two "
                       f"sentences why, concretely, so {first_name} can do something with it",
                       field_name)
    words = words_of(sentence)
    left, found = _stock_phrases_in(words, policy.stock_phrases)
    if found and len(left) < policy.min_reason_words:
        return Refusal(f"the sentence for reason '{code}' is a stock phrase (\"{found[0]}\"); it "
                       f"is true for every applicant and tells {first_name} nothing: say what "
                       "was missing or what made the difference", field_name)
    if len(words) < policy.min_reason_words:
        return Refusal(f"the sentence for reason '{code}' has {len(words)} word"
                       f"{'' if len(words) == 1 else 's'}; write at least "
                       f"{policy.min_reason_words}: what exactly was missing, so {first_name} "
                       "can improve", field_name)
    return None


def rejection_refusal(payload: RejectionCreate, *, org: Organisation, now: datetime
                      ) -> Refusal | None:
    """The first reason this rejection cannot be sent, or None when it is considerate."""
    policy = org.programs[PROGRAM]
    first_name = payload.applicant.name.split(" ")[0]
    if not payload.reasons:
        return Refusal("a rejection needs a reason: give one or two, each a reason code and a "
                       f"personal sentence about why {first_name} was not chosen", "reasons")
    if len(payload.reasons) > MAX_REASONS:
        return Refusal(f"give one or two reasons, not {len(payload.reasons)}: the one or two "
                       "that mattered most are the ones an applicant can act on", "reasons")
    for index, reason in enumerate(payload.reasons):
        if reason.code not in policy.reason_codes:
            return Refusal(f"unknown reason code '{reason.code}'; choose one of "
                           f"{', '.join(policy.reason_codes)}", f"reasons.{index}.code")
        refusal = sentence_refusal(reason.sentence, code=reason.code, first_name=first_name,
                                   policy=policy, field_name=f"reasons.{index}.sentence")
        if refusal:
            return refusal
    if payload.send_at is not None and payload.send_at < now - PAST_SEND_AT_TOLERANCE:
        return Refusal(f"send_at {payload.send_at.isoformat()} lies in the past; leave it out "
                       "to send after the hold, inside working hours", "send_at")
    return None


# When the emails go out -----------------------------------------------------------------------

def first_moment_in_window(moment: datetime, language: str) -> datetime:
    """`moment` if it is inside the applicant's working hours, else the next opening (UTC)."""
    return add_business_hours(SEND_WINDOWS[language], moment, 0)


def _scaled(start: datetime, real: datetime, time_scale: float) -> datetime:
    """TIME_SCALE (demos) shrinks the wait: the real moment's distance is divided by it."""
    return start + (real - start) / time_scale


def send_moment(*, decided_at: datetime, language: str, hold_hours: float,
                requested: datetime | None = None, time_scale: float = 1.0) -> datetime:
    """When the rejection email goes out: the recruiter's moment, or hold then window."""
    if requested is not None:
        return max(requested, decided_at)
    real = first_moment_in_window(decided_at + timedelta(hours=hold_hours), language)
    return _scaled(decided_at, real, time_scale)


def survey_moment(*, sent_at: datetime, language: str, after_days: float,
                  time_scale: float = 1.0) -> datetime:
    """When the candidate-NPS survey goes out: some days after the email, inside the window."""
    real = first_moment_in_window(sent_at + timedelta(days=after_days), language)
    return _scaled(sent_at, real, time_scale)
