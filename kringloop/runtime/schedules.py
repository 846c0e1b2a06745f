"""Temporal Schedules, created idempotently when a worker starts: each team's rhythm (the
digest every working day at 08:00 and the spotlight every Monday at 09:00, team time) and the
nightly retention purge of personal data."""

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

from kringloop.cases.messages import TeamMorningRequest
from kringloop.org.organisation import LoyaltyTeam, Organisation
from kringloop.privacy.messages import RetentionRequest
from workflows.digest import DailyDigestWorkflow, WeeklySpotlightWorkflow
from workflows.retention import RetentionWorkflow

MONDAY, FRIDAY = 1, 5  # Temporal counts days of the week from Sunday = 0
RETENTION = "retention"


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
            await _ensure(client, schedule_id, schedule)
            ids.append(schedule_id)
    return ids


async def ensure_retention_schedule(client: Client, task_queue: str, *, months: int) -> str:
    """Every night at 03:00 UTC, erase what has been kept longer than `months` months."""
    await _ensure(client, RETENTION, Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionWorkflow.run, RetentionRequest(months), id=RETENTION,
            task_queue=task_queue),
        spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(
            hour=[ScheduleRange(3)], minute=[ScheduleRange(0)], second=[ScheduleRange(0)])])))
    return RETENTION


async def _ensure(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create the schedule, or bring the existing one in line (a changed setting, org file)."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
