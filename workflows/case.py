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
        RESPONDENT_KINDS,
        ActionRecord,
        AssignRequest,
        BookingRecord,
        CallbackAttempt,
        CallbackBooking,
        CallbackRequest,
        CaseEmail,
        CaseInput,
        CasePlan,
        CaseState,
        Member,
        Note,
        Pause,
        Reassignment,
        Resolution,
        RespondentAnswer,
        RespondentMail,
        RespondentMailRecord,
        RespondentUpdate,
        Resume,
        ResurveyScore,
        TimelineRecord,
        WorkingMoment,
        WorkingSpan,
        case_id_for,
    )
    from workflows.case_erasure import CaseErasure
    from workflows.policies import DATABASE_STEP, MAIL_DELIVERY, WORKING_TIME
    from workflows.policies import refusal as _refuse
    from workflows.relay import EmployeeRelay

# A re-survey score at or below this is still a detractor's: the case reopens once.
LOW_SCORE = 6

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
        self.reopened = False  # by a still-low re-survey (once)
        self._reopenings = 0  # by anything: tells apart the steps of each round
        self._closings = 0
        # Replies: each stored email taken once; after the close, a reply within the window
        # (30 days) reopens the case to the member who had it.
        self._mails_taken: set[int] = set()
        self._taking_replies_after_close = False
        self._replied_after_close = False
        self._counters: dict[str, int] = {}
        self._outgoing: list[CaseEmail] = []
        # The working-hours clock (cases opened before it count clock hours, as they did).
        self._working_clock = False
        self._case: CaseInput | None = None
        self._clock_stage = "member"  # then "escalated", "colleague", "lead"
        self._clock_changed = False  # paused, resumed or booked: the clock looks again
        self._colleague_due_at: datetime | None = None
        self.paused_at: datetime | None = None
        self._status_before_pause = "assigned"
        self._mail_waiting_for_working_hours: set[asyncio.Task[None]] = set()
        # A changed promise, told to the respondent at most once a day, in the daytime.
        self._promise_to_tell: datetime | None = None
        self._telling_promise: asyncio.Task[None] | None = None
        self._promise_told_at: datetime | None = None

    @workflow.run
    async def run(self, case: CaseInput) -> str:
        self.case_id = case_id_for(case.response_id)
        self._working_clock = workflow.patched("working-hours-clock")
        self._case = case
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
        replies_reopen = workflow.patched("replies-reopen-closed-cases")

        while True:
            await self._work_until_closed()
            await self._record("closed" if not self._closings else f"closed-{self._closings + 1}",
                               "closed", status="closed")
            self._closings += 1
            if not (replies_reopen and await self._replied_within_the_window()):
                break
            await self._reopen_for_the_reply()
        await workflow.wait_condition(
            lambda: not self._outgoing and not self._mail_waiting_for_working_hours)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._mailer.cancel()
        return self.status

    async def _work_until_closed(self) -> None:
        """Call back, resolve, close the loop with the respondent and re-survey them; a
        still-low re-survey reopens the case once, to the lead."""
        assert self.plan is not None
        while True:
            if self._working_clock:
                await self._keep_callback_promise()
            else:
                await self._hold_callback_deadline()
            while self.resolution is None:
                await workflow.wait_condition(
                    lambda: self.resolution is not None or self._owes_unreachable_mail())
                if self._owes_unreachable_mail():
                    self.unreachable_mailed = True
                    self._mail_respondent("unreachable")

            self._mail_respondent("closing")
            if not (self.plan.respondent_contactable and not self.erased):
                return
            still_low = await self._resurvey()
            if not (still_low and self._working_clock and not self.reopened):
                return
            await self._reopen_to_the_lead()

    async def _replied_within_the_window(self) -> bool:
        """The closed case listens for the respondent's reply for a while (30 days): True when
        one came. An anonymous employee writes through their conversation, never by email."""
        assert self.plan is not None
        if not self.plan.respondent_contactable or self.plan.anonymous or self.erased:
            return False
        self._taking_replies_after_close = True
        try:
            await workflow.wait_condition(lambda: self._replied_after_close or self.erased,
                                          timeout=timedelta(seconds=self.plan.reply_window_s))
        except TimeoutError:
            return False
        finally:
            self._taking_replies_after_close = False
        return self._replied_after_close and not self.erased

    async def _reopen_for_the_reply(self) -> None:
        """The respondent wrote back after the close: the case opens again, to the member who
        had it, with a new callback promise; they hear of the reply in their working hours."""
        assert self.plan is not None and self._case is not None
        self._replied_after_close = False
        self._reopenings += 1
        self.resolution, self.resurvey_score = None, None
        self.attempts, self.reached, self.unreachable_mailed = 0, False, False
        await self._record(f"reopened-by-reply-{self._reopenings}", "reopened",
                           "the respondent replied after the case was closed", status="open")
        await self._assign(preferred=self.assignee.email if self.assignee else None,
                           reason="reopened by the respondent's reply")
        callback = await workflow.execute_activity_method(cases.schedule_callback, CallbackRequest(
            case_id=self.case_id, team_id=self.plan.team_id, score=self._case.score,
            program=self._case.program, step=f"callback-after-reply-{self._reopenings}",
            since=workflow.now()), **DATABASE_STEP)
        self.due_at = callback.due_at
        self._clock_stage, self._colleague_due_at = "member", None
        self._mail("respondent_reply", reopened=True)

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

    async def _keep_callback_promise(self) -> None:
        """The callback promise, counted in the team's working time. The member is reminded
        before the due time and the lead told at it; after a grace period a colleague takes
        the case with a grace period of their own, and when that runs out too the lead owns
        the case, told once. The time promised to the respondent stays, so the case stays
        overdue until the call; waiting on the respondent stops the clock."""
        assert self.plan is not None
        reminded_for: datetime | None = None
        while not self._callback_made():
            self._clock_changed = False
            if self.paused_at is not None:
                await workflow.wait_condition(lambda: self._clock_changed or self._callback_made())
            elif self._clock_stage == "member":
                assert self.due_at is not None
                if reminded_for != self.due_at:
                    reminder_at = await self._working_moment(
                        self.due_at, -self.plan.reminder_before_hours)
                    if reminder_at > workflow.now():
                        if not await self._clock_reaches(reminder_at):
                            continue
                        self._mail("reminder")
                    reminded_for = self.due_at
                if await self._clock_reaches(self.due_at):
                    await self._escalate()
            elif self._clock_stage == "escalated":
                assert self.due_at is not None
                if await self._clock_reaches(await self._working_moment(
                        self.due_at, self.plan.escalation_grace_hours)):
                    await self._give_to_a_colleague()
            elif self._clock_stage == "colleague":
                assert self._colleague_due_at is not None
                if await self._clock_reaches(self._colleague_due_at):
                    await self._give_to_the_lead()
            else:  # the lead has it: nobody is chased any further
                await workflow.wait_condition(lambda: self._clock_changed or self._callback_made())

    async def _escalate(self) -> None:
        assert self.plan is not None and self.due_at is not None
        await self._record(self._step("escalated"), "escalated",
                           f"callback due {self.due_at:%Y-%m-%d %H:%M} UTC not yet made; "
                           f"{self.plan.lead.name} informed", status="escalated")
        self._mail("escalation")
        self._clock_stage = "escalated"

    async def _give_to_a_colleague(self) -> None:
        """A colleague gets the grace period in working time of their own; the due time promised
        to the respondent does not move."""
        assert self.plan is not None
        await self._assign(exclude=self.assignee.email if self.assignee else None,
                           reason="callback overdue after the grace period")
        self._mail("assignment", reassigned=True)
        self._colleague_due_at = await self._working_moment(
            workflow.now(), self.plan.escalation_grace_hours)
        self._clock_stage = "colleague"
        self._tell_respondent_of_new_promise(self._colleague_due_at)

    async def _give_to_the_lead(self) -> None:
        assert self.plan is not None
        self._clock_stage = "lead"
        if self.assignee is None or self.assignee.email != self.plan.lead.email:
            await self._assign(preferred=self.plan.lead.email,
                               reason="the colleague's grace period ran out too")
            self._mail("assignment", reassigned=True)
            self._tell_respondent_of_new_promise(await self._working_moment(
                workflow.now(), self.plan.escalation_grace_hours))

    async def _clock_reaches(self, moment: datetime) -> bool:
        """Wait for `moment`: True when it came with the callback still not made and the clock
        unchanged (not paused, resumed or booked meanwhile)."""
        try:
            await workflow.wait_condition(
                lambda: self._callback_made() or self._clock_changed,
                timeout=max(moment - workflow.now(), timedelta(0)))
        except TimeoutError:
            return not self._callback_made()
        return False

    async def _working_moment(self, start: datetime, hours: float = 0.0) -> datetime:
        assert self.plan is not None
        return await workflow.execute_local_activity_method(
            cases.working_moment, WorkingMoment(team_id=self.plan.team_id, start=start,
                                                hours=hours), **WORKING_TIME)

    async def _reopen_to_the_lead(self) -> None:
        """A re-survey score still low reopens the case once, to the lead, who decides who
        calls; a second low score is only recorded."""
        assert self.plan is not None and self._case is not None
        assert self.resurvey_score is not None
        self.reopened = True
        self._reopenings += 1
        self.resolution = None
        self.attempts, self.reached, self.unreachable_mailed = 0, False, False
        await self._record("reopened", "reopened",
                           f"re-survey score {self.resurvey_score} is still low", status="open")
        await self._assign(preferred=self.plan.lead.email, reason="reopened after a low re-survey")
        callback = await workflow.execute_activity_method(cases.schedule_callback, CallbackRequest(
            case_id=self.case_id, team_id=self.plan.team_id, score=self.resurvey_score,
            program=self._case.program, step="callback-rescheduled", since=workflow.now()),
            **DATABASE_STEP)
        self.due_at = callback.due_at
        self.resurvey_score = None
        self._clock_stage = "lead"
        self._mail("assignment", reassigned=True)

    async def _resurvey(self) -> bool:
        """Ask for a new score; True when it came and is still a detractor's."""
        assert self.plan is not None
        await workflow.sleep(timedelta(seconds=self.plan.resurvey_after_s))
        if self.erased:
            return False  # erased while the re-survey waited: it is not sent
        self._mail_respondent("resurvey")
        if workflow.patched("record-awaiting-resurvey"):
            await self._record(self._again("resurvey-sent"), "resurvey_sent",
                               "one-click score email sent", status="awaiting_resurvey")
        self.status = "awaiting_resurvey"
        try:
            await workflow.wait_condition(lambda: self.resurvey_score is not None,
                                          timeout=timedelta(seconds=self.plan.resurvey_wait_s))
        except TimeoutError:
            await self._record(self._again("resurvey-unanswered"), "resurvey_unanswered",
                               "no new score")
            return False
        assert self.resurvey_score is not None and self._case is not None
        arguments: list[object] = [self.case_id, self.resurvey_score]
        if self._reopenings:
            arguments.append(self._again("resurvey-score"))
        recovered = await workflow.execute_activity_method(
            cases.record_resurvey, args=arguments, **DATABASE_STEP)
        return (self._case.score is not None and not recovered
                and self.resurvey_score <= LOW_SCORE)

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
    async def answer_respondent(self, answer: RespondentAnswer) -> str:
        await self._note_on_timeline(self._step("answered"), answer.actor, "answered_by_email",
                                     "answered the respondent by email")
        self._mail_respondent("case_answer", message_id=answer.message_id)
        return self.status

    @answer_respondent.validator
    def _validate_answer(self, answer: RespondentAnswer) -> None:
        self._require_active(resolved_is_closed=False)
        assert self.plan is not None
        if self.plan.anonymous:
            raise _refuse("an anonymous employee is answered in their conversation", field="text")
        if not self.plan.respondent_contactable or self.erased:
            raise _refuse("the respondent cannot be emailed", field="text")

    @workflow.update
    async def reassign(self, change: Reassignment) -> str:
        await self._assign(preferred=change.member_email, actor=change.actor,
                           reason=f"by {change.actor}")
        self._mail("assignment", reassigned=True)
        if self._working_clock:
            self._tell_respondent_of_new_promise(self.due_at)  # the same time, another name
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
            case_id=self.case_id, step=self._again("resolved"), kind="resolution",
            actor=resolution.actor,
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

    @workflow.update
    async def wait_on_respondent(self, pause: Pause) -> str:
        """A member asked the respondent for information or an appointment: the clock stops."""
        self.paused_at = workflow.now()
        self._status_before_pause = self.status
        self._clock_changed = True
        await self._note_on_timeline(self._step("paused"), pause.actor, "paused", pause.reason,
                                     status="waiting")
        return self.status

    @wait_on_respondent.validator
    def _validate_pause(self, pause: Pause) -> None:
        self._require_clock()
        if self.paused_at is not None:
            raise _refuse("the case is already waiting on the respondent", field="reason")
        if not pause.reason.strip():
            raise _refuse("say what the respondent is asked for", field="reason")

    @workflow.update
    async def resume_clock(self, resume: Resume) -> str:
        await self._resume(resume.actor)
        return self.status

    @resume_clock.validator
    def _validate_resume(self, resume: Resume) -> None:
        self._require_clock()
        if self.paused_at is None:
            raise _refuse("the case is not waiting on the respondent", field="reason")

    @workflow.update
    async def book_callback(self, booking: CallbackBooking) -> str:
        """The respondent picked a time: it is the new promise, and both get an invitation."""
        await workflow.execute_activity_method(cases.record_booking, BookingRecord(
            case_id=self.case_id, step=self._step("booking"), at=booking.at), **DATABASE_STEP)
        self.due_at = booking.at
        self._clock_stage = "member"
        if self.paused_at is not None:
            await self._resume("respondent", moved=False)
        self._clock_changed = True
        self._mail_respondent("booking_confirmed")
        self._mail("callback_booked")
        return self.status

    @book_callback.validator
    def _validate_booking(self, booking: CallbackBooking) -> None:
        self._require_clock()
        if booking.at <= workflow.now():
            raise _refuse("that time has passed; pick another", field="at")

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
        await self._note_on_timeline(self._step("respondent-update"), "respondent",
                                     "respondent_update", update.detail())
        if self.resolution is None:
            self._mail("respondent_update")
        if self.paused_at is not None:  # the respondent answered: the wait is over
            await self._resume("respondent")

    @workflow.signal
    async def respondent_wrote(self, mail: RespondentMail) -> None:
        """An email from the respondent, stored with the case: on the timeline; a reply tells
        the member working the case (in working hours), ends a wait on the respondent, and
        reopens a case closed less than 30 days ago. An auto-reply tells no one; a bounce
        tells the member that the address no longer takes email."""
        await workflow.wait_condition(lambda: self.plan is not None)  # the case row exists
        if mail.message_id in self._mails_taken or self.erased:
            return  # delivered twice: taken once
        self._mails_taken.add(mail.message_id)
        await workflow.execute_activity_method(cases.record_respondent_mail, RespondentMailRecord(
            case_id=self.case_id, step=self._step(f"mail-{mail.kind}"),
            message_id=mail.message_id, kind=mail.kind), **DATABASE_STEP)
        if mail.kind == "bounce":
            if self.status != "closed":
                self._mail("mail_bounced")
        elif mail.kind == "reply":
            if self.status == "closed":
                self._replied_after_close = self._taking_replies_after_close
            else:
                self._mail("respondent_reply")
                if self.paused_at is not None:  # the respondent answered: the wait is over
                    await self._resume("respondent")

    @workflow.query
    def state(self) -> CaseState:
        return CaseState(status=self.status,
                         assignee_email=self.assignee.email if self.assignee else None,
                         attempts=self.attempts, callback_due_at=self.due_at,
                         # Waiting for the team's working hours is still to be sent.
                         outgoing_mail=len(self._outgoing)
                         + len(self._mail_waiting_for_working_hours))

    # Mechanics ------------------------------------------------------------------------------

    def _require_active(self, *, resolved_is_closed: bool) -> None:
        if self.plan is None:
            raise _refuse("the case is still being opened; try again in a moment", closed=True)
        if self.status == "closed" or (resolved_is_closed and self.resolution is not None):
            raise _refuse(f"the case is already {self.status}", closed=True)

    def _require_clock(self) -> None:
        self._require_active(resolved_is_closed=True)
        if not self._working_clock:
            raise _refuse("this case was opened before its clock could stop or move; "
                          "note it instead", field="reason")

    async def _resume(self, actor: str, *, moved: bool = True) -> None:
        """The clock runs again; the due times move by the working time spent waiting (unless
        the case was overdue already: a pause never hides a missed promise)."""
        assert self.plan is not None and self.paused_at is not None and self.due_at is not None
        waited = await workflow.execute_local_activity_method(
            cases.working_hours_between, WorkingSpan(team_id=self.plan.team_id,
                                                     start=self.paused_at, end=workflow.now()),
            **WORKING_TIME)
        if moved and self.due_at > self.paused_at:
            self.due_at = await self._working_moment(self.due_at, waited)
            if self._colleague_due_at is not None:
                self._colleague_due_at = await self._working_moment(self._colleague_due_at,
                                                                    waited)
        self.paused_at = None
        self._clock_changed = True
        await self._note_on_timeline(
            self._step("resumed"), actor, "resumed", f"after {waited:.1f} working hours",
            status=self._status_before_pause, callback_due_at=self.due_at)

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

    def _again(self, step: str) -> str:
        """A once-per-case step's key, told apart each time round (a reopened case)."""
        if not self._reopenings:
            return step
        return f"{step}-again" if self._reopenings == 1 else f"{step}-again-{self._reopenings}"

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
        await self._note_on_timeline(step, "kringloop", kind, detail, status=status)

    async def _note_on_timeline(self, step: str, actor: str, kind: str, detail: str = "", *,
                                status: str | None = None,
                                callback_due_at: datetime | None = None) -> None:
        await workflow.execute_activity_method(cases.record_timeline, TimelineRecord(
            case_id=self.case_id, step=step, actor=actor, kind=kind, detail=detail,
            status=status, callback_due_at=callback_due_at), **DATABASE_STEP)
        self.status = status or self.status

    def _tell_respondent_of_new_promise(self, promised_at: datetime | None) -> None:
        """Someone else calls, or later: the respondent hears it from that person, in one short
        note at most once a day and only in the daytime; a later change in the same day is told
        in that note. Nothing is told once the callback is made."""
        self._promise_to_tell = promised_at
        if self._telling_promise is None or self._telling_promise.done():
            self._telling_promise = asyncio.create_task(self._tell_promise_when_fit())

    async def _tell_promise_when_fit(self) -> None:
        if self._promise_told_at is not None:
            await workflow.sleep(max(self._promise_told_at + timedelta(days=1) - workflow.now(),
                                     timedelta(0)))
        daytime = await self._working_moment(workflow.now())  # the team's hours: never at night
        if daytime > workflow.now():
            await workflow.sleep(daytime - workflow.now())
        if self._callback_made():
            return
        self._promise_told_at = workflow.now()
        self._mail_respondent("promise_changed", promised_at=self._promise_to_tell)

    def _mail(self, kind: str, *, reassigned: bool = False, reopened: bool = False,
              promised_at: datetime | None = None, message_id: int | None = None) -> None:
        key = f"{self.case_id}:{kind}:{self._count('mail-' + kind)}"
        email = CaseEmail(case_id=self.case_id, kind=kind, key=key, reassigned=reassigned,
                          promised_at=promised_at, reopened=reopened, message_id=message_id)
        if self._working_clock and kind not in RESPONDENT_KINDS:
            waiting = asyncio.create_task(self._mail_in_working_hours(email))
            self._mail_waiting_for_working_hours.add(waiting)
            waiting.add_done_callback(self._mail_waiting_for_working_hours.discard)
        else:
            self._outgoing.append(email)

    async def _mail_in_working_hours(self, email: CaseEmail) -> None:
        """Nothing goes to a team member outside their team's working hours: what falls due
        at night or at the weekend goes at the next opening."""
        opening = await self._working_moment(workflow.now())
        if opening > workflow.now():
            await workflow.sleep(opening - workflow.now())
        self._outgoing.append(email)

    def _mail_respondent(self, kind: str, *, promised_at: datetime | None = None,
                         message_id: int | None = None) -> None:
        assert self.plan is not None
        if self.plan.respondent_contactable and not self.erased:
            self._mail(kind, promised_at=promised_at, message_id=message_id)

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
