"""A case's steps in the database: open, route, assign, schedule the callback, record it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from kringloop.cases import queries as case_queries
from kringloop.cases.absences import absences_in
from kringloop.cases.adoptions import adopter_of
from kringloop.cases.messages import (
    ActionRecord,
    AssignRequest,
    CallbackPlan,
    CallbackRequest,
    CaseInput,
    CasePlan,
    Member,
    RespondentMailRecord,
    TimelineRecord,
    WorkingMoment,
    WorkingSpan,
    case_id_for,
)
from kringloop.cases.models import (
    Case,
    CaseMessage,
    CaseOrigin,
    FeedbackCallRequest,
    TimelineEntry,
)
from kringloop.database import change_once, session_for
from kringloop.mail.suppression import BOUNCED, suppress
from kringloop.org import organisation
from kringloop.org.business_hours import (
    add_business_hours,
    business_hours_between,
    subtract_business_hours,
)
from kringloop.org.organisation import Organisation
from kringloop.org.routing import choose_member, team_for
from kringloop.responses.models import category_of

HOUR = 3600.0
DAY = 24 * HOUR
# A reply to a case closed less than this long ago reopens it.
REPLY_WINDOW_DAYS = 30

log = logging.getLogger("kringloop.cases")


class UnknownCase(LookupError):
    """No case by this id: asking again will not make one."""


class UnknownResponse(LookupError):
    """No response (or feedback-call request) by this id: asking again will not make one."""


def entry(case_id: str, step: str, actor: str, kind: str, detail: str = "", *, at: datetime
          ) -> TimelineEntry:
    return TimelineEntry(case_id=case_id, key=step, at=at, actor=actor, kind=kind, detail=detail)


def load_case(*, engine: Engine, case_id: str) -> tuple[Case, CaseOrigin]:
    """The case and what opened it, detached from the session."""
    with session_for(engine) as session:
        return case_in(session, case_id)


def case_in(session: Session, case_id: str) -> tuple[Case, CaseOrigin]:
    """The case and what opened it, in `session`: a step reads and changes it in one go."""
    found = case_queries.case_with_response(session=session, case_id=case_id)
    if found is None:
        raise UnknownCase(f"no case {case_id}")
    return found


def _apply(engine: Engine, case_id: str, step: TimelineEntry,
           change: Callable[[Case], None] = lambda case: None) -> bool:
    with session_for(engine) as session:
        return change_once(session=session, model=Case, key=case_id, step=step, change=change)


def opened_because(case: CaseInput, origin: CaseOrigin) -> str:
    if isinstance(origin, FeedbackCallRequest):
        return (f"feedback call requested by the applicant after the rejection for "
                f"{origin.vacancy_title} ({case.program})")
    assert case.score is not None
    return f"{category_of(case.score)} score {case.score} ({case.program})"


def open_case(*, engine: Engine, case: CaseInput, now: datetime) -> None:
    """The case row and its "opened" step, once: a second opening of the same case does nothing."""
    case_id = case_id_for(case.response_id)
    with session_for(engine) as session:
        if session.get(Case, case_id) is not None:
            return
        origin = case_queries.origin_of(session=session, response_id=case.response_id)
        if origin is None:
            raise UnknownResponse(f"no response {case.response_id}")
        session.add(Case(id=case_id, response_id=case.response_id, program=case.program,
                         score=case.score, opened_at=now))
        session.add(entry(case_id, "opened", "kringloop", "opened",
                          opened_because(case, origin), at=now))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            if session.get(Case, case_id) is None:
                raise  # not a concurrent opening of the same case: retry
            return
    log.info("case opened", extra={"case_id": case_id, "program": case.program,
                                   "score": case.score})


def colleague_for(*, session: Session, org: Organisation, case: Case, origin: CaseOrigin
                  ) -> tuple[str | None, str]:
    """Who should have the case, and why: the recruiter who wrote the rejection (for a
    feedback call), the colleague who adopted the customer, or else the routing rules."""
    signer = (org.member_or_none(origin.recruiter_email)
              if isinstance(origin, FeedbackCallRequest) else None)
    if signer is not None:
        return signer.email, f"{signer.name} wrote the rejection"
    if case.program != "customer":
        return None, "routing rules"
    adopter = adopter_of(session=session, org=org, respondent_id=origin.respondent_id)
    if adopter:
        return adopter, f"adopted by {org.member(adopter).name}"
    return None, "routing rules"


def plan_case(*, engine: Engine, org: Organisation, case_id: str, now: datetime,
              time_scale: float = 1.0) -> CasePlan:
    """Route the case to a team and snapshot the program's policy for it."""
    with session_for(engine) as session:
        case, response = case_in(session, case_id)
        adopter, reason = colleague_for(session=session, org=org, case=case, origin=response)
        team = team_for(org, program=case.program, segment=response.segment,
                        language=response.language, adopter_email=adopter)

        def route(row: Case) -> None:
            row.team_id = team.id

        if not change_once(session=session, model=Case, key=case_id, step=entry(
                case_id, "routed", "kringloop", "routed", f"to {team.name} ({reason})", at=now),
                change=route):
            # A retry after the routing was stored (the worker stopped before it reported):
            # the team chosen then. The rollback expired the rows: read them again here.
            case, response = case_in(session, case_id)
            team = next((t for t in org.teams if t.id == case.team_id), team)
        return _plan(org, case, response, team, adopter=adopter, time_scale=time_scale)


