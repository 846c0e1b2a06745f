"""The rejection workflows as the rest of Kringloop reaches them: a vacancy's mailing started
or told of new rejections, and a rejection's own workflow (made before mailings) cancelled or
told of a feedback call. Typed references to the workflows, never names as strings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from kringloop.refusal import Refused
from kringloop.rejections.messages import Cancellation, MailingInput
from workflows.rejection import RejectionWorkflow
from workflows.rejection_mailing import RejectionMailingWorkflow

RESTART_WAIT_S = 10.0


async def tell_mailings(client: Client, mailing_ids: Iterable[str], *, task_queue: str) -> None:
    """Start each vacancy's mailing, or tell the running one that rejections were added.
    (Temporal names a start signal by its name: `rejections_added`.)"""
    for mailing_id in sorted(set(mailing_ids)):
        await client.start_workflow(
            RejectionMailingWorkflow.run, MailingInput(mailing_id), id=mailing_id,
            task_queue=task_queue, start_signal="rejections_added",
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)


async def previous_run_closed(client: Client, rejection_id: str) -> None:
    """A cancelled rejection's own workflow (from before vacancy mailings) may still be
    finishing; the new round must not race it."""
    handle = client.get_workflow_handle(rejection_id)
    deadline = asyncio.get_running_loop().time() + RESTART_WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        try:
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                return
        except RPCError:
            return
        await asyncio.sleep(0.05)


async def cancel_in_own_workflow(client: Client, rejection_id: str, *, actor: str) -> None:
    """Cancel a rejection made before mailings through its own workflow, which decides:
    too late is Refused (409) with the workflow's words."""
    try:
        await client.get_workflow_handle(rejection_id).execute_update(
            RejectionWorkflow.cancel, Cancellation(actor=actor))
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        if not isinstance(cause, ApplicationError):
            raise
        raise Refused(409, cause.message, field="status") from None
    except RPCError as error:
        raise Refused(409, f"the rejection can no longer be cancelled ({error.message})",
                      field="status") from None


async def feedback_call_requested(client: Client, rejection_id: str) -> None:
    """A rejection made before mailings waits with its survey for the feedback call."""
    try:
        await client.get_workflow_handle(rejection_id).signal(
            RejectionWorkflow.feedback_call_requested)
    except RPCError:
        pass  # the rejection workflow has finished: nothing left to skip
