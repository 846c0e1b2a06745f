"""Health: the web app is only healthy when the database, Temporal and a worker all answer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from kringloop.database import session_for
from kringloop.web.deps import Services, ServicesDep

router = APIRouter(tags=["operations"])


def _database_answers(services: Services) -> bool:
    try:
        with session_for(services.engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return True
    except Exception:
        return False


async def _worker_polls(services: Services) -> tuple[bool, bool]:
    """(Temporal answers, a worker polls the case task queue)."""
    client = services.temporal
    try:
        described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=services.settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
    except Exception:
        return False, False
    return True, bool(described.pollers)


@router.get("/health")
async def health(services: ServicesDep) -> JSONResponse:
    temporal, worker = await _worker_polls(services)
    checks = {"database": _database_answers(services), "temporal": temporal, "worker": worker}
    healthy = all(checks.values())
    return JSONResponse(status_code=200 if healthy else 503,
                        content={"status": "ok" if healthy else "unavailable", **checks})
