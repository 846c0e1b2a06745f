"""The rejection and candidate-NPS emails as the applicant reads them: who signs, what it says."""

from __future__ import annotations

from kringloop.mail.delivery import Recipient
from kringloop.mail.identity import sender_of
from kringloop.mail.outbox import Outgoing
from kringloop.mail.rendering import Email, render
from kringloop.org.organisation import Member, Organisation
from kringloop.rejections.messages import RejectionEmail
from kringloop.rejections.models import Rejection
from kringloop.rejections.rules import SEND_WINDOWS, recruiting_team_for, signer_of
from kringloop.security.signed_links import feedback_call_token, survey_token, unsubscribe_link
from kringloop.settings import Settings


def signer(*, org: Organisation, row: Rejection) -> Member:
    """The recruiter who signs; their team's lead if they have left the organisation."""
    return signer_of(org, row.recruiter_email) or recruiting_team_for(org, row.language).lead


def compose(*, kind: str, row: Rejection, org: Organisation, settings: Settings) -> Email:
    """The email (`rejection` or `cnps`) as the applicant reads it, in their language; the
    workspace's preview and the benchmark use it too, so neither can drift from what is sent."""
    recruiter = signer(org=org, row=row)
    base = settings.base_url
    key = settings.signing_key
    context: dict[str, object] = {
        "organisation": org.name,
        "time_zone": SEND_WINDOWS[row.language].time_zone,
        "base_url": base,
        "applicant_name": row.applicant_name,
        "vacancy_title": row.vacancy_title,
        "recruiter_name": recruiter.name,
        "team_name": org.team_of(recruiter.email).name,
    }
    if kind == "rejection":
        context |= {
            "stage": row.stage,
            "reasons": row.reasons,
            "feedback_url": f"{base}/f/{feedback_call_token(key, rejection_id=row.id)}",
        }
    else:
        context["score_links"] = [
            (score, f"{base}/c/{survey_token(key, rejection_id=row.id, score=score)}")
            for score in range(11)]
    return render(kind, row.language, context | {"language": row.language})


def outgoing(*, order: RejectionEmail, row: Rejection, org: Organisation,
             settings: Settings) -> Outgoing:
    """The email's envelope: sent once under its key, to the applicant, from the recruiter who
    signs it on the organisation's behalf, replies to the recruiter who rejected; the survey
    with a link that unsubscribes."""
    to = Recipient(row.applicant_name, row.applicant_email, row.language)
    return Outgoing(
        key=order.key, kind=order.kind, to=to, reply_to=row.recruiter_email,
        sender=sender_of(settings, org), from_name=signer(org=org, row=row).name,
        unsubscribe_url=unsubscribe_link(settings, email=to.email, language=to.language)
        if order.kind == "cnps" else None)
