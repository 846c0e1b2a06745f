"""Temporal Schedules for each team's rhythm, created idempotently when a worker starts:
the digest every working day at 08:00 and the spotlight every Monday at 09:00, team time."""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from kringloop.case_messages import TeamMorningRequest
from kringloop.org import LoyaltyTeam, Organisation
from workflows.digest import DailyDigestWorkflow, WeeklySpotlightWorkflow

MONDAY, FRIDAY = 1, 5  # Temporal counts days of the week from Sunday = 0


def _schedules_for(team: LoyaltyTeam, task_queue: str) -> dict[str, Schedule]:
    def at(hour: int, days: ScheduleRange) -> ScheduleSpec:
        return ScheduleSpec(calendars=[ScheduleCalendarSpec(
            hour=[ScheduleRange(hour)], minute=[ScheduleRange(0)], second=[ScheduleRange(0)],
            day_of_week=[days])], time_zone_name=team.time_zone)

    return {
        f"digest-{team.id}": Schedule(
            action=ScheduleActionStartWorkflow(
                DailyDigestWorkflow.run, TeamMorningRequest(team.id), id=f"digest-{team.id}",
                task_queue=task_queue),
            spec=at(8, ScheduleRange(MONDAY, FRIDAY))),
        f"spotlight-{team.id}": Schedule(
            action=ScheduleActionStartWorkflow(
                WeeklySpotlightWorkflow.run, TeamMorningRequest(team.id),
                id=f"spotlight-{team.id}",
                task_queue=task_queue),
            spec=at(9, ScheduleRange(MONDAY))),
    }


async def ensure_team_schedules(client: Client, org: Organisation, task_queue: str) -> list[str]:
    """Create each team's schedules, or bring existing ones in line with the org file."""
    ids: list[str] = []
    for team in org.teams:
        for schedule_id, schedule in _schedules_for(team, task_queue).items():
            try:
                await client.create_schedule(schedule_id, schedule)
            except ScheduleAlreadyRunningError:
                def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                    return ScheduleUpdate(schedule=new)

                await client.get_schedule_handle(schedule_id).update(replace)
            ids.append(schedule_id)
    return ids
