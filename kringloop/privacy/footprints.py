"""Which database records hold personal data to erase, and erasing it in one transaction.

What stays is what reports and loop health count: scores, categories, program, segment, team,
root cause and every timing. What goes is who the person is (name, email, phone, their id) and
what was written by or about them (comment, notes, messages, reasons): free text becomes a
neutral marker, so the timeline still shows that a step happened, not what it said.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from kringloop.cases.models import (
    Case,
    CaseMessage,
    CustomerAdoption,
    FeedbackCallRequest,
    TimelineEntry,
)
from kringloop.mail.models import OutboxMessage
from kringloop.privacy.messages import ERASED
from kringloop.rejections.models import Rejection, RejectionEvent
from kringloop.responses.models import SurveyResponse

# Timeline steps whose text someone wrote: replaced whole, except that an attempt keeps its
# outcome and a resolution its root cause ("no_answer: …", "delivery-late: …").
WRITTEN_TEXT = ("note", "callback_attempt", "resolution", "relay_reply", "relay_message")
KEEPS_LEAD_IN = ("callback_attempt", "resolution")
# Shorter values (an id such as "7") would wipe unrelated words from other text.
SHORTEST_SCRUBBED = 3
# The key of the "erased" step on a case's timeline (a rejection's adds its round).
ERASED_STEP = "erased"


class ErasureSummary(BaseModel):
    """How many records held personal data that is now gone: counts, naming no one."""

    responses: int = 0
    feedback_calls: int = 0
    cases: int = 0
    timeline_entries: int = 0
    case_messages: int = 0  # emails from the respondent and our answers
    outbox_messages: int = 0
    rejections: int = 0
    adoptions: int = 0
    running_workflows: int = 0
    mail_copies: int = 0
    hook_deliveries: int = 0  # survey tools' requests kept for a replay
    quarantined_mail: int = 0  # inbound mail that reached no case

    @property
    def found(self) -> bool:
        return bool(self.responses or self.feedback_calls or self.cases or self.rejections
                    or self.adoptions)


@dataclass
class Footprint:
    """The records that hold one person's (or the expired loops') personal data."""

    responses: list[SurveyResponse] = field(default_factory=list)
    feedback_calls: list[FeedbackCallRequest] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    # A colleague adopted this customer in the workspace (the org file's adoptions are config).
    adoptions: list[CustomerAdoption] = field(default_factory=list)

    def summary(self) -> ErasureSummary:
        return ErasureSummary(responses=len(self.responses),
                              feedback_calls=len(self.feedback_calls), cases=len(self.cases),
                              rejections=len(self.rejections), adoptions=len(self.adoptions))

    def running_workflows(self) -> dict[str, list[str]]:
        """The cases, and the rejections with a workflow of their own (made before mailings),
        to tell of the erasure."""
        return {"case_ids": [c.id for c in self.cases],
                "rejection_ids": [r.id for r in self.rejections if r.mailing_id is None]}

    def addresses(self) -> set[str]:
        return {email.lower() for email in (
            *(r.email for r in self.responses), *(r.email for r in self.feedback_calls),
            *(r.applicant_email for r in self.rejections)) if email}

    def identifying_values(self) -> set[str]:
        people = [*self.responses, *self.feedback_calls]
        return {value for value in (
            *(v for p in people for v in (p.respondent_id, p.name, p.email, p.phone)),
            *(v for r in self.rejections for v in (r.applicant_id, r.applicant_name,
                                                   r.applicant_email))) if value}


# Finding the records -----------------------------------------------------------------------------

def _in(column: Any, values: Iterable[str]) -> Any:
    values = list(values)
    return col(column).in_(values) if values else false()


def footprint_of(*, session: Session, respondent_id: str) -> Footprint:
    """Everything of one person: a customer's or employee's respondent id, an applicant's id."""
    rejections = list(session.exec(
        select(Rejection).where(Rejection.applicant_id == respondent_id)).all())
    found = Footprint(
        responses=list(session.exec(select(SurveyResponse).where(
            SurveyResponse.respondent_id == respondent_id)).all()),
        feedback_calls=list(session.exec(select(FeedbackCallRequest).where(or_(
            FeedbackCallRequest.respondent_id == respondent_id,
            _in(FeedbackCallRequest.rejection_id, [r.id for r in rejections])))).all()),
        rejections=rejections)
    origins = [r.id for r in found.responses] + [r.id for r in found.feedback_calls]
    found.cases = list(session.exec(select(Case).where(_in(Case.response_id, origins))).all())
    found.adoptions = [a for a in [session.get(CustomerAdoption, respondent_id)] if a]
    return found