def _plan(org: Organisation, case: Case, response: CaseOrigin,
          team: organisation.LoyaltyTeam, *, adopter: str | None, time_scale: float
          ) -> CasePlan:
    """What the case workflow keeps of its team and its program's policy."""
    policy = org.programs[case.program]  # type: ignore[index]
    return CasePlan(
        team_id=team.id,
        time_zone=team.time_zone,
        lead=Member(name=team.lead.name, email=team.lead.email, language=team.lead.language),
        member_emails=[m.email for m in team.members],
        root_causes=list(policy.root_causes),
        max_callback_attempts=policy.max_callback_attempts,
        reminder_before_s=policy.reminder_before_hours * HOUR / time_scale,
        escalation_grace_s=policy.escalation_grace_hours * HOUR / time_scale,
        resurvey_after_s=policy.resurvey_after_days * DAY / time_scale,
        resurvey_wait_s=policy.resurvey_wait_days * DAY / time_scale,
        reply_window_s=REPLY_WINDOW_DAYS * DAY / time_scale,
        respondent_contactable=bool(response.email)
        and response.meta.get("contact_consent") is not False,
        adopter_email=adopter,
        anonymous=case_queries.has_conversation(case, response),
        reminder_before_hours=policy.reminder_before_hours,
        escalation_grace_hours=policy.escalation_grace_hours,
    )


def choose_assignee(*, session: Session, org: Organisation, request: AssignRequest,
                    now: datetime) -> organisation.Member:
    """The colleague asked for (the adopter, a reassignment to someone), or else the team's
    least-loaded member under capacity and not absent today, never the one the case is taken
    from."""
    team = org.team(request.team_id)
    if request.preferred_email:
        return org.member(request.preferred_email)
    emails = [m.email for m in team.members]
    return choose_member(
        team,
        open_cases=case_queries.open_case_counts(session=session, emails=emails),
        last_assigned=case_queries.last_assignments(session=session, emails=emails),
        exclude=request.exclude_email,
        absent=absences_in(session=session, team=team, now=now),
    )


def assign_member(*, engine: Engine, org: Organisation, request: AssignRequest, now: datetime
                  ) -> Member:
    """Give the case to a colleague; a repeated step gives back whom it chose the first time."""
    with session_for(engine) as session:
        chosen = choose_assignee(session=session, org=org, request=request, now=now)
        previous = session.get(Case, request.case_id)
        before = previous.assignee_name if previous else None
        detail = f"to {chosen.name}" + (f" (was {before})" if before else "")
        detail += "" if request.reason == "assigned" else f": {request.reason}"

        def assign(row: Case) -> None:
            row.assignee_email = chosen.email
            row.assignee_name = chosen.name
            row.assigned_at = now
            if request.callback_due_at is not None:
                row.callback_due_at = request.callback_due_at
            row.status = "assigned" if row.status in ("open", "escalated") else row.status

        kind = "assigned" if before is None else "reassigned"
        if not change_once(session=session, model=Case, key=request.case_id, step=entry(
                request.case_id, request.step, request.actor, kind, detail, at=now),
                change=assign):
            current, _ = case_in(session, request.case_id)
            chosen = org.member(current.assignee_email or chosen.email)
    return Member(name=chosen.name, email=chosen.email, language=chosen.language)


def callback_due(*, org: Organisation, request: CallbackRequest, opened_at: datetime,
                 time_scale: float = 1.0) -> tuple[datetime, float]:
    """When the callback is due, and within how many business hours: inside the SLA band from
    when the case opened, in the team's working time.

    TIME_SCALE shrinks the wait (for demos): the real deadline's distance is divided by it.
    """
    team = org.team(request.team_id)
    policy = org.programs[request.program]  # type: ignore[index]
    hours = (policy.feedback_call_business_hours if request.score is None
             else policy.sla_hours_for(request.score))
    real_due = add_business_hours(team, opened_at, hours)
    return opened_at + (real_due - opened_at) / time_scale, hours


def schedule_callback(*, engine: Engine, org: Organisation, request: CallbackRequest,
                      now: datetime, time_scale: float = 1.0) -> CallbackPlan:
    """Callback due inside the SLA band from when the case opened (see `callback_due`)."""
    with session_for(engine) as session:
        since = request.since or case_in(session, request.case_id)[0].opened_at
        due, hours = callback_due(org=org, request=request, opened_at=since,
                                  time_scale=time_scale)

        def schedule(row: Case) -> None:
            row.callback_due_at = due

        if not change_once(session=session, model=Case, key=request.case_id, step=entry(
                request.case_id, request.step, "kringloop", "callback_scheduled",
                f"due within {hours:g} business hours", at=now), change=schedule):
            current, _ = case_in(session, request.case_id)
            due = current.callback_due_at or due
    return CallbackPlan(due_at=due)


