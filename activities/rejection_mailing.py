"""Activities of a vacancy's rejection mailing: plan the new rejections, send what is due.

A vacancy's rejections go out together (200 applicants at once is the common case), so one
activity sends a whole round of them over kept SMTP connections, with the outbox bookkeeping
done for the round (`send_each_once`) instead of a workflow per applicant. The database holds
each applicant's state: a recruiter's cancel and an erasure change the row, and the round only
takes rows that are still scheduled.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, and_, bindparam, func, update
from sqlmodel import Session, col, select
from temporalio import activity

from activities.rejections import RejectionActivities
from kringloop.cases.models import FeedbackCallRequest
from kringloop.database import session_for
from kringloop.mail.delivery import Recipient
from kringloop.mail.outbox import Outgoing, RecordStep, Sending, attempt_ends, send_each_once
from kringloop.org.organisation import Organisation
from kringloop.rejections.messages import MailingProgress, MailingRound, RejectionEmail
from kringloop.rejections.models import Rejection
from kringloop.rejections.queries import event
from kringloop.settings import Settings

# Emails per round: a round is one activity, and the next round follows at once.
ROUND_SIZE = 250
# A round stops sending after this long (checked every PART emails), so that a slow mail
# server never keeps a recruiter waiting for the send times of rejections just added: the
# next round plans them first.
ROUND_SECONDS = 2.0
PART = 25

_REJECTION = Rejection.__table__  # type: ignore[attr-defined]
# Built once: they run for every email (see `outbox._STATUS_CHANGE`).
_EMAIL_OUTCOME = update(_REJECTION).where(_REJECTION.c.id == bindparam("rejection")).values(
    status=bindparam("status"), sent_at=bindparam("sent_at"), error=bindparam("error"),
    survey_at=bindparam("survey_at"))
_SURVEY_OUTCOME = update(_REJECTION).where(_REJECTION.c.id == bindparam("rejection")).values(
    survey_status=bindparam("survey_status"))


class RejectionMailingActivities:
    """One instance per worker; writes the emails with the rejection workflow's own composer."""

    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.letters = RejectionActivities(engine=engine, org=org, settings=settings)

    @activity.defn
    async def mail_due(self, mailing: MailingRound) -> MailingProgress:
        """Plan the rejections that have no moment yet, send the rejections and surveys that
        are due, and say when the next one is."""
        cut_off, attempt_ends_at = time.monotonic() + ROUND_SECONDS, attempt_ends()
        self._plan(mailing)
        rejections = self._take_due_rejections(mailing)
        surveys = self._take_due_surveys(mailing)
        emails = ([self._rejection_email(row, mailing.now) for row in rejections]
                  + [self._survey_email(row, mailing.now) for row in surveys])
        for start in range(0, len(emails), PART):
            part = emails[start:start + PART]
            handled = await send_each_once(part, engine=self.engine, settings=self.settings,
                                           attempt_ends_at=attempt_ends_at)
            if len(handled) < len(part) or (time.monotonic() > cut_off
                                            and start + PART < len(emails)):
                return MailingProgress(next_at=mailing.now, more_due=True)
        return MailingProgress(next_at=self._next_moment(mailing.mailing_id),
                               more_due=max(len(rejections), len(surveys)) >= ROUND_SIZE)

    # Planning ----------------------------------------------------------------------------------

    def _plan(self, mailing: MailingRound) -> None:
        """Each new rejection's moment: the recruiter's, or after the hold inside working hours
        (the API answers the recruiter with it)."""
        with session_for(self.engine) as session:
            for row in session.exec(select(Rejection).where(
                    Rejection.mailing_id == mailing.mailing_id, Rejection.status == "scheduled",
                    col(Rejection.send_at).is_(None))).all():
                row.send_at, detail = self.letters.send_plan(row, decided_at=mailing.now)
                session.add(row)
                session.add(event(row.id, f"scheduled-{row.round}", "scheduled", at=mailing.now,
                                  detail=detail))
            session.commit()

    # Rejections --------------------------------------------------------------------------------

    def _take_due_rejections(self, mailing: MailingRound) -> Sequence[Rejection]:
        """The round's due rejections, marked "sending": from here on a cancel is too late.
        Rows left "sending" by a crashed attempt are this mailing's own, taken again."""
        with session_for(self.engine) as session:
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

    def _rejection_email(self, row: Rejection, now: datetime) -> Sending:
        order = RejectionEmail(rejection_id=row.id, kind="rejection",
                               key=f"{row.id}:rejection:{row.round}")
        survey_at, survey_detail = self.letters.survey_plan(row, sent_at=now)

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

        return self._sending(row, order, record)

    # Surveys -----------------------------------------------------------------------------------

    def _take_due_surveys(self, mailing: MailingRound) -> Sequence[Rejection]:
        """The round's due surveys. An applicant who asked for a feedback call is asked for a
        score after that conversation instead, and an erased one is not asked at all: both are
        skipped here, on the timeline."""
        with session_for(self.engine) as session:
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

    def _survey_email(self, row: Rejection, now: datetime) -> Sending:
        order = RejectionEmail(rejection_id=row.id, kind="cnps", key=f"{row.id}:cnps:{row.round}")

        def record(session: Session, status: str, detail: str) -> None:
            session.connection().execute(_SURVEY_OUTCOME,
                                         {"rejection": row.id, "survey_status": status})
            session.add(event(row.id, f"{order.key}:{status}",
                              "email_sent" if status == "sent" else "email_failed",
                              at=now, detail=detail))

        return self._sending(row, order, record)

    # Mechanics ---------------------------------------------------------------------------------

    def _sending(self, row: Rejection, order: RejectionEmail, record: RecordStep) -> Sending:
        return Sending(
            Outgoing(key=order.key, kind=order.kind,
                     to=Recipient(row.applicant_name, row.applicant_email, row.language),
                     reply_to=row.recruiter_email),
            lambda: self.letters.compose(order, row), record)

    def _next_moment(self, vacancy_mailing: str) -> datetime | None:
        """When something of this mailing is next due; None when nothing is left to send."""
        with session_for(self.engine) as session:
            moments = session.exec(select(
                func.min(Rejection.send_at).filter(and_(
                    col(Rejection.status).in_(("scheduled", "sending")),
                    Rejection.applicant_email != "")),
                func.min(Rejection.survey_at).filter(and_(
                    Rejection.status == "sent", col(Rejection.survey_status).is_(None))))
                .where(Rejection.mailing_id == vacancy_mailing)).one()
        found = [m for m in moments if m is not None]
        return min(found) if found else None

