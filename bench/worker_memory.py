"""Figure 6 (full run only): the worker's memory with 10,000 open cases asleep on their SLA
timers, sampled as they accumulate; the worker runs in a process of its own to be measured."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import func
from sqlmodel import select

from bench.child_process import stop_child
from bench.embedded import Bench, embedded_stack
from bench.figures import Figure
from bench.traffic import gated, post_detractor
from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.settings import Settings
from worker import worker_tuning

CACHE_SIZE = int(worker_tuning()["max_cached_workflows"])  # the worker's workflow cache
SAMPLE_EVERY_S = 2.0
MB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    cases: int  # assigned so far
    rss_mb: float


def _worker_log(bench: Bench) -> Path:
    return bench.home / "worker.log"


def _assigned(bench: Bench, prefix: str) -> int:
    with session_for(bench.running.engine) as session:
        return session.exec(select(func.count()).select_from(Case).where(
            Case.id.startswith(prefix), Case.assignee_email.is_not(None))).one()  # type: ignore[union-attr]


async def _sample(bench: Bench, process: psutil.Process, prefix: str, samples: list[Sample],
                  ) -> None:
    while True:
        samples.append(Sample(_assigned(bench, prefix), process.memory_info().rss / MB))
        await asyncio.sleep(SAMPLE_EVERY_S)


async def worker_rss(settings: Settings, *, count: int) -> Figure:
    async with embedded_stack(settings, worker=False) as bench:
        worker = bench.command("worker", log=_worker_log(bench))
        try:
            process = psutil.Process(worker.pid)
            await asyncio.sleep(5)  # imports done, polling
            if worker.poll() is not None:
                raise RuntimeError("the worker stopped: " + _worker_log(bench).read_text())
            idle = process.memory_info().rss / MB
            samples: list[Sample] = []
            sampling = asyncio.create_task(_sample(bench, process, "case-bench-rss-", samples))
            begin = time.monotonic()
            ids = [f"bench-rss-{i:05d}" for i in range(count)]
            await gated(count, lambda i: post_detractor(bench.http, ids[i]))
            for _ in range(max(600, count // 5)):  # the last ones may wait in a backlog
                if _assigned(bench, "case-bench-rss-") >= count:
                    break
                await asyncio.sleep(1)
            await asyncio.sleep(10)  # settled: every case asleep on its timer
            sampling.cancel()
            samples.append(Sample(_assigned(bench, "case-bench-rss-"),
                                  process.memory_info().rss / MB))
            seconds = time.monotonic() - begin
        finally:
            stop_child(worker, timeout=30)
    peak = max(s.rss_mb for s in samples)
    full = next((s for s in samples if s.cases >= 2 * CACHE_SIZE), samples[-1])
    last = samples[-1]
    growth = ((last.rss_mb - full.rss_mb) / (last.cases - full.cases) * 1000
              if last.cases > full.cases else 0.0)
    marks = {n: next((s.rss_mb for s in samples if s.cases >= n), last.rss_mb)
             for n in (1_000, 2_500, 5_000, 7_500, 10_000) if n <= count}
    return Figure(
        "worker_rss_mb_10k_sleeping", peak, "<= 300", unit="MB",
        baseline=f"the same worker idle before the first case: {idle:.0f} MB "
                 f"(peak {peak / idle:.1f}x)",
        versus=f"idle {idle:.0f} MB",
        details={"cases": f"{last.cases:,} assigned and asleep, in {seconds:.0f} s",
                 "RSS by cases": ", ".join(f"{n:,}: {mb:.0f} MB" for n, mb in marks.items()),
                 "after the cache filled": f"{growth:+.1f} MB per 1,000 cases "
                                           f"(from {full.cases:,} to {last.cases:,})"})
