"""Telling running workflows that their person was erased: each case, and each rejection
made before vacancy mailings, takes the `erase_personal_data` update and stops contacting
them. Typed references to the workflows, never names as strings."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from kringloop.privacy.messages import Erasure
from workflows.case import CaseWorkflow
from workflows.rejection import RejectionWorkflow

log = logging.getLogger("kringloop.erasure")
# How long to wait for a running workflow to take the erasure (it is erased in the database
# already, so one that does not answer has no address left to write to anyway).
UPDATE_WAIT = timedelta(seconds=30)


async def stop_contacting(client: Client, *, case_ids: list[str], rejection_ids: list[str],
                          actor: str) -> int:
    """Tell each running case and rejection; how many were still running to hear it."""
    told = 0
    for workflow_id, update in [*((c, CaseWorkflow.erase_personal_data) for c in case_ids),
                                *((r, RejectionWorkflow.erase_personal_data)
                                  for r in rejection_ids)]:
        try:
            await client.get_workflow_handle(workflow_id).execute_update(
                update, Erasure(actor=actor), rpc_timeout=UPDATE_WAIT)
        except (RPCError, WorkflowUpdateFailedError):
            continue  # closed already, or still opening: either way it has nothing to send
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            log.warning("a running workflow did not take the erasure in time",
                        extra={"workflow_id": workflow_id})
            continue
        told += 1
    return told
