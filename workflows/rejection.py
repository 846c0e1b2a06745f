"""The rejection workflow: a considerate "no", sent once, at a humane moment, then a survey.

Read `run` from top to bottom: plan the moment (after the hold, inside working hours, or the
recruiter's own `send_at`) → wait for it, unless the recruiter cancels first → send the email
with its concrete reasons and the feedback-call link → some days later, the candidate-NPS
survey (skipped when the applicant already asked for a feedback call: that case asks for a
score after the conversation). One workflow per applicant and vacancy; its id is the rejection's.

New rejections go out through their vacancy's mailing (`workflows/rejection_mailing.py`); this
workflow stays registered for the rejections made before, still on hold or awaiting a survey.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.rejections import RejectionActivities
    from kringloop.privacy.messages import ERASED_ON_REQUEST, Erasure
    from kringloop.rejections.messages import (
        Cancellation,
        RejectionEmail,
        RejectionInput,
        RejectionState,
        RejectionStep,
    )
    from workflows.policies import DATABASE_STEP, MAIL_DELIVERY

rejections = RejectionActivities

# Why a cancellation comes too late, by where the rejection is.
_NOT_CANCELLABLE = {
    "sending": "the email is being sent right now and can no longer be cancelled",
    "sent": "the email has already been sent, so it can no longer be cancelled",
    "failed": "the email could not be delivered; there is nothing left to cancel",
    "cancelled": "the rejection is already cancelled",
}


@workflow.defn
class RejectionWorkflow:
    def __init__(self) -> None:
        self.rejection_id = ""
        self.round = 1
        self.send_at: datetime | None = None
        self.status = "scheduled"
        self.cancellation: Cancellation | None = None
        self.feedback_call = False
        self.erased = False  # only the erasure update sets it: old histories replay unchanged

    @workflow.run
    async def run(self, rejection: RejectionInput) -> str:
        self.rejection_id = rejection.rejection_id
        plan = await workflow.execute_activity_method(
            rejections.schedule_rejection, self.rejection_id, **DATABASE_STEP)
        self.send_at, self.round = plan.send_at, plan.round

        if await self._happened_by(self.send_at, lambda: self.cancellation is not None):
            return await self._done()  # the cancel update recorded it: no email, ever
        self.status = "sending"
        if not await self._send("rejection"):
            self.status = "failed"
            return await self._done()
        self.status = "sent"

        survey_at = await workflow.execute_activity_method(
            rejections.schedule_survey, self.rejection_id, **DATABASE_STEP)
        if await self._happened_by(survey_at, lambda: self.feedback_call or self.erased):
            await self._record("survey-skipped", "survey_skipped",
                               "the applicant's personal data was erased" if self.erased else
                               "the applicant asked for a feedback call; that case asks for a "
                               "score after the conversation")
        else:
            await self._send("cnps")
        return await self._done()

    # The recruiter and the applicant ---------------------------------------------------------

    @workflow.update
    async def cancel(self, cancellation: Cancellation) -> str:
        self.cancellation = cancellation
        self.status = "cancelled"
        await self._record("cancelled", "cancelled", "before sending: no email will go out",
                           actor=cancellation.actor, status="cancelled")
        return self.status

    @cancel.validator
    def _validate_cancel(self, cancellation: Cancellation) -> None:
        if self.status != "scheduled":
            raise ApplicationError(_NOT_CANCELLABLE[self.status], {"status": self.status},
                                   type="NotCancellable", non_retryable=True)

    @workflow.update
    async def erase_personal_data(self, erasure: Erasure) -> str:
        """The applicant asked to be forgotten: a rejection still on hold is never sent, and
        neither is the survey (their address is gone from the database already)."""
        if not self.erased:
            self.erased = True
            if self.status == "scheduled":
                self.cancellation = Cancellation(actor=erasure.actor)
                self.status = "cancelled"
                await self._record("cancelled", "cancelled", "personal data erased before "
                                   "sending: no email will go out", actor=erasure.actor,
                                   status="cancelled")
            await self._record("erased", "erased", ERASED_ON_REQUEST, actor=erasure.actor)
        return self.status

    @workflow.signal
    def feedback_call_requested(self) -> None:
        self.feedback_call = True

    @workflow.query
    def state(self) -> RejectionState:
        return RejectionState(status=self.status, send_at=self.send_at,
                              feedback_call_requested=self.feedback_call)

    # Mechanics ---------------------------------------------------------------------------------

    async def _happened_by(self, moment: datetime, happened: Callable[[], bool]) -> bool:
        """Wait until `moment` or until `happened()` holds, whichever comes first."""
        try:
            await workflow.wait_condition(
                happened, timeout=max(moment - workflow.now(), timedelta(0)))
        except TimeoutError:
            return bool(happened())
        return True

    async def _send(self, kind: str) -> bool:
        key = f"{self.rejection_id}:{kind}:{self.round}"
        try:
            receipt = await workflow.execute_activity_method(
                rejections.send_rejection_email,
                RejectionEmail(rejection_id=self.rejection_id, kind=kind, key=key),
                **MAIL_DELIVERY)
        except ActivityError:
            return False  # the activity put the refusal on the timeline
        return receipt.sent

    async def _record(self, step: str, kind: str, detail: str, *, actor: str = "kringloop",
                      status: str | None = None) -> None:
        await workflow.execute_activity_method(rejections.record_step, RejectionStep(
            rejection_id=self.rejection_id, key=f"{step}-{self.round}", kind=kind, actor=actor,
            detail=detail, status=status), **DATABASE_STEP)

    async def _done(self) -> str:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status
