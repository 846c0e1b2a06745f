"""Team rhythms, started by Temporal Schedules: each working morning every member's digest of
callbacks due and overdue, and each Monday the team's spotlight on last week's good work."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.digests import DigestActivities
    from kringloop.cases.messages import TeamMorning, TeamMorningRequest
    from workflows.policies import DATABASE_STEP, MAIL_DELIVERY

digests = DigestActivities


@workflow.defn
class DailyDigestWorkflow:
    """08:00 on a working day: each member with callbacks due today or overdue hears which."""

    @workflow.run
    async def run(self, request: TeamMorningRequest) -> int:
        morning: TeamMorning = await workflow.execute_activity_method(
            digests.plan_team_morning, request, **DATABASE_STEP)
        if not morning.working_day:
            return 0  # a public holiday: the team is off, and so is its digest
        for email in morning.members_with_callbacks:
            await workflow.execute_activity_method(
                digests.send_digest, args=[request.team_id, email, morning.date],
                **MAIL_DELIVERY)
        return len(morning.members_with_callbacks)


@workflow.defn
class WeeklySpotlightWorkflow:
    """Monday morning: the whole team hears whose customers came back and who called on time."""

    @workflow.run
    async def run(self, request: TeamMorningRequest) -> int:
        morning: TeamMorning = await workflow.execute_activity_method(
            digests.plan_team_morning, request, **DATABASE_STEP)
        for email in morning.all_members:
            await workflow.execute_activity_method(
                digests.send_spotlight, args=[request.team_id, email, morning.date],
                **MAIL_DELIVERY)
        return len(morning.all_members)
