"""A case's emails: who gets each kind, with which template, saying what (pure: no database)."""

from __future__ import annotations

from typing import NamedTuple

from kringloop.cases.messages import RESPONDENT_KINDS
from kringloop.cases.models import Case, CaseOrigin, FeedbackCallRequest
from kringloop.mail.delivery import Recipient
from kringloop.mail.rendering import Email, render
from kringloop.org.organisation import Organisation
from kringloop.security.signed_links import score_token
from kringloop.settings import Settings


class NoAddress(ValueError):
    """The respondent left no email address: there is no one to write to, now or later."""


class CaseLetter(NamedTuple):
    """A composed case email: to whom, what its template is given, and where replies go."""

    to: Recipient
    context: dict[str, object]
    reply_to: str | None

    def render(self, template: str) -> Email:
        """The email in the recipient's language."""
        return render(template, self.to.language, self.context | {"language": self.to.language})


def template_for(kind: str, origin: CaseOrigin) -> str:
    """A feedback-call case acknowledges the request for a call, not a score."""
    if kind == "acknowledgement" and isinstance(origin, FeedbackCallRequest):
        return "feedback_call"
    return kind


def compose(*, kind: str, case: Case, origin: CaseOrigin, org: Organisation,
            settings: Settings, reassigned: bool = False) -> CaseLetter:
    """The `kind` email about `case` as it stands: the respondent's emails, the lead's
    escalation, or the assignment and reminder to the member working the case."""
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
    }
    if isinstance(origin, FeedbackCallRequest):
        context |= {"vacancy_title": origin.vacancy_title, "phone": origin.phone}
    reply_to = assignee.email if assignee else None
    if kind in RESPONDENT_KINDS:
        if not origin.email:
            raise NoAddress("respondent has no email address")
        to = Recipient(origin.name, origin.email, origin.language)
        context |= {
            "attempts": case.attempts,
            "action_taken": case.action_taken,
            "message": case.resolution_message,
            "score_links": [(score, _score_link(settings, case.id, score))
                            for score in range(11)],
        }
    elif kind == "escalation":
        assert team is not None
        to = Recipient(team.lead.name, team.lead.email, team.lead.language)
        context["lead_name"] = team.lead.name
        reply_to = None
    else:  # assignment, reminder, respondent_update: to the member working the case
        assert assignee is not None
        to = Recipient(assignee.name, assignee.email, assignee.language)
        context |= {"member_name": assignee.name, "reassigned": reassigned}
        reply_to = None
    return CaseLetter(to, context, reply_to)


def _score_link(settings: Settings, case_id: str, score: int) -> str:
    """The re-survey's one-click answer: a signed link for this case and score."""
    token = score_token(settings.signing_key, case_id=case_id, score=score)
    return f"{settings.base_url}/r/{token}"
