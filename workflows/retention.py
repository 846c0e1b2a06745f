"""Retention, started every night by a Temporal Schedule: the personal data of cases closed
longer ago than the retention period (and of rejections sent that long ago) is erased, while
their scores, teams and timings stay for the reports."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.erasure import ErasureActivities
    from kringloop.privacy.messages import RetentionRequest
    from workflows.policies import DATABASE_STEP

erasure = ErasureActivities


@workflow.defn
class RetentionWorkflow:
    @workflow.run
    async def run(self, request: RetentionRequest) -> int:
        return await workflow.execute_activity_method(
            erasure.purge_expired_personal_data, request, **DATABASE_STEP)
