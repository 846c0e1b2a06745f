"""Activities of the rejection workflow: plan the moments, record the steps, send the emails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from kringloop.database import session_for
from kringloop.mail.delivery import Recipient
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.mail.rendering import Email, render
from kringloop.org.organisation import Member, Organisation, ProgramPolicy
from kringloop.rejections import queries as rejection_queries
from kringloop.rejections.messages import RejectionEmail, RejectionPlan, RejectionStep
from kringloop.rejections.models import Rejection
from kringloop.rejections.rules import (
    PROGRAM,
    SEND_WINDOWS,
    recruiting_team_for,
    send_moment,
    signer_of,
    survey_moment,
)
from kringloop.security.signed_links import feedback_call_token, survey_token
from kringloop.settings import Settings


def _now() -> datetime:
    """When the step happened: the server's clock (simulated time in tests), not the worker's."""
    return activity.info().scheduled_time


def local_time(moment: datetime, language: str) -> str:
    zone = SEND_WINDOWS[language].time_zone
    return f"{moment.astimezone(ZoneInfo(zone)):%a %d %b %Y %H:%M} ({zone})"


class RejectionActivities:
    """Rejection bookkeeping and email; one instance per worker."""

    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    @property
    def policy(self) -> ProgramPolicy:
        """Looked up when a rejection needs it: an organisation without the candidate program
        (programs may be left out of the org file) still starts a worker."""
        return self.org.programs[PROGRAM]

    def _load(self, session: Session, rejection_id: str) -> Rejection:
        row = session.get(Rejection, rejection_id)
        if row is None:
            raise ApplicationError(f"no rejection {rejection_id}", type="UnknownRejection",
                                   non_retryable=True)
        return row

    def _step(self, rejection_id: str, key: str, kind: str, detail: str,
              change: Callable[[Rejection], None] | None = None,
              actor: str = "kringloop") -> bool:
        """Record the step once; False when an earlier attempt of the activity recorded it."""
        with session_for(self.engine) as session:
            return rejection_queries.record_step_once(
                session=session, step=rejection_queries.event(
                    rejection_id, key, kind, at=_now(), actor=actor, detail=detail),
                change=change or (lambda row: None))

    @activity.defn
    async def schedule_rejection(self, rejection_id: str) -> RejectionPlan:
        """Decide when the email goes out, once per round: the recruiter's moment, or the hold
        and then the next moment inside the applicant's working hours."""
        with session_for(self.engine) as session:
            row = self._load(session, rejection_id)
        if row.send_at is None:
            send_at, detail = self.send_plan(row, decided_at=_now())

            def plan(rejection: Rejection) -> None:
                rejection.send_at = send_at

            if self._step(rejection_id, f"scheduled-{row.round}", "scheduled", detail, plan):
                return RejectionPlan(send_at=send_at, round=row.round)
            with session_for(self.engine) as session:  # an earlier attempt planned it
                row = self._load(session, rejection_id)
        assert row.send_at is not None
        return RejectionPlan(send_at=row.send_at, round=row.round)

    @activity.defn
    async def schedule_survey(self, rejection_id: str) -> datetime:
        """The candidate-NPS survey's moment: some days after the email, in working hours."""
        with session_for(self.engine) as session:
            row = self._load(session, rejection_id)
        survey_at, detail = self.survey_plan(row, sent_at=row.sent_at or _now())
        self._step(rejection_id, f"survey-scheduled-{row.round}", "survey_scheduled", detail)
        return survey_at

    # The moments, and how the timeline says them (the vacancy mailing plans with them too) ---

    def send_plan(self, row: Rejection, *, decided_at: datetime) -> tuple[datetime, str]:
        """When the email goes out: the recruiter's moment, or the hold and then the next
        moment inside the applicant's working hours; and the timeline's words for it."""
        hold = self.policy.rejection_hold_hours
        send_at = send_moment(decided_at=decided_at, language=row.language, hold_hours=hold,
                              requested=row.requested_send_at,
                              time_scale=self.settings.time_scale)
        why = ("at the moment the recruiter chose" if row.requested_send_at else
               f"after the {hold:g}-hour hold, inside working hours")
        return send_at, f"to go out {local_time(send_at, row.language)}, {why}"

    def survey_plan(self, row: Rejection, *, sent_at: datetime) -> tuple[datetime, str]:
        """The candidate-NPS survey's moment, some days after the email in working hours; and
        the timeline's words for it."""
        survey_at = survey_moment(sent_at=sent_at, language=row.language,
                                  after_days=self.policy.cnps_after_days,
                                  time_scale=self.settings.time_scale)
        return survey_at, f"candidate-NPS survey to go out {local_time(survey_at, row.language)}"

    @activity.defn
    async def record_step(self, step: RejectionStep) -> None:
        def apply(row: Rejection) -> None:
            if step.status:
                row.status = step.status
                if step.status == "cancelled":
                    row.cancelled_at = _now()

        self._step(step.rejection_id, step.key, step.kind, step.detail, apply, step.actor)

    # Email -------------------------------------------------------------------------------------

    def _recruiter(self, row: Rejection) -> Member:
        """The recruiter who signs; their team's lead if they have left the organisation."""
        return (signer_of(self.org, row.recruiter_email)
                or recruiting_team_for(self.org, row.language).lead)

    def compose(self, order: RejectionEmail, row: Rejection) -> Email:
        """The email as the applicant reads it, in their language; the workspace's preview and
        the benchmark use it too, so neither can drift from what is sent."""
        recruiter = self._recruiter(row)
        base = self.settings.base_url
        key = self.settings.signing_key
        context: dict[str, object] = {
            "organisation": self.org.name,
            "time_zone": SEND_WINDOWS[row.language].time_zone,
            "base_url": base,
            "applicant_name": row.applicant_name,
            "vacancy_title": row.vacancy_title,
            "recruiter_name": recruiter.name,
            "team_name": self.org.team_of(recruiter.email).name,
        }
        if order.kind == "rejection":
            context |= {
                "stage": row.stage,
                "reasons": row.reasons,
                "feedback_url": f"{base}/f/{feedback_call_token(key, rejection_id=row.id)}",
            }
        else:
            context["score_links"] = [
                (score, f"{base}/c/{survey_token(key, rejection_id=row.id, score=score)}")
                for score in range(11)]
        return render(order.kind, row.language, context | {"language": row.language})

    @activity.defn
    async def send_rejection_email(self, order: RejectionEmail) -> EmailReceipt:
        with session_for(self.engine) as session:
            row = self._load(session, order.rejection_id)
        if not row.applicant_email:  # erased on the applicant's request
            raise ApplicationError("the applicant has no email address", type="NoAddress",
                                   non_retryable=True)
        to = Recipient(row.applicant_name, row.applicant_email, row.language)

        def record(session: Session, status: str, detail: str) -> None:
            session.add(rejection_queries.event(
                order.rejection_id, f"{order.key}:{status}",
                "email_sent" if status == "sent" else "email_failed", at=_now(), detail=detail))
            if order.kind == "rejection":
                rejection = self._load(session, order.rejection_id)
                rejection.status = status
                rejection.sent_at = _now() if status == "sent" else None
                rejection.error = None if status == "sent" else detail
                session.add(rejection)

        return await send_once(
            Outgoing(key=order.key, kind=order.kind, to=to, reply_to=row.recruiter_email),
            lambda: self.compose(order, row),
            engine=self.engine, settings=self.settings, record=record)
