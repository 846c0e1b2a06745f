"""Health, readiness and metrics: healthy only when the database, Temporal and a worker all
answer; ready when, on top of that, the database schema is the one this version needs."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from kringloop.database import session_for
from kringloop.migrations import is_at_head
from kringloop.observability import metrics_text
from kringloop.web.deps import Services, ServicesDep

router = APIRouter(tags=["operations"])


# A part that has not answered by then counts as down: a probe gets its 503 naming the part,
# not a request hanging on a server that accepts connections and never replies.
ANSWER_WITHIN_S = 3.0


def _select_one(services: Services) -> None:
    with session_for(services.engine) as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]


async def _database_answers(services: Services) -> bool:
    try:
        # In a thread: a database that is slow to answer must not hold up the event loop.
        await asyncio.wait_for(asyncio.to_thread(_select_one, services), ANSWER_WITHIN_S)
    except Exception:
        return False
    return True


async def _worker_polls(services: Services) -> tuple[bool, bool]:
    """(Temporal answers, a worker polls the case task queue)."""
    client = services.temporal
    try:
        described = await asyncio.wait_for(client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=services.settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)), ANSWER_WITHIN_S)
    except Exception:
        return False, False
    return True, bool(described.pollers)


async def _checks(services: Services) -> dict[str, bool]:
    database, (temporal, worker) = await asyncio.gather(
        _database_answers(services), _worker_polls(services))
    return {"database": database, "temporal": temporal, "worker": worker}


def _verdict(checks: dict[str, bool]) -> JSONResponse:
    fine = all(checks.values())
    return JSONResponse(status_code=200 if fine else 503,
                        content={"status": "ok" if fine else "unavailable", **checks})


@router.get("/health")
async def health(services: ServicesDep) -> JSONResponse:
    return _verdict(await _checks(services))


@router.get("/ready")
async def ready(services: ServicesDep) -> JSONResponse:
    checks = await _checks(services)
    try:
        checks["schema"] = checks["database"] and is_at_head(services.engine)
    except Exception:
        checks["schema"] = False
    return _verdict(checks)


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    """Prometheus: Kringloop's counters and the Temporal SDK's runtime metrics."""
    return Response(await metrics_text(services.engine, services.metrics_address),
                    media_type="text/plain; version=0.0.4; charset=utf-8")
