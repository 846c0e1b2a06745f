"""Activities that open, route, assign, schedule and record cases in the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from kringloop.cases import booking, steps
from kringloop.cases.emails import NoAddress
from kringloop.cases.messages import (
    ActionRecord,
    AssignRequest,
    BookingRecord,
    CallbackPlan,
    CallbackRequest,
    CaseInput,
    CasePlan,
    Member,
    RespondentMailRecord,
    TimelineRecord,
    WorkingMoment,
    WorkingSpan,
)
from kringloop.org.organisation import Organisation

Arguments = ParamSpec("Arguments")
Result = TypeVar("Result")


async def off_the_loop(step: Callable[Arguments, Result], /, *args: Arguments.args,
                       **kwargs: Arguments.kwargs) -> Result:
    """Run a blocking step (database work) in a thread: the worker's event loop keeps serving
    the other activities and workflows meanwhile. A step that can never succeed (an unknown
    case or response, no address) fails for good, under the domain error's name."""
    try:
        return await asyncio.to_thread(step, *args, **kwargs)
    except (steps.UnknownCase, steps.UnknownResponse, NoAddress) as error:
        raise ApplicationError(str(error), type=type(error).__name__,
                               non_retryable=True) from None


class CaseActivities:
    """Case bookkeeping; one instance per worker, sharing the engine and the organisation.

    Every step is stamped with the server's clock (`scheduled_time`: simulated time in tests),
    not the worker's."""

    def __init__(self, *, engine: Engine, org: Organisation, time_scale: float = 1.0) -> None:
        self.engine = engine
        self.org = org
        self.time_scale = time_scale

    @activity.defn
    async def open_case(self, case: CaseInput) -> None:
        await off_the_loop(steps.open_case, engine=self.engine, case=case,
                           now=activity.info().scheduled_time)

    @activity.defn
    async def record_respondent_mail(self, record: RespondentMailRecord) -> None:
        await off_the_loop(steps.record_respondent_mail, engine=self.engine, record=record,
                           now=activity.info().scheduled_time)

    @activity.defn
    async def plan_case(self, case_id: str) -> CasePlan:
        """Route the case to a team and snapshot the program's policy for it."""
        return await off_the_loop(steps.plan_case, engine=self.engine, org=self.org,
                                  case_id=case_id, now=activity.info().scheduled_time,
                                  time_scale=self.time_scale)

    @activity.defn
    async def assign_member(self, request: AssignRequest) -> Member:
        return await off_the_loop(steps.assign_member, engine=self.engine, org=self.org,
                                  request=request, now=activity.info().scheduled_time)

    @activity.defn
    async def schedule_callback(self, request: CallbackRequest) -> CallbackPlan:
        """Callback due inside the SLA band from when the case opened, in the team's working time.

        TIME_SCALE shrinks the wait (for demos): the real deadline's distance is divided by it.
        """
        return await off_the_loop(steps.schedule_callback, engine=self.engine, org=self.org,
                                  request=request, now=activity.info().scheduled_time,
                                  time_scale=self.time_scale)

    @activity.defn
    async def working_moment(self, request: WorkingMoment) -> datetime:
        """A moment in the team's working time (a short local step: no database)."""
        return steps.working_moment(org=self.org, request=request, time_scale=self.time_scale)

    @activity.defn
    async def working_hours_between(self, span: WorkingSpan) -> float:
        return steps.working_hours_between(org=self.org, span=span, time_scale=self.time_scale)

    @activity.defn
    async def record_timeline(self, record: TimelineRecord) -> None:
        await off_the_loop(steps.record_timeline, engine=self.engine, record=record,
                           now=activity.info().scheduled_time)

    @activity.defn
    async def record_action(self, action: ActionRecord) -> None:
        """Store an action the workflow has validated: an attempt, a note, a resolution, or a
        message relayed to or from an anonymous employee (a reply to them is a first contact)."""
        await off_the_loop(steps.record_action, engine=self.engine, action=action,
                           now=activity.info().scheduled_time)

    @activity.defn
    async def record_resurvey(self, case_id: str, score: int, step: str = "resurvey-score"
                              ) -> bool:
        """Link the re-survey score to the case; True when a detractor has recovered."""
        return await off_the_loop(steps.record_resurvey, engine=self.engine, case_id=case_id,
                                  score=score, now=activity.info().scheduled_time, step=step)

    @activity.defn
    async def record_booking(self, record: BookingRecord) -> None:
        """The respondent's chosen time becomes the callback's due time."""
        await off_the_loop(booking.record_booking, engine=self.engine, record=record,
                           now=activity.info().scheduled_time)
