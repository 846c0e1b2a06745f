"""The email activity: compose a case email, record it in the outbox, send it once over SMTP."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities.cases import off_the_loop
from kringloop.cases import emails, queries, steps
from kringloop.cases.messages import RESPONDENT_KINDS, CaseEmail
from kringloop.database import session_for
from kringloop.mail.identity import sender_of
from kringloop.mail.messages import EmailReceipt
from kringloop.mail.outbox import Claims, Outgoing, claim, send_once
from kringloop.mail.reply_addresses import reply_token_for, with_token
from kringloop.org.organisation import Organisation
from kringloop.security.signed_links import unsubscribe_link
from kringloop.settings import Settings

# A survey mail: the reader may unsubscribe in one click (RFC 8058).
UNSUBSCRIBABLE_KINDS = ("resurvey",)


class MailActivities:
    """Sends case emails exactly once: outbox row first, then SMTP, then marked sent."""

    def __init__(self, *, engine: Engine, org: Organisation, settings: Settings) -> None:
        self.engine = engine
        self.org = org
        self.settings = settings

    def _letter(self, order: CaseEmail) -> tuple[emails.CaseLetter, str, Outgoing, Claims]:
        """The email composed from the case as it stands now, its template, its envelope and
        its outbox row claimed, in one transaction: a respondent's email carries the case's
        reply address (an anonymous employee's none), and an answer goes in the thread of the
        email it answers."""
        reply_address = answer = None
        base = emails.reply_base(self.settings, self.org)
        with session_for(self.engine) as session:
            case, origin = steps.case_in(session, order.case_id)
            if (base and order.kind in RESPONDENT_KINDS
                    and not queries.has_conversation(case, origin)):
                reply_address = with_token(base, reply_token_for(session.connection(),
                                                                 case.id))
            if order.message_id is not None:
                answer = queries.answer_in_thread(session=session, case_id=case.id,
                                                  message_id=order.message_id)
                if answer is None:
                    raise steps.UnknownCase(f"no answer {order.message_id} on {case.id}")
            letter = emails.compose(kind=order.kind, case=case, origin=origin, org=self.org,
                                    settings=self.settings, reassigned=order.reassigned,
                                    sequence=order.sequence, promised_at=order.promised_at,
                                    reopened=order.reopened, reply_address=reply_address,
                                    answer=answer)
            template = emails.template_for(order.kind, origin)
            outgoing = Outgoing(key=order.key, kind=template, to=letter.to,
                                reply_to=letter.reply_to, case_id=order.case_id,
                                from_name=letter.from_name, envelope_from=reply_address,
                                in_reply_to=answer.in_reply_to if answer else None,
                                references=answer.references if answer else (),
                                sender=sender_of(self.settings, self.org),
                                unsubscribe_url=unsubscribe_link(
                                    self.settings, email=letter.to.email,
                                    language=letter.to.language)
                                if order.kind in UNSUBSCRIBABLE_KINDS else None)
            claimed = claim(session.connection(), [outgoing], self.settings)
            session.commit()
        return letter, template, outgoing, claimed

    @activity.defn
    async def send_case_email(self, order: CaseEmail) -> EmailReceipt:
        letter, template, outgoing, claimed = await off_the_loop(self._letter, order)
        return await send_once(
            outgoing, lambda: letter.render(template),
            engine=self.engine, settings=self.settings, claimed=claimed,
            record=steps.email_step(case_id=order.case_id, key=order.key,
                                    at=activity.info().scheduled_time,
                                    promise=emails.promise_in(order.kind, letter)))