def outbox_of(*, session: Session, found: Footprint) -> list[OutboxMessage]:
    """Every email about their cases and rejections: to them, and to the team about them."""
    return list(session.exec(select(OutboxMessage).where(or_(
        _in(OutboxMessage.case_id, [c.id for c in found.cases]),
        *(col(OutboxMessage.key).startswith(f"{r.id}:") for r in found.rejections)))).all())


def retention_cutoff(now: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (the 31st becomes the month's last)."""
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def expired_footprint(*, session: Session, before: datetime) -> Footprint:
    """Loops that ended before `before` and still hold personal data: closed cases with their
    answers, answers that opened no case, and rejections sent (or stopped) that long ago."""
    marked = select(TimelineEntry.id).where(TimelineEntry.case_id == Case.id,
                                            TimelineEntry.key == ERASED_STEP)
    cases = list(session.exec(select(Case).where(
        Case.status == "closed", col(Case.closed_at) < before,
        # Not erased yet, or the team wrote a resolution after an erasure on request.
        or_(~marked.exists(), and_(col(Case.action_taken).is_not(None),
                                   Case.action_taken != ERASED)))).all())
    origins = [c.response_id for c in cases]
    identified = or_(*(col(column).is_not(None) for column in (
        SurveyResponse.respondent_id, SurveyResponse.name, SurveyResponse.email,
        SurveyResponse.phone, SurveyResponse.comment)))
    responses = session.exec(select(SurveyResponse).where(or_(
        _in(SurveyResponse.id, origins), _in(SurveyResponse.resurvey_of, [c.id for c in cases]),
        and_(col(SurveyResponse.case_id).is_(None), col(SurveyResponse.resurvey_of).is_(None),
             col(SurveyResponse.answered_at) < before, identified)))).all()
    rejections = session.exec(select(Rejection).where(
        Rejection.applicant_email != "",
        or_(col(Rejection.sent_at) < before, col(Rejection.cancelled_at) < before,
            and_(Rejection.status == "failed", col(Rejection.created_at) < before)))).all()
    return Footprint(
        responses=list(responses), cases=cases, rejections=list(rejections),
        feedback_calls=list(session.exec(select(FeedbackCallRequest).where(
            _in(FeedbackCallRequest.id, origins))).all()))


# Erasing them -----------------------------------------------------------------------------------

def _scrubber(values: Iterable[str]) -> Callable[[str], str]:
    """Replaces every occurrence of the person's name, email, phone and id in other text."""
    kept = sorted({v for v in values if len(v) >= SHORTEST_SCRUBBED}, key=len, reverse=True)
    if not kept:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(v) for v in kept), re.IGNORECASE)
    return lambda text: pattern.sub(ERASED, text)


def _written_text(kind: str, detail: str) -> str:
    lead_in, colon, _ = detail.partition(": ")
    if kind in KEEPS_LEAD_IN:
        return f"{lead_in}: {ERASED}" if colon else detail
    return ERASED if detail else detail


def _changed(row: Any, **values: Any) -> int:
    """Set the values; 1 if any differed (so erasing twice counts nothing the second time)."""
    differs = any(getattr(row, name) != value for name, value in values.items())
    for name, value in values.items():
        setattr(row, name, value)
    return int(differs)


