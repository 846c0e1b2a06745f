"""A round of a vacancy's rejection mailing: plan the new rejections, take what is due, send it.

A vacancy's rejections go out together (200 applicants at once is the common case), so one
activity sends a whole round of them over kept SMTP connections, with the outbox bookkeeping
done for the round (`send_each_once`) instead of a workflow per applicant. The database holds
each applicant's state: a recruiter's cancel and an erasure change the row, and the round only
takes rows that are still scheduled.

`take_round` and `next_moment` block on the database (the activity runs them in a thread);
`send_round` is the sending itself, awaited on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, bindparam, func, update
from sqlmodel import Session, col, select

from kringloop.cases.models import FeedbackCallRequest
from kringloop.database import session_for
from kringloop.mail.outbox import RecordStep, Sending, send_each_once
from kringloop.org.organisation import Organisation
from kringloop.rejections.emails import compose, outgoing
from kringloop.rejections.messages import MailingRound, RejectionEmail
from kringloop.rejections.models import Rejection
from kringloop.rejections.planning import candidate_policy, send_plan, survey_plan
from kringloop.rejections.queries import event, without_a_moment
from kringloop.settings import Settings

# Emails per round: a round is one activity, and the next round follows at once.
ROUND_SIZE = 250
# A round stops sending when rejections were added meanwhile, or after this long (both checked
# every PART emails), so that a recruiter posting a batch never waits long for its send times:
# the next round plans them first.
ROUND_SECONDS = 2.0
PART = 25

_REJECTION = Rejection.__table__  # type: ignore[attr-defined]
# Built once: they run for every email (see `outbox._STATUS_CHANGE`).
_EMAIL_OUTCOME = update(_REJECTION).where(_REJECTION.c.id == bindparam("rejection")).values(
    status=bindparam("status"), sent_at=bindparam("sent_at"), error=bindparam("error"),
    survey_at=bindparam("survey_at"))
_SURVEY_OUTCOME = update(_REJECTION).where(_REJECTION.c.id == bindparam("rejection")).values(
    survey_status=bindparam("survey_status"))


@dataclass(frozen=True)
class DueRound:
    """A round's emails, the rejections before the surveys; `full` when a round's worth of
    either was due, so more may be due already."""

    emails: list[Sending]
    full: bool


def take_round(*, engine: Engine, org: Organisation, settings: Settings,
               mailing: MailingRound) -> DueRound:
    """Plan the rejections that have no moment yet, then take the round's due rejections and
    surveys, each with how its outcome is recorded."""
    plan_new(engine=engine, org=org, settings=settings, mailing=mailing)
    rejections = take_due_rejections(engine=engine, mailing=mailing)
    surveys = take_due_surveys(engine=engine, mailing=mailing)
    emails = ([rejection_email(row=row, now=mailing.now, org=org, settings=settings)
               for row in rejections]
              + [survey_email(row=row, now=mailing.now, org=org, settings=settings)
                 for row in surveys])
    return DueRound(emails, full=max(len(rejections), len(surveys)) >= ROUND_SIZE)


async def send_round(emails: Sequence[Sending], *, engine: Engine, settings: Settings,
                     mailing_id: str, cut_off: float, attempt_ends_at: float) -> bool:
    """Send the round's emails, PART at a time; False when the round stopped before the end
    (rejections added, past `cut_off`, or no time left in the attempt to start one), so more is
    due at once."""
    for start in range(0, len(emails), PART):
        part = emails[start:start + PART]
        handled = await send_each_once(part, engine=engine, settings=settings,
                                       attempt_ends_at=attempt_ends_at)
        if len(handled) < len(part):
            return False
        if start + PART < len(emails) and (
                time.monotonic() > cut_off
                or await asyncio.to_thread(has_unplanned, engine=engine, mailing_id=mailing_id)):
            return False
    return True


# Planning ------------------------------------------------------------------------------------

def has_unplanned(*, engine: Engine, mailing_id: str) -> bool:
    """Rejections added to the mailing that no round has given a moment yet."""
    with session_for(engine) as session:
        return session.exec(select(Rejection.id).where(
            Rejection.mailing_id == mailing_id, without_a_moment()).limit(1)).first() is not None


def plan_new(*, engine: Engine, org: Organisation, settings: Settings,
             mailing: MailingRound) -> None:
    """Each new rejection's moment: the recruiter's, or after the hold inside working hours
    (the API answers the recruiter with it)."""
    with session_for(engine) as session:
        for row in session.exec(select(Rejection).where(
                Rejection.mailing_id == mailing.mailing_id, without_a_moment())).all():
            row.send_at, detail = send_plan(row=row, decided_at=mailing.now,
                                            policy=candidate_policy(org),
                                            time_scale=settings.time_scale)
            session.add(row)
            session.add(event(row.id, f"scheduled-{row.round}", "scheduled", at=mailing.now,
                              detail=detail))
        session.commit()


# Rejections ----------------------------------------------------------------------------------

def take_due_rejections(*, engine: Engine, mailing: MailingRound) -> Sequence[Rejection]:
    """The round's due rejections, marked "sending": from here on a cancel is too late.
    Rows left "sending" by a crashed attempt are this mailing's own, taken again."""
    with session_for(engine) as session:
        rows = session.exec(select(Rejection).where(
            Rejection.mailing_id == mailing.mailing_id,
            col(Rejection.status).in_(("scheduled", "sending")),
            col(Rejection.send_at) <= mailing.now, Rejection.applicant_email != "")
            .order_by(col(Rejection.send_at), col(Rejection.id)).limit(ROUND_SIZE)).all()
        session.execute(update(Rejection).where(
            col(Rejection.id).in_([r.id for r in rows]), Rejection.status == "scheduled")
            .values(status="sending"))
        session.commit()
    return rows


