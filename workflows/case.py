"""The case workflow: a low score is routed, assigned, called back, resolved, closed, re-surveyed.

Read `run` from top to bottom for the business process. Team actions arrive as updates (validated
before they touch history); emails go out in order through one queue, each exactly once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.cases import CaseActivities
    from activities.mail import MailActivities
    from kringloop.cases.messages import (
        CALLBACK_OUTCOMES,
        ActionRecord,
        AssignRequest,
        CallbackAttempt,
        CallbackRequest,
        CaseEmail,
        CaseInput,
        CasePlan,
        CaseState,
        Member,
        Note,
        Reassignment,
        Resolution,
        RespondentUpdate,
        ResurveyScore,
        TimelineRecord,
        case_id_for,
    )
    from workflows.case_erasure import CaseErasure
    from workflows.policies import DATABASE_STEP, MAIL_DELIVERY
    from workflows.policies import refusal as _refuse
    from workflows.relay import EmployeeRelay

cases = CaseActivities
mail = MailActivities


@workflow.defn
class CaseWorkflow(EmployeeRelay, CaseErasure):
    def __init__(self) -> None:
        self.case_id = ""
        self.plan: CasePlan | None = None
        self.assignee: Member | None = None
        self.due_at: datetime | None = None
        self.attempts = 0
        self.reached = False
        self.unreachable_mailed = False
        self.resolution: Resolution | None = None
        self.resurvey_score: int | None = None
        self.status = "open"
        self._counters: dict[str, int] = {}
        self._outgoing: list[CaseEmail] = []

    @workflow.run
    async def run(self, case: CaseInput) -> str:
        self.case_id = case_id_for(case.response_id)
        self._mailer = asyncio.create_task(self._deliver_mail())
        await workflow.execute_activity_method(cases.open_case, case, **DATABASE_STEP)
        self.plan = await workflow.execute_activity_method(
            cases.plan_case, self.case_id, **DATABASE_STEP)
        await self._assign(preferred=self.plan.adopter_email)
        callback = await workflow.execute_activity_method(cases.schedule_callback, CallbackRequest(
            case_id=self.case_id, team_id=self.plan.team_id, score=case.score,
            program=case.program, step="callback-scheduled"),
            **DATABASE_STEP)
        self.due_at = callback.due_at
        self._mail("assignment")
        self._mail_respondent("acknowledgement")

        await self._hold_callback_deadline()
        while self.resolution is None:
            await workflow.wait_condition(
                lambda: self.resolution is not None or self._owes_unreachable_mail())
            if self._owes_unreachable_mail():
                self.unreachable_mailed = True
                self._mail_respondent("unreachable")

        self._mail_respondent("closing")
        if self.plan.respondent_contactable and not self.erased:
            await self._resurvey()
        await self._record("closed", "closed", status="closed")
        await workflow.wait_condition(lambda: not self._outgoing)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._mailer.cancel()
        return self.status

    async def _hold_callback_deadline(self) -> None:
        """Remind before the due time, escalate to the lead at it, reassign after a grace period."""
        assert self.plan is not None and self.due_at is not None
        grace = timedelta(seconds=self.plan.escalation_grace_s)
        while not self._callback_made():
            cycle = self._count("deadline")
            reminder_at = self.due_at - timedelta(seconds=self.plan.reminder_before_s)
            if reminder_at > workflow.now() and not await self._callback_made_by(reminder_at):
                self._mail("reminder")
            if await self._callback_made_by(self.due_at):
                return
            await self._record(f"escalated-{cycle}", "escalated",
                               f"callback due {self.due_at:%Y-%m-%d %H:%M} UTC not yet made; "
                               f"{self.plan.lead.name} informed", status="escalated")
            self._mail("escalation")
            if await self._callback_made_by(self.due_at + grace):
                return
            self.due_at = workflow.now() + grace
            await self._assign(exclude=self.assignee.email if self.assignee else None,
                               reason="callback overdue after the grace period",
                               callback_due_at=self.due_at)
            self._mail("assignment", reassigned=True)

    async def _resurvey(self) -> None:
        assert self.plan is not None
        await workflow.sleep(timedelta(seconds=self.plan.resurvey_after_s))
        if self.erased:
            return  # erased while the re-survey waited: it is not sent
        self._mail_respondent("resurvey")
        if workflow.patched("record-awaiting-resurvey"):
            await self._record("resurvey-sent", "resurvey_sent", "one-click score email sent",
                               status="awaiting_resurvey")
        self.status = "awaiting_resurvey"
        try:
            await workflow.wait_condition(lambda: self.resurvey_score is not None,
                                          timeout=timedelta(seconds=self.plan.resurvey_wait_s))
        except TimeoutError:
            await self._record("resurvey-unanswered", "resurvey_unanswered", "no new score")
            return
        assert self.resurvey_score is not None
        await workflow.execute_activity_method(
            cases.record_resurvey, args=[self.case_id, self.resurvey_score], **DATABASE_STEP)

    # Team actions ---------------------------------------------------------------------------

    @workflow.update
    async def log_callback_attempt(self, attempt: CallbackAttempt) -> str:
        self.attempts += 1
        self.reached = self.reached or attempt.outcome == "reached"
        await self._act(ActionRecord(case_id=self.case_id, step=self._step("attempt"),
                                     kind="callback_attempt", actor=attempt.actor,
                                     outcome=attempt.outcome, text=attempt.note))
        return self.status

    @log_callback_attempt.validator
    def _validate_attempt(self, attempt: CallbackAttempt) -> None:
        self._require_active(resolved_is_closed=True)
        if attempt.outcome not in CALLBACK_OUTCOMES:
            raise _refuse(f"outcome must be one of {', '.join(CALLBACK_OUTCOMES)}",
                          field="outcome")

    @workflow.update
    async def add_note(self, note: Note) -> str:
        await self._act(ActionRecord(case_id=self.case_id, step=self._step("note"), kind="note",
                                     actor=note.actor, text=note.text))
        return self.status

    @add_note.validator
    def _validate_note(self, note: Note) -> None:
        self._require_active(resolved_is_closed=False)
        if not note.text.strip():
            raise _refuse("a note needs some text", field="text")

    @workflow.update
    async def reassign(self, change: Reassignment) -> str:
        await self._assign(preferred=change.member_email, actor=change.actor,
                           reason=f"by {change.actor}")
        self._mail("assignment", reassigned=True)
        return self.status

    @reassign.validator
    def _validate_reassign(self, change: Reassignment) -> None:
        self._require_active(resolved_is_closed=True)
        assert self.plan is not None
        if change.member_email not in self.plan.member_emails:
            raise _refuse(f"{change.member_email} is not a member of this case's team",
                          field="member")
        if self.assignee and change.member_email == self.assignee.email:
            raise _refuse("the case is already assigned to this member", field="member")

    @workflow.update
    async def resolve(self, resolution: Resolution) -> str:
        await self._act(ActionRecord(
            case_id=self.case_id, step="resolved", kind="resolution", actor=resolution.actor,
            root_cause=resolution.root_cause, action_taken=resolution.action_taken,
            text=resolution.message))
        await self._close_the_conversation(resolution)
        self.resolution = resolution
        self.status = "resolved"
        return self.status

    @resolve.validator
    def _validate_resolution(self, resolution: Resolution) -> None:
        self._require_active(resolved_is_closed=True)
        assert self.plan is not None
        if resolution.root_cause not in self.plan.root_causes:
            raise _refuse(f"unknown root cause {resolution.root_cause!r}; choose one of "
                          f"{', '.join(self.plan.root_causes)}", field="root_cause")
        for name in ("action_taken", "message"):
            if not getattr(resolution, name).strip():
                raise _refuse(f"{name.replace('_', ' ')} must not be empty", field=name)

    @workflow.signal
    def record_resurvey_score(self, answer: ResurveyScore) -> None:
        if self.resurvey_score is None and 0 <= answer.score <= 10:
            self.resurvey_score = answer.score

    @workflow.signal
    async def respondent_updated(self, update: RespondentUpdate) -> None:
        """The survey tool sent more of the answer: on the timeline, and the member working
        the case hears of it (the comment may change what they say on the phone)."""
        await workflow.wait_condition(lambda: self.plan is not None)  # the case row exists
        if self.status == "closed" or self.erased:
            return
        await workflow.execute_activity_method(cases.record_timeline, TimelineRecord(
            case_id=self.case_id, step=self._step("respondent-update"), actor="respondent",
            kind="respondent_update", detail=update.detail()), **DATABASE_STEP)
        if self.resolution is None:
            self._mail("respondent_update")

    @workflow.query
    def state(self) -> CaseState:
        return CaseState(status=self.status,
                         assignee_email=self.assignee.email if self.assignee else None,
                         attempts=self.attempts, callback_due_at=self.due_at,
                         outgoing_mail=len(self._outgoing))

    # Mechanics ------------------------------------------------------------------------------

    def _require_active(self, *, resolved_is_closed: bool) -> None:
        if self.plan is None:
            raise _refuse("the case is still being opened; try again in a moment", closed=True)
        if self.status == "closed" or (resolved_is_closed and self.resolution is not None):
            raise _refuse(f"the case is already {self.status}", closed=True)

    def _callback_made(self) -> bool:
        # Only a relay update raises relay_replies: histories without one replay unchanged.
        # Erased: there is no one left to call, so the callback duty (and escalation) ends.
        return (self.attempts > 0 or self.resolution is not None or self.relay_replies > 0
                or self.erased)

    async def _callback_made_by(self, moment: datetime) -> bool:
        try:
            await workflow.wait_condition(
                self._callback_made, timeout=max(moment - workflow.now(), timedelta(0)))
        except TimeoutError:
            return self._callback_made()
        return True

    def _owes_unreachable_mail(self) -> bool:
        assert self.plan is not None
        return (not self.reached and not self.unreachable_mailed
                and self.attempts >= self.plan.max_callback_attempts)

    def _count(self, kind: str) -> int:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return self._counters[kind]

    def _step(self, kind: str) -> str:
        return f"{kind}-{self._count(kind)}"

    async def _assign(self, *, preferred: str | None = None, exclude: str | None = None,
                      actor: str = "kringloop", reason: str = "assigned",
                      callback_due_at: datetime | None = None) -> None:
        assert self.plan is not None
        self.assignee = await workflow.execute_activity_method(cases.assign_member, AssignRequest(
            case_id=self.case_id, team_id=self.plan.team_id, step=self._step("assign"),
            actor=actor, preferred_email=preferred, exclude_email=exclude, reason=reason,
            callback_due_at=callback_due_at),
            **DATABASE_STEP)
        if self.status in ("open", "escalated"):
            self.status = "assigned"

    async def _act(self, action: ActionRecord) -> None:
        await workflow.execute_activity_method(cases.record_action, action, **DATABASE_STEP)

    async def _record(self, step: str, kind: str, detail: str = "",
                      status: str | None = None) -> None:
        await workflow.execute_activity_method(cases.record_timeline, TimelineRecord(
            case_id=self.case_id, step=step, actor="kringloop", kind=kind, detail=detail,
            status=status), **DATABASE_STEP)
        self.status = status or self.status

    def _mail(self, kind: str, *, reassigned: bool = False) -> None:
        key = f"{self.case_id}:{kind}:{self._count('mail-' + kind)}"
        self._outgoing.append(CaseEmail(case_id=self.case_id, kind=kind, key=key,
                                        reassigned=reassigned))

    def _mail_respondent(self, kind: str) -> None:
        assert self.plan is not None
        if self.plan.respondent_contactable and not self.erased:
            self._mail(kind)

    async def _deliver_mail(self) -> None:
        """Send queued emails one by one, in order; a refused email is recorded and skipped."""
        while True:
            await workflow.wait_condition(lambda: bool(self._outgoing))
            try:
                await workflow.execute_activity_method(
                    mail.send_case_email, self._outgoing[0], **MAIL_DELIVERY)
            except ActivityError:
                pass  # the activity put the refusal on the timeline; the case goes on
            self._outgoing.pop(0)