def _erase_people(found: Footprint, summary: ErasureSummary) -> None:
    for response in found.responses:
        consent = {k: v for k, v in response.meta.items() if k == "contact_consent"}
        summary.responses += _changed(response, respondent_id=None, name=None, email=None,
                                      phone=None, comment=None, meta=consent)
    for request in found.feedback_calls:
        summary.feedback_calls += _changed(request, respondent_id=None, name=None, email=None,
                                           phone=None, comment=None)
    for rejection in found.rejections:
        reasons = [{"code": r["code"], "sentence": ERASED} for r in rejection.reasons]
        summary.rejections += _changed(rejection, applicant_id=ERASED, applicant_name=ERASED,
                                       applicant_email="", reasons=reasons)


def _erase_loops(session: Session, found: Footprint, outbox: list[OutboxMessage],
                 summary: ErasureSummary) -> None:
    scrub = _scrubber(found.identifying_values())
    addresses = found.addresses()
    case_ids = [c.id for c in found.cases]
    for case in found.cases:
        _changed(case, **{name: ERASED for name in ("action_taken", "resolution_message")
                          if getattr(case, name) is not None})
    for entry in session.exec(select(TimelineEntry).where(
            _in(TimelineEntry.case_id, case_ids))).all():
        summary.timeline_entries += _changed(entry, detail=_written_text(
            entry.kind, entry.detail) if entry.kind in WRITTEN_TEXT else scrub(entry.detail))
    for message in session.exec(select(CaseMessage).where(
            _in(CaseMessage.case_id, case_ids))).all():
        summary.case_messages += _changed(
            message, text=ERASED, html=None, subject=ERASED if message.subject else "",
            sender=None, bounced_address=None, attachments=[])
    for event in session.exec(select(RejectionEvent).where(
            _in(RejectionEvent.rejection_id, [r.id for r in found.rejections]))).all():
        summary.timeline_entries += _changed(event, detail=scrub(event.detail))
    for message in outbox:
        summary.outbox_messages += _changed(
            message, recipient="" if message.recipient.lower() in addresses
            else message.recipient, error=scrub(message.error) if message.error else None)


def _mark_erased(session: Session, found: Footprint, *, at: datetime, actor: str, why: str
                 ) -> int:
    """One "erased" step on each timeline (a running workflow's own step has the same key);
    how many cases got theirs now."""
    done = set(session.exec(select(TimelineEntry.case_id).where(
        _in(TimelineEntry.case_id, [c.id for c in found.cases]),
        TimelineEntry.key == ERASED_STEP)).all())
    for case in found.cases:
        if case.id not in done:
            session.add(TimelineEntry(case_id=case.id, key=ERASED_STEP, at=at, actor=actor,
                                      kind="erased", detail=why))
    for rejection in found.rejections:
        key = f"{ERASED_STEP}-{rejection.round}"
        if not session.exec(select(RejectionEvent.id).where(
                RejectionEvent.rejection_id == rejection.id, RejectionEvent.key == key)).first():
            session.add(RejectionEvent(rejection_id=rejection.id, key=key, at=at, actor=actor,
                                       kind="erased", detail=why))
    return len({c.id for c in found.cases} - done)


def erase_footprint(*, session: Session, found: Footprint, outbox: list[OutboxMessage],
                    at: datetime, actor: str, why: str) -> ErasureSummary:
    """Erase what `found` holds, and its `outbox_of`, and commit: one transaction, all of it or
    nothing."""
    summary = ErasureSummary()
    _erase_loops(session, found, outbox, summary)  # first: it needs the values the people lose
    _erase_people(found, summary)
    summary.cases = _mark_erased(session, found, at=at, actor=actor, why=why)
    for adoption in found.adoptions:
        session.delete(adoption)
        summary.adoptions += 1
    session.add_all([*found.responses, *found.feedback_calls, *found.rejections, *found.cases])
    session.commit()
    return summary