def working_moment(*, org: Organisation, request: WorkingMoment, time_scale: float = 1.0
                   ) -> datetime:
    """`request.hours` of the team's working time from `request.start` (see WorkingMoment).

    TIME_SCALE shrinks the wait (for demos): the real distance is divided by it."""
    team = org.team(request.team_id)
    start = request.start
    if request.hours < 0:
        real = subtract_business_hours(team, start, -request.hours)
    else:
        real = add_business_hours(team, start, request.hours)
    return start + (real - start) / time_scale


def working_hours_between(*, org: Organisation, span: WorkingSpan, time_scale: float = 1.0
                          ) -> float:
    """The team's working hours in the span (scaled as `working_moment` scales them)."""
    real_end = span.start + (span.end - span.start) * time_scale
    return business_hours_between(org.team(span.team_id), span.start, real_end)


def record_timeline(*, engine: Engine, record: TimelineRecord, now: datetime) -> None:
    def set_status(row: Case) -> None:
        if record.callback_due_at is not None:
            row.callback_due_at = record.callback_due_at
        if record.status:
            row.status = record.status
            if record.status == "escalated":
                row.escalations += 1
            if record.status == "closed":
                row.closed_at = now
        if record.kind == "reopened":  # a new round: its own attempts, reach and resolution
            row.attempts, row.first_attempt_at, row.reached_at = 0, None, None
            row.resolved_at = None

    _apply(engine, record.case_id, entry(record.case_id, record.step, record.actor,
                                         record.kind, record.detail, at=now), set_status)


def action_detail(action: ActionRecord) -> str:
    """What the timeline says about an action."""
    if action.kind == "callback_attempt":
        return action.outcome + (f": {action.text}" if action.text else "")
    if action.kind == "resolution":
        return f"{action.root_cause}: {action.action_taken}"
    return action.text or ""


def record_action(*, engine: Engine, action: ActionRecord, now: datetime) -> None:
    """Store an action the workflow has validated: an attempt, a note, a resolution, or a
    message relayed to or from an anonymous employee (a reply to them is a first contact)."""

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

    _apply(engine, action.case_id, entry(action.case_id, action.step, action.actor,
                                         action.kind, action_detail(action), at=now), apply)


def record_resurvey(*, engine: Engine, case_id: str, score: int, now: datetime,
                    step: str = "resurvey-score") -> bool:
    """Link the re-survey score to the case; True when a detractor has recovered."""
    recovered = score >= 7
    case, _ = load_case(engine=engine, case_id=case_id)
    # A feedback call had no score before: there is nothing to recover from.
    scored = case.score is not None

    def apply(row: Case) -> None:
        row.resurvey_score = score
        row.recovered = (recovered and row.score <= 6) if row.score is not None else None

    outcome = ("recovered" if recovered else "not recovered") if scored else "first score"
    _apply(engine, case_id, entry(case_id, step, "respondent", "resurvey_answered",
                                  f"new score {score}: {outcome}", at=now), apply)
    return recovered and scored


def record_respondent_mail(*, engine: Engine, record: RespondentMailRecord,
                           now: datetime) -> None:
    """An email from the respondent on the timeline; a bounce puts the address that bounced
    on the suppression list, so nothing more is sent to it until the respondent's address
    changes."""
    with session_for(engine) as session:
        message = session.get(CaseMessage, record.message_id)
        if message is None or message.case_id != record.case_id:
            raise UnknownCase(f"no message {record.message_id} on {record.case_id}")
        if record.kind == "bounce" and message.bounced_address:
            suppress(session=session, email=message.bounced_address, reason=BOUNCED,
                     source="a delivery report", now=now)
        session.commit()
    detail = {"reply": "replied by email",
              "auto_reply": "automatic reply (out of office): nobody is told",
              "bounce": f"email to {message.bounced_address or 'the respondent'} bounced: "
                        "no more email goes to it"}[record.kind]
    kind = {"reply": "respondent_replied", "auto_reply": "auto_reply",
            "bounce": "email_bounced"}[record.kind]
    _apply(engine, record.case_id, entry(record.case_id, record.step, "respondent", kind,
                                         detail, at=now))


def email_step(*, case_id: str, key: str, at: datetime, promise: str | None = None
               ) -> Callable[[Session, str, str], None]:
    """How a case email's outcome goes on the case timeline (in the outbox's transaction), and
    the promise it made to the respondent, once it is sent."""

    def record(session: Session, status: str, detail: str) -> None:
        session.add(TimelineEntry(
            case_id=case_id, key=f"{key}:{status}", at=at, actor="kringloop",
            kind="email_sent" if status == "sent" else "email_failed", detail=detail))
        if promise and status == "sent":
            session.add(TimelineEntry(case_id=case_id, key=f"{key}:promise", at=at,
                                      actor="kringloop", kind="promised", detail=promise))

    return record
