"""Health, readiness and metrics: healthy only when the database answers and can store what
arrives, and Temporal and a worker answer; ready when, on top of that, the database schema is
the one this version needs."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from kringloop.database import HealthProbe, session_for
from kringloop.migrations import is_at_head
from kringloop.reports.metrics import metrics_text
from kringloop.services import Services
from kringloop.web.deps import ServicesDep, require_metrics_reader

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


class LittleRoomLeft(Exception):
    """The embedded database's disk has less free space than KRINGLOOP_MIN_FREE_DISK_MB."""


def _write_probe(services: Services) -> None:
    """Store one small write, as intake would: a full disk, a read-only file system or a lock
    that outlasts the answer makes it fail. An embedded SQLite database also needs room to
    grow (a write may fit in the WAL and still fail when it is folded into the database)."""
    engine = services.engine
    if engine.dialect.name == "sqlite" and engine.url.database:
        folder = Path(engine.url.database).resolve().parent
        if shutil.disk_usage(folder).free < services.settings.min_free_disk_mb * 2**20:
            raise LittleRoomLeft(str(folder))
    with session_for(engine) as session:
        probe = session.get(HealthProbe, 1) or HealthProbe(id=1, checked_at=datetime.now(UTC))
        probe.checked_at = datetime.now(UTC)
        session.add(probe)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # a concurrent probe made the row: that was a write too


async def _database_writable(services: Services) -> bool:
    try:
        await asyncio.wait_for(asyncio.to_thread(_write_probe, services), ANSWER_WITHIN_S)
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
    database, writable, (temporal, worker) = await asyncio.gather(
        _database_answers(services), _database_writable(services), _worker_polls(services))
    return {"database": database, "database_writable": database and writable,
            "temporal": temporal, "worker": worker}


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


@router.get("/metrics", dependencies=[Depends(require_metrics_reader)])
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus: Kringloop's counters (at most 15 s old) and the Temporal SDK's runtime
    metrics. Needs `Authorization: Bearer` with the metrics token (KRINGLOOP_METRICS_TOKEN)
    or the admin token."""
    return Response(await metrics_text(request.app.state.case_counters,
                                       services.metrics_address),
                    media_type="text/plain; version=0.0.4; charset=utf-8")
