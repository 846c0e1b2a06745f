"""The bare-Temporal baseline: workflows of trivial activities on the same server and worker
settings as Kringloop, so every figure can be a ratio against what the engine itself does."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

BARE_QUEUE = "kringloop-bench-bare"
# The same activity timeout as Kringloop's database steps; no retries are ever needed here.
STEP = {"start_to_close_timeout": timedelta(seconds=30)}


@dataclass(frozen=True)
class BareRun:
    """One bare workflow: `steps` trivial activities, one after the other."""

    run_id: str
    steps: int


@dataclass(frozen=True)
class BareStep:
    run_id: str
    index: int
    last: bool


@dataclass(frozen=True)
class BareTimer:
    """One bare workflow that sleeps `delay_s` and then runs one trivial activity."""

    run_id: str
    delay_s: float


@dataclass(frozen=True)
class BareFired:
    run_id: str
    due_at: float  # epoch seconds the timer was due


class BareActivities:
    """Trivial activities that note, in this process, when a run's last step ran."""

    def __init__(self) -> None:
        self.finished: dict[str, float] = {}  # run id -> wall-clock time of its last step
        self.lateness: dict[str, float] = {}  # run id -> seconds its timer fired late
        self.progress = asyncio.Event()

    @activity.defn
    async def bare_step(self, step: BareStep) -> None:
        if step.last:
            self.finished[step.run_id] = time.time()
            self.progress.set()

    @activity.defn
    async def bare_fired(self, fired: BareFired) -> None:
        self.lateness[fired.run_id] = time.time() - fired.due_at
        self.progress.set()

    async def wait_for(self, run_ids: set[str], record: dict[str, float], *,
                       timeout: float) -> None:
        """Until every run in `run_ids` has an entry in `record` (or the time is up)."""
        deadline = time.monotonic() + timeout
        while not run_ids <= record.keys():
            self.progress.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self.progress.wait(), timeout=min(left, 1.0))
            except TimeoutError:
                pass


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self, run: BareRun) -> None:
        for index in range(run.steps):
            await workflow.execute_activity_method(
                BareActivities.bare_step,
                BareStep(run_id=run.run_id, index=index, last=index == run.steps - 1), **STEP)


@workflow.defn
class BareTimerWorkflow:
    @workflow.run
    async def run(self, timer: BareTimer) -> None:
        due = workflow.now() + timedelta(seconds=timer.delay_s)
        await workflow.sleep(timer.delay_s)
        await workflow.execute_activity_method(
            BareActivities.bare_fired, BareFired(run_id=timer.run_id, due_at=due.timestamp()),
            **STEP)


def bare_worker(client: Client, activities: BareActivities) -> Worker:
    """A worker with Kringloop's own settings (see worker.py), on a queue of its own."""
    from worker import worker_tuning  # here, not on top: the sandbox re-imports this module

    return Worker(client, task_queue=BARE_QUEUE, workflows=[BareWorkflow, BareTimerWorkflow],
                  activities=[activities.bare_step, activities.bare_fired], **worker_tuning())
