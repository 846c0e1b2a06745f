"""The survey-fetch workflow as the rest of Kringloop reaches it (a typed reference)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from kringloop.sources.messages import FetchOrder, fetch_workflow_id
from workflows.survey_fetch import SurveyFetchWorkflow


async def fetch_later(client: Client, order: FetchOrder, *, task_queue: str) -> None:
    """Start fetching the notified response; a notification repeated while the fetch runs
    joins it, and one after it ended (replayed by an admin) fetches again."""
    await client.start_workflow(
        SurveyFetchWorkflow.run, order, id=fetch_workflow_id(order), task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
