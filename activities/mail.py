"""The email activity: compose a case email, record it in the outbox, send it once over SMTP."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities.cases import off_the_loop
from kringloop.cases import emails, steps
from kringloop.cases.messages import CaseEmail
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings


class MailActivities:
    """Sends case emails exactly once: outbox row first, then SMTP, then marked sent."""

    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    def _letter(self, order: CaseEmail) -> tuple[emails.CaseLetter, str]:
        """The email composed from the case as it stands now, and its template."""
        case, origin = steps.load_case(engine=self.engine, case_id=order.case_id)
        letter = emails.compose(kind=order.kind, case=case, origin=origin, org=self.org,
                                settings=self.settings, reassigned=order.reassigned,
                                sequence=order.sequence, promised_at=order.promised_at)
        return letter, emails.template_for(order.kind, origin)

    @activity.defn
    async def send_case_email(self, order: CaseEmail) -> EmailReceipt:
        letter, kind = await off_the_loop(self._letter, order)
        return await send_once(
            Outgoing(key=order.key, kind=kind, to=letter.to, reply_to=letter.reply_to,
                     case_id=order.case_id),
            lambda: letter.render(kind),
            engine=self.engine, settings=self.settings,
            record=steps.email_step(case_id=order.case_id, key=order.key,
                                    at=activity.info().scheduled_time,
                                    promise=emails.promise_in(order.kind, letter)))
