"""Activities that open, route, assign, schedule and record cases in the database."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from kringloop.cases import queries as case_queries
from kringloop.cases.adoptions import adopter_of
from kringloop.cases.messages import (
    ActionRecord,
    AssignRequest,
    CallbackPlan,
    CallbackRequest,
    CaseInput,
    CasePlan,
    Member,
    TimelineRecord,
    case_id_for,
)
from kringloop.cases.models import Case, CaseOrigin, FeedbackCallRequest, TimelineEntry
from kringloop.database import change_once, session_for
from kringloop.org.business_hours import add_business_hours
from kringloop.org.organisation import Organisation
from kringloop.org.routing import choose_member, team_for
from kringloop.responses.models import category_of

HOUR = 3600.0
DAY = 24 * HOUR

log = logging.getLogger("kringloop.cases")


def _now() -> datetime:
    """When the step happened: the server's clock (simulated time in tests), not the worker's."""
    return activity.info().scheduled_time


def _entry(case_id: str, step: str, actor: str, kind: str, detail: str = "") -> TimelineEntry:
    return TimelineEntry(case_id=case_id, key=step, at=_now(), actor=actor, kind=kind,
                         detail=detail)


def _opened_because(case: CaseInput, origin: CaseOrigin) -> str:
    if isinstance(origin, FeedbackCallRequest):
        return (f"feedback call requested by the applicant after the rejection for "
                f"{origin.vacancy_title} ({case.program})")
    assert case.score is not None
    return f"{category_of(case.score)} score {case.score} ({case.program})"


class CaseActivities:
    """Case bookkeeping; one instance per worker, sharing the engine and the organisation."""

    def __init__(self, *, engine: Engine, org: Organisation, time_scale: float = 1.0) -> None:
        self.engine = engine
        self.org = org
        self.time_scale = time_scale

    def _load(self, case_id: str) -> tuple[Case, CaseOrigin]:
        with session_for(self.engine) as session:
            found = case_queries.case_with_response(session=session, case_id=case_id)
        if found is None:
            raise ApplicationError(f"no case {case_id}", type="UnknownCase", non_retryable=True)
        return found

    def _apply(self, case_id: str, entry: TimelineEntry, change=lambda case: None) -> bool:  # type: ignore[no-untyped-def]
        with session_for(self.engine) as session:
            return change_once(session=session, model=Case, key=case_id, step=entry,
                               change=change)

    @activity.defn
    async def open_case(self, case: CaseInput) -> None:
        case_id = case_id_for(case.response_id)
        with session_for(self.engine) as session:
            if session.get(Case, case_id) is not None:
                return
            origin = case_queries.origin_of(session=session, response_id=case.response_id)
            if origin is None:
                raise ApplicationError(f"no response {case.response_id}",
                                       type="UnknownResponse", non_retryable=True)
            session.add(Case(id=case_id, response_id=case.response_id, program=case.program,
                             score=case.score, opened_at=_now()))
            session.add(_entry(case_id, "opened", "kringloop", "opened",
                               _opened_because(case, origin)))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                if session.get(Case, case_id) is None:
                    raise  # not a concurrent opening of the same case: retry
                return
        log.info("case opened", extra={"case_id": case_id, "program": case.program,
                                       "score": case.score})

    @activity.defn
    async def plan_case(self, case_id: str) -> CasePlan:
        """Route the case to a team and snapshot the program's policy for it."""
        case, response = self._load(case_id)
        adopter, reason = self._colleague_for(case, response)
        team = team_for(self.org, program=case.program, segment=response.segment,
                        language=response.language, adopter_email=adopter)
        policy = self.org.programs[case.program]  # type: ignore[index]

        def route(row: Case) -> None:
            row.team_id = team.id

        self._apply(case_id, _entry(case_id, "routed", "kringloop", "routed",
                                    f"to {team.name} ({reason})"), route)
        scale = self.time_scale
        return CasePlan(
            team_id=team.id,
            time_zone=team.time_zone,
            lead=Member(name=team.lead.name, email=team.lead.email, language=team.lead.language),
            member_emails=[m.email for m in team.members],
            root_causes=list(policy.root_causes),
            max_callback_attempts=policy.max_callback_attempts,
            reminder_before_s=policy.reminder_before_hours * HOUR / scale,
            escalation_grace_s=policy.escalation_grace_hours * HOUR / scale,
            resurvey_after_s=policy.resurvey_after_days * DAY / scale,
            resurvey_wait_s=policy.resurvey_wait_days * DAY / scale,
            respondent_contactable=bool(response.email)
            and response.meta.get("contact_consent") is not False,
            adopter_email=adopter,
            anonymous=case_queries.has_conversation(case, response),
        )

    def _colleague_for(self, case: Case, origin: CaseOrigin) -> tuple[str | None, str]:
        """Who should have the case, and why: the recruiter who wrote the rejection (for a
        feedback call), the colleague who adopted the customer, or else the routing rules."""
        signer = (self.org.member_or_none(origin.recruiter_email)
                  if isinstance(origin, FeedbackCallRequest) else None)
        if signer is not None:
            return signer.email, f"{signer.name} wrote the rejection"
        if case.program != "customer":
            return None, "routing rules"
        with session_for(self.engine) as session:
            adopter = adopter_of(session=session, org=self.org, respondent_id=origin.respondent_id)
        if adopter:
            return adopter, f"adopted by {self.org.member(adopter).name}"
        return None, "routing rules"

    @activity.defn
    async def assign_member(self, request: AssignRequest) -> Member:
        team = self.org.team(request.team_id)
        with session_for(self.engine) as session:
            emails = [m.email for m in team.members]
            if request.preferred_email:
                chosen = self.org.member(request.preferred_email)
            else:
                chosen = choose_member(
                    team,
                    open_cases=case_queries.open_case_counts(session=session, emails=emails),
                    last_assigned=case_queries.last_assignments(session=session, emails=emails),
                    exclude=request.exclude_email,
                )
            previous = session.get(Case, request.case_id)
            before = previous.assignee_name if previous else None
        detail = f"to {chosen.name}" + (f" (was {before})" if before else "")
        detail += "" if request.reason == "assigned" else f": {request.reason}"

        def assign(row: Case) -> None:
            row.assignee_email = chosen.email
            row.assignee_name = chosen.name
            row.assigned_at = _now()
            if request.callback_due_at is not None:
                row.callback_due_at = request.callback_due_at
            row.status = "assigned" if row.status in ("open", "escalated") else row.status

        kind = "assigned" if before is None else "reassigned"
        if not self._apply(request.case_id,
                           _entry(request.case_id, request.step, request.actor, kind, detail),
                           assign):
            current, _ = self._load(request.case_id)
            chosen_email = current.assignee_email or chosen.email
            chosen = self.org.member(chosen_email)
        return Member(name=chosen.name, email=chosen.email, language=chosen.language)

    @activity.defn
    async def schedule_callback(self, request: CallbackRequest) -> CallbackPlan:
        """Callback due inside the SLA band from when the case opened, in the team's working time.

        TIME_SCALE shrinks the wait (for demos): the real deadline's distance is divided by it.
        """
        team = self.org.team(request.team_id)
        policy = self.org.programs[request.program]  # type: ignore[index]
        hours = (policy.feedback_call_business_hours if request.score is None
                 else policy.sla_hours_for(request.score))
        opened_at = self._load(request.case_id)[0].opened_at
        real_due = add_business_hours(team, opened_at, hours)
        due = opened_at + (real_due - opened_at) / self.time_scale

        def schedule(row: Case) -> None:
            row.callback_due_at = due

        if not self._apply(request.case_id, _entry(
                request.case_id, request.step, "kringloop", "callback_scheduled",
                f"due within {hours:g} business hours"), schedule):
            current, _ = self._load(request.case_id)
            due = current.callback_due_at or due
        return CallbackPlan(due_at=due)

    @activity.defn
    async def record_timeline(self, record: TimelineRecord) -> None:
        def set_status(row: Case) -> None:
            if record.status:
                row.status = record.status
                if record.status == "escalated":
                    row.escalations += 1
                if record.status == "closed":
                    row.closed_at = _now()

        self._apply(record.case_id, _entry(record.case_id, record.step, record.actor,
                                           record.kind, record.detail), set_status)

    @activity.defn
    async def record_action(self, action: ActionRecord) -> None:
        """Store an action the workflow has validated: an attempt, a note, a resolution, or a
        message relayed to or from an anonymous employee (a reply to them is a first contact)."""
        now = _now()

        def apply(row: Case) -> None:
            if action.kind == "callback_attempt":
                row.attempts += 1
                row.first_attempt_at = row.first_attempt_at or now
                if action.outcome == "reached":
                    row.reached_at = row.reached_at or now
            elif action.kind == "relay_reply":
                row.first_attempt_at = row.first_attempt_at or now
                row.reached_at = row.reached_at or now
            elif action.kind == "resolution":
                row.status = "resolved"
                row.root_cause = action.root_cause
                row.action_taken = action.action_taken
                row.resolution_message = action.text
                row.resolved_at = now

        if action.kind == "callback_attempt":
            detail = action.outcome + (f": {action.text}" if action.text else "")
        elif action.kind == "resolution":
            detail = f"{action.root_cause}: {action.action_taken}"
        else:
            detail = action.text
        self._apply(action.case_id, _entry(action.case_id, action.step, action.actor,
                                           action.kind, detail or ""), apply)

    @activity.defn
    async def record_resurvey(self, case_id: str, score: int) -> bool:
        """Link the re-survey score to the case; True when a detractor has recovered."""
        recovered = score >= 7
        case, _ = self._load(case_id)
        # A feedback call had no score before: there is nothing to recover from.
        scored = case.score is not None

        def apply(row: Case) -> None:
            row.resurvey_score = score
            row.recovered = (recovered and row.score <= 6) if row.score is not None else None

        outcome = ("recovered" if recovered else "not recovered") if scored else "first score"
        self._apply(case_id, _entry(case_id, "resurvey-score", "respondent", "resurvey_answered",
                                    f"new score {score}: {outcome}"), apply)
        return recovered and scored

