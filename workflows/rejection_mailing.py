"""A vacancy's rejection mailing: every rejection of the vacancy sent once, at its moment, then
its survey.

Read `run` from top to bottom: a round plans the new rejections and sends what is due → wait
for the next moment, or for a recruiter adding rejections → again, until nothing is left. Each
applicant's state (scheduled, cancelled, sent, surveyed) is in the database, where a cancel or
an erasure changes it; a round takes only what is still due. One workflow per vacancy sends a
batch of 200 as fast as the mail server takes them, where a workflow per applicant could not.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.rejection_mailing import RejectionMailingActivities
    from kringloop.rejections.messages import MailingInput, MailingRound
    from workflows.policies import MAIL_DELIVERY

mailings = RejectionMailingActivities


@workflow.defn
class RejectionMailingWorkflow:
    def __init__(self) -> None:
        self.news = False

    @workflow.run
    async def run(self, mailing: MailingInput) -> None:
        while True:
            self.news = False
            progress = await workflow.execute_activity_method(
                mailings.mail_due, MailingRound(mailing.mailing_id, workflow.now()),
                **MAIL_DELIVERY)
            if progress.more_due:
                continue
            if progress.next_at is None and not self.news:
                return  # all sent and surveyed; new rejections start the mailing again
            if progress.next_at is None:
                await workflow.wait_condition(lambda: self.news)
            else:
                wait = max(progress.next_at - workflow.now(), timedelta(0))
                try:
                    await workflow.wait_condition(lambda: self.news, timeout=wait)
                except TimeoutError:
                    pass
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(mailing)

    @workflow.signal
    def rejections_added(self) -> None:
        self.news = True
