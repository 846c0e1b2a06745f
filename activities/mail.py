"""The email activity: compose a case email, record it in the outbox, send it once over SMTP."""

from __future__ import annotations

from datetime import UTC, datetime

import aiosmtplib
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from kringloop import case_queries
from kringloop.case_messages import CaseEmail, EmailReceipt
from kringloop.database import session_for
from kringloop.emails import render
from kringloop.mail_delivery import Recipient, build_message, deliver, message_id_for
from kringloop.models import Case, OutboxMessage, SurveyResponse, TimelineEntry
from kringloop.org import Organisation
from kringloop.settings import Settings
from kringloop.signed_links import score_token

RESPONDENT_KINDS = ("acknowledgement", "unreachable", "closing", "resurvey")


class MailActivities:
    """Sends case emails exactly once: outbox row first, then SMTP, then marked sent."""

    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    def compose(self, order: CaseEmail, case: Case, response: SurveyResponse
                 ) -> tuple[Recipient, dict[str, object], str | None]:
        team = self.org.team(case.team_id) if case.team_id else None
        assignee = self.org.member(case.assignee_email) if case.assignee_email else None
        context: dict[str, object] = {
            "organisation": self.org.name,
            "time_zone": team.time_zone if team else "Europe/Amsterdam",
            "base_url": self.settings.base_url,
            "respondent_name": response.name,
            "assignee_name": assignee.name if assignee else None,
            "score": case.score,
            "program": case.program,
            "comment": response.comment,
            "callback_due_at": case.callback_due_at,
            "case_url": f"{self.settings.base_url}/cases/{case.id}",
        }
        reply_to = assignee.email if assignee else None
        if order.kind in RESPONDENT_KINDS:
            if not response.email:
                raise ApplicationError("respondent has no email address", type="NoAddress",
                                       non_retryable=True)
            to = Recipient(response.name, response.email, response.language)
            context |= {
                "attempts": case.attempts,
                "action_taken": case.action_taken,
                "message": case.resolution_message,
                "score_links": [(score, self._score_link(case.id, score)) for score in range(11)],
            }
        elif order.kind == "escalation":
            assert team is not None
            to = Recipient(team.lead.name, team.lead.email, team.lead.language)
            context["lead_name"] = team.lead.name
            reply_to = None
        else:  # assignment, reminder: to the member working the case
            assert assignee is not None
            to = Recipient(assignee.name, assignee.email, assignee.language)
            context |= {"member_name": assignee.name, "reassigned": order.reassigned}
            reply_to = None
        return to, context, reply_to

    def _score_link(self, case_id: str, score: int) -> str:
        token = score_token(self.settings.signing_key, case_id=case_id, score=score)
        return f"{self.settings.base_url}/r/{token}"

    def _record(self, order: CaseEmail, *, status: str, error: str | None = None,
                detail: str) -> None:
        with session_for(self.engine) as session:
            row = session.get(OutboxMessage, order.key)
            assert row is not None
            row.status = status
            row.error = error
            row.sent_at = datetime.now(UTC) if status == "sent" else None
            session.add(row)
            session.add(TimelineEntry(
                case_id=order.case_id, key=f"{order.key}:{status}",
                at=activity.info().scheduled_time, actor="kringloop",
                kind="email_sent" if status == "sent" else "email_failed", detail=detail))
            session.commit()

    @activity.defn
    async def send_case_email(self, order: CaseEmail) -> EmailReceipt:
        with session_for(self.engine) as session:
            found = case_queries.case_with_response(session=session, case_id=order.case_id)
            if found is None:
                raise ApplicationError(f"no case {order.case_id}", type="UnknownCase",
                                       non_retryable=True)
            case, response = found
            to, context, reply_to = self.compose(order, case, response)
            sender = self.settings.mail_from
            row = session.get(OutboxMessage, order.key)
            if row is None:
                row = OutboxMessage(key=order.key, case_id=order.case_id, kind=order.kind,
                                    recipient=to.email,
                                    message_id=message_id_for(order.key, sender),
                                    created_at=datetime.now(UTC))
            elif row.status in ("sent", "failed"):
                return EmailReceipt(key=row.key, message_id=row.message_id,
                                    sent=row.status == "sent", error=row.error)
            row.tries += 1
            session.add(row)
            session.commit()
            message_id = row.message_id

        email = render(order.kind, to.language, context | {"language": to.language})
        message = build_message(email, kind=order.kind, sender=sender, to=to, message_id=message_id,
                                reply_to=reply_to)
        detail = f"{order.kind} to {to.name or to.email}"
        try:
            await deliver(message, self.settings)
        except aiosmtplib.SMTPResponseException as error:
            if 500 <= error.code < 600:
                reason = f"{error.code} {error.message}"
                self._record(order, status="failed", error=reason, detail=f"{detail}: {reason}")
                raise ApplicationError(f"mail server refused the email: {reason}",
                                       type="EmailRejected", non_retryable=True) from None
            raise
        self._record(order, status="sent", detail=detail)
        return EmailReceipt(key=order.key, message_id=message_id, sent=True)
