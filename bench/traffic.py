"""What the benchmarks send and watch: detractor responses over HTTP, bare workflows through the
client, and the acknowledgements and reminders arriving at the SMTP sink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import col, select
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from bench.baseline_workflow import BARE_QUEUE, BareRun, BareTimer, BareTimerWorkflow, BareWorkflow
from bench.embedded import Bench
from kringloop.cases.messages import case_id_for
from kringloop.database import session_for
from kringloop.mail.models import OutboxMessage
from kringloop.mail.sink import FILE_STAMP, file_digest

# Until the acknowledgement: open, plan (route), assign, schedule the callback, the working
# hours looked up for the member's email and for the reminder's moment (two local
# activities), then the acknowledgement to the respondent and the assignment email to the
# member; meanwhile the case starts the timer it sleeps on until the reminder. The bare
# baseline has one of each kind.
PIPELINE_STEPS = 8
PIPELINE_EMAILS = ("acknowledgement", "assignment")
START_CONCURRENCY = 8  # requests (or workflow starts) in flight at once, like `kringloop demo`


def detractor(response_id: str, *, score: int = 5) -> dict[str, object]:
    """A customer detractor as a survey tool would post it (routed to the catch-all team)."""
    return {
        "response_id": response_id, "program": "customer", "score": score,
        "comment": "De fiets stond twee weken later klaar dan beloofd en niemand belde terug.",
        "respondent": {"id": f"klant-{response_id}", "name": "Bench Respondent",
                       "email": f"{response_id}@bench.example", "language": "nl"},
    }


async def post_detractor(http: httpx.AsyncClient, response_id: str, *, score: int = 5
                         ) -> float:
    """Post one detractor, as a survey tool would, with a client holding an admin's token;
    returns the wall-clock time the request was sent."""
    sent = time.time()
    answer = await http.post("/api/responses", json=detractor(response_id, score=score))
    if (answer.status_code not in (200, 201)
            or answer.json().get("case_id") != case_id_for(response_id)):
        raise RuntimeError(f"intake refused {response_id}: {answer.status_code} {answer.text}")
    return sent


async def start_bare(bench: Bench, run_id: str, *, steps: int | None = None) -> float:
    """Start a bare pipeline (`steps` trivial activities instead, when given)."""
    started = time.time()
    await bench.running.client.start_workflow(
        BareWorkflow.run, BareRun(run_id=run_id, steps=steps), id=run_id, task_queue=BARE_QUEUE)
    return started


async def start_bare_timer(bench: Bench, run_id: str, *, delay_s: float) -> float:
    started = time.time()
    await bench.running.client.start_workflow(
        BareTimerWorkflow.run, BareTimer(run_id=run_id, delay_s=delay_s), id=run_id,
        task_queue=BARE_QUEUE)
    return started


async def finish_bare(bench: Bench, run_ids: list[str], *, release: bool = True) -> None:
    """Let the bare workflows complete, so none is cut off when the stack stops: a bare
    pipeline sleeps on its reminder's timer, as an open case does, until released."""
    client = bench.running.client
    await gated(len(run_ids), lambda i: _finished(client.get_workflow_handle(run_ids[i]),
                                                  release=release), concurrency=50)


async def _finished(handle: WorkflowHandle[Any, Any], *, release: bool) -> float:
    try:
        if release:
            await handle.signal(BareWorkflow.release)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise  # NOT_FOUND: it completed on its own (the engine's trivial steps)
    await handle.result()
    return time.time()


async def gated(count: int, send: Callable[[int], Awaitable[float]],
                concurrency: int = START_CONCURRENCY) -> list[float]:
    """Send `count` as fast as `concurrency` allows; the send times, in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> float:
        async with gate:
            return await send(index)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def at_rate(count: int, rate: float, send: Callable[[int], Awaitable[float]]
                  ) -> list[float]:
    """Open-loop arrivals: one every 1/rate seconds, whether or not earlier ones are done."""
    begin = time.monotonic()
    sending: list[asyncio.Task[float]] = []
    for index in range(count):
        pause = begin + index / rate - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        sending.append(asyncio.create_task(send(index)))
    return list(await asyncio.gather(*sending))


def sink_arrivals(outbox: Path) -> dict[str, float]:
    """Message-ID digest -> wall-clock time the SMTP sink wrote the message."""
    arrivals: dict[str, float] = {}
    for path in outbox.glob("*.eml"):
        stamp, _, digest = path.stem.partition("-")
        moment = datetime.strptime(stamp, FILE_STAMP).replace(tzinfo=UTC)
        arrivals[digest] = moment.timestamp()
    return arrivals


def delivered(bench: Bench, *, kinds: tuple[str, ...], key_prefix: str
              ) -> dict[str, tuple[float, float]]:
    """Sent emails of `kinds` whose idempotency key starts with `key_prefix`, by the case or
    rejection they belong to (the key's first part): (when the mail activity wrote the outbox
    row, when the sink stored the message) of its last email to arrive."""
    with session_for(bench.running.engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.kind).in_(kinds), OutboxMessage.status == "sent",
            col(OutboxMessage.key).startswith(key_prefix))).all()
    if not rows:
        return {}
    arrivals = sink_arrivals(bench.outbox)
    found: dict[str, tuple[float, float]] = {}
    for row in rows:
        assert row.sent_at is not None
        at_sink = arrivals.get(file_digest(row.message_id), row.sent_at.timestamp())
        owner = row.key.partition(":")[0]
        if owner not in found or found[owner][1] < at_sink:
            found[owner] = (row.created_at.timestamp(), at_sink)
    return found


async def until_delivered(bench: Bench, *, kinds: tuple[str, ...], key_prefix: str,
                          count: int, timeout: float) -> dict[str, tuple[float, float]]:
    """Poll until `count` cases (or rejections) had every email of `kinds` reach the sink, or
    the time is up."""
    # While waiting only a count: the poll shares the process (and its CPU) with Kringloop.
    sent = select(func.count()).select_from(OutboxMessage).where(
        col(OutboxMessage.kind).in_(kinds), OutboxMessage.status == "sent",
        col(OutboxMessage.key).startswith(key_prefix))
    deadline = time.monotonic() + timeout
    while True:
        with session_for(bench.running.engine) as session:
            done = session.exec(sent).one()
        if done >= count * len(kinds) or time.monotonic() > deadline:
            return delivered(bench, kinds=kinds, key_prefix=key_prefix)
        await asyncio.sleep(0.25)
