"""When a rejection's email and its candidate-NPS survey go out, and how the timeline says it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from kringloop.org.organisation import Organisation, ProgramPolicy
from kringloop.rejections.models import Rejection
from kringloop.rejections.rules import PROGRAM, SEND_WINDOWS, send_moment, survey_moment


def candidate_policy(org: Organisation) -> ProgramPolicy:
    """Looked up when a rejection needs it: an organisation without the candidate program
    (programs may be left out of the org file) still starts a worker."""
    return org.programs[PROGRAM]


def local_time(moment: datetime, language: str) -> str:
    zone = SEND_WINDOWS[language].time_zone
    return f"{moment.astimezone(ZoneInfo(zone)):%a %d %b %Y %H:%M} ({zone})"


def send_plan(*, row: Rejection, decided_at: datetime, policy: ProgramPolicy,
              time_scale: float) -> tuple[datetime, str]:
    """When the email goes out: the recruiter's moment, or the hold and then the next
    moment inside the applicant's working hours; and the timeline's words for it."""
    hold = policy.rejection_hold_hours
    send_at = send_moment(decided_at=decided_at, language=row.language, hold_hours=hold,
                          requested=row.requested_send_at, time_scale=time_scale)
    why = ("at the moment the recruiter chose" if row.requested_send_at else
           f"after the {hold:g}-hour hold, inside working hours")
    return send_at, f"to go out {local_time(send_at, row.language)}, {why}"


def survey_plan(*, row: Rejection, sent_at: datetime, policy: ProgramPolicy,
                time_scale: float) -> tuple[datetime, str]:
    """The candidate-NPS survey's moment, some days after the email in working hours; and
    the timeline's words for it."""
    survey_at = survey_moment(sent_at=sent_at, language=row.language,
                              after_days=policy.cnps_after_days, time_scale=time_scale)
    return survey_at, f"candidate-NPS survey to go out {local_time(survey_at, row.language)}"
