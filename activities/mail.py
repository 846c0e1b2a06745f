"""The email activity: compose a case email, record it in the outbox, send it once over SMTP."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from kringloop.cases import queries as case_queries
from kringloop.cases.messages import CaseEmail
from kringloop.cases.models import Case, CaseOrigin, FeedbackCallRequest, TimelineEntry
from kringloop.database import session_for
from kringloop.mail.delivery import Recipient
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.mail.rendering import render
from kringloop.org.organisation import Organisation
from kringloop.security.signed_links import score_token
from kringloop.settings import Settings

RESPONDENT_KINDS = ("acknowledgement", "unreachable", "closing", "resurvey")


def template_for(kind: str, origin: CaseOrigin) -> str:
    """A feedback-call case acknowledges the request for a call, not a score."""
    if kind == "acknowledgement" and isinstance(origin, FeedbackCallRequest):
        return "feedback_call"
    return kind


class MailActivities:
    """Sends case emails exactly once: outbox row first, then SMTP, then marked sent."""

    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    def compose(self, order: CaseEmail, case: Case, response: CaseOrigin
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
        if isinstance(response, FeedbackCallRequest):
            context |= {"vacancy_title": response.vacancy_title, "phone": response.phone}
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

    @activity.defn
    async def send_case_email(self, order: CaseEmail) -> EmailReceipt:
        with session_for(self.engine) as session:
            found = case_queries.case_with_response(session=session, case_id=order.case_id)
        if found is None:
            raise ApplicationError(f"no case {order.case_id}", type="UnknownCase",
                                   non_retryable=True)
        case, origin = found
        to, context, reply_to = self.compose(order, case, origin)
        kind = template_for(order.kind, origin)

        def record(session: Session, status: str, detail: str) -> None:
            session.add(TimelineEntry(
                case_id=order.case_id, key=f"{order.key}:{status}",
                at=activity.info().scheduled_time, actor="kringloop",
                kind="email_sent" if status == "sent" else "email_failed", detail=detail))

        return await send_once(
            Outgoing(key=order.key, kind=kind, to=to, reply_to=reply_to, case_id=order.case_id),
            lambda: render(kind, to.language, context | {"language": to.language}),
            engine=self.engine, settings=self.settings, record=record)