def rejection_email(*, row: Rejection, now: datetime, org: Organisation,
                    settings: Settings) -> Sending:
    order = RejectionEmail(rejection_id=row.id, kind="rejection",
                           key=f"{row.id}:rejection:{row.round}")
    survey_at, survey_detail = survey_plan(row=row, sent_at=now, policy=candidate_policy(org),
                                           time_scale=settings.time_scale)

    def record(session: Session, status: str, detail: str) -> None:
        sent = status == "sent"
        session.connection().execute(_EMAIL_OUTCOME, {
            "rejection": row.id, "status": status, "sent_at": now if sent else None,
            "error": None if sent else detail, "survey_at": survey_at if sent else None})
        session.add(event(row.id, f"{order.key}:{status}",
                          "email_sent" if sent else "email_failed", at=now, detail=detail))
        if sent:
            session.add(event(row.id, f"survey-scheduled-{row.round}", "survey_scheduled",
                              at=now, detail=survey_detail))

    return _sending(row, order, record, org=org, settings=settings)


# Surveys -------------------------------------------------------------------------------------

def take_due_surveys(*, engine: Engine, mailing: MailingRound) -> Sequence[Rejection]:
    """The round's due surveys. An applicant who asked for a feedback call is asked for a
    score after that conversation instead, and an erased one is not asked at all: both are
    skipped here, on the timeline."""
    with session_for(engine) as session:
        rows = session.exec(select(Rejection).where(
            Rejection.mailing_id == mailing.mailing_id, Rejection.status == "sent",
            col(Rejection.survey_status).is_(None), col(Rejection.survey_at) <= mailing.now)
            .order_by(col(Rejection.survey_at), col(Rejection.id)).limit(ROUND_SIZE)).all()
        asked = set(session.exec(select(FeedbackCallRequest.rejection_id).where(
            col(FeedbackCallRequest.rejection_id).in_([r.id for r in rows]))).all())
        due = []
        for row in rows:
            why = ("the applicant's personal data was erased" if not row.applicant_email
                   else "the applicant asked for a feedback call; that case asks for a "
                        "score after the conversation" if row.id in asked else None)
            if why is None:
                due.append(row)
                continue
            session.execute(update(Rejection).where(Rejection.id == row.id)
                            .values(survey_status="skipped"))
            session.add(event(row.id, f"survey-skipped-{row.round}", "survey_skipped",
                              at=mailing.now, detail=why))
        session.commit()
    return due


def survey_email(*, row: Rejection, now: datetime, org: Organisation,
                 settings: Settings) -> Sending:
    order = RejectionEmail(rejection_id=row.id, kind="cnps", key=f"{row.id}:cnps:{row.round}")

    def record(session: Session, status: str, detail: str) -> None:
        session.connection().execute(_SURVEY_OUTCOME,
                                     {"rejection": row.id, "survey_status": status})
        session.add(event(row.id, f"{order.key}:{status}",
                          "email_sent" if status == "sent" else "email_failed",
                          at=now, detail=detail))

    return _sending(row, order, record, org=org, settings=settings)


# Mechanics -----------------------------------------------------------------------------------

def _sending(row: Rejection, order: RejectionEmail, record: RecordStep, *, org: Organisation,
             settings: Settings) -> Sending:
    return Sending(outgoing(order=order, row=row, org=org, settings=settings),
                   lambda: compose(kind=order.kind, row=row, org=org, settings=settings), record)


def next_moment(*, engine: Engine, mailing_id: str) -> datetime | None:
    """When something of this mailing is next due; None when nothing is left to send."""
    with session_for(engine) as session:
        moments = session.exec(select(
            func.min(Rejection.send_at).filter(and_(
                col(Rejection.status).in_(("scheduled", "sending")),
                Rejection.applicant_email != "")),
            func.min(Rejection.survey_at).filter(and_(
                Rejection.status == "sent", col(Rejection.survey_status).is_(None))))
            .where(Rejection.mailing_id == mailing_id)).one()
    found = [m for m in moments if m is not None]
    return min(found) if found else None
