"""The respondent books their callback: the assignee's free half hours in the team's working
time, and the booked time stored on the case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from kringloop.cases.messages import BookingRecord
from kringloop.cases.models import Case, CaseOrigin, TimelineEntry
from kringloop.cases.queries import ACTIVE_STATUSES, has_conversation
from kringloop.cases.steps import entry
from kringloop.database import change_once, session_for
from kringloop.org.business_hours import WorkingCalendar, is_working_day
from kringloop.org.organisation import Organisation

SLOT = timedelta(minutes=30)
# The assignee needs a moment to see a booking before it is due.
LEAD_TIME = timedelta(hours=2)
BOOKING_DAYS = 5  # working days offered
# However the team's calendar is set, the search for working days ends here.
_DAYS_SEARCHED = 60


@dataclass(frozen=True)
class Slot:
    """A half hour the respondent may pick: its start and end (UTC), on the team's clock."""

    start: datetime
    end: datetime
    time_zone: str

    @property
    def value(self) -> str:
        """The slot as a form posts it: its start in UTC to the minute."""
        return self.start.strftime("%Y-%m-%dT%H:%MZ")

    def label(self, language: str) -> str:
        return moment_label(self.start, time_zone=self.time_zone, language=language)

    def day(self, language: str) -> str:
        """The slot's day on the team's clock, e.g. "dinsdag 8 december"."""
        return format_datetime(self.start, "EEEE d MMMM", tzinfo=ZoneInfo(self.time_zone),
                               locale=language)


def moment_label(moment: datetime, *, time_zone: str, language: str) -> str:
    """A moment as the respondent reads it, the zone named: "di 8 dec 10:00 (Europe/Amsterdam)"."""
    shown = format_datetime(moment, "EEE d MMM HH:mm", tzinfo=ZoneInfo(time_zone), locale=language)
    return f"{shown} ({time_zone})"


def free_slots(team: WorkingCalendar, *, now: datetime, taken: Sequence[datetime],
               days: int = BOOKING_DAYS) -> list[Slot]:
    """The half hours inside the team's working hours on its next `days` working days that
    start `LEAD_TIME` from `now` or later and overlap no callback in `taken` (each held for a
    half hour from its due time)."""
    zone = ZoneInfo(team.time_zone)
    earliest = now + LEAD_TIME
    opens, closes = team.working_hours
    slots: list[Slot] = []
    day, counted = earliest.astimezone(zone).date(), 0
    for _ in range(_DAYS_SEARCHED):
        close = datetime.combine(day, closes, zone)
        if is_working_day(team, day) and close - SLOT >= earliest:
            counted += 1
            start = datetime.combine(day, opens, zone)
            while start + SLOT <= close:
                if start >= earliest and not any(start < t + SLOT and t < start + SLOT
                                                  for t in taken):
                    slots.append(Slot(start.astimezone(UTC), (start + SLOT).astimezone(UTC),
                                      team.time_zone))
                start += SLOT
            if counted == days:
                break
        day += timedelta(days=1)
    return slots


def taken_callbacks(*, session: Session, assignee_email: str, other_than: str,
                    since: datetime) -> list[datetime]:
    """When the assignee is due to call back on their other open cases, from `since` on."""
    return [due for due in session.exec(
        select(Case.callback_due_at)
        .where(Case.assignee_email == assignee_email, col(Case.status).in_(ACTIVE_STATUSES),
               Case.id != other_than, col(Case.callback_due_at) >= since)
    ).all() if due is not None]


def offered_slots(*, engine: Engine, org: Organisation, case: Case, now: datetime) -> list[Slot]:
    """The times the respondent may book: the assignee's free slots (the team's, while the case
    has no assignee yet)."""
    if case.team_id is None:
        return []
    taken: list[datetime] = []
    if case.assignee_email:
        with session_for(engine) as session:
            taken = taken_callbacks(session=session, assignee_email=case.assignee_email,
                                    other_than=case.id, since=now)
    return free_slots(org.team(case.team_id), now=now, taken=taken)


def offers_booking(case: Case, origin: CaseOrigin) -> bool:
    """Someone we can write to, and call: never an anonymous employee (no one to call)."""
    return bool(origin.email) and not has_conversation(case, origin)


def is_booked(*, session: Session, case_id: str) -> bool:
    """Whether the respondent booked the callback's time themselves."""
    return session.exec(select(TimelineEntry.id).where(
        TimelineEntry.case_id == case_id, TimelineEntry.kind == "callback_booked")
    ).first() is not None


def record_booking(*, engine: Engine, record: BookingRecord, now: datetime) -> None:
    """The booked time becomes the callback's due time, with its timeline entry, once."""

    def book(row: Case) -> None:
        row.callback_due_at = record.at

    with session_for(engine) as session:
        change_once(session=session, model=Case, key=record.case_id, change=book,
                    step=entry(record.case_id, record.step, "respondent", "callback_booked",
                               f"callback booked for {record.at:%Y-%m-%d %H:%M} UTC", at=now))
