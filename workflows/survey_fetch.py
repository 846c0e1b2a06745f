"""Fetching a notified response: SurveyMonkey and Qualtrics post only a response's id, so its
answers are asked of the tool's API until it gives them (a failing try is shown to the admin
and tried again later, never dropped), and then taken in like any other delivery."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.sources import SourceActivities
    from kringloop.sources.messages import FetchOrder
    from workflows.policies import SURVEY_FETCH


@workflow.defn
class SurveyFetchWorkflow:
    @workflow.run
    async def run(self, order: FetchOrder) -> str:
        """What became of the delivery: taken, repeat, updated or unmapped."""
        return await workflow.execute_activity_method(
            SourceActivities.fetch_and_take_in, order, **SURVEY_FETCH)
