"""The bare-Temporal baseline: the case pipeline's business steps done the plainest way, on the
same server, worker settings, codec, database and mail server as Kringloop, so every figure can
be a ratio against what the engine and the side effects themselves cost.

The bare pipeline has a step of the same kind for each of Kringloop's until the acknowledgement:
four database steps (a row written, read, changed twice, each its own transaction in a thread),
two local activities (a case looks up its team's working hours for the member's email and for
the reminder's moment), the durable timer a case then sleeps on until that reminder, and two
emails sent over the same kept SMTP connections to the same mail server. It has no outbox, no
timeline, no templates and no routing: what remains between the two is Kringloop's own work."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, insert, select, update
from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client
    from temporalio.worker import Worker

    from kringloop.mail.delivery import Recipient, build_message, deliver, message_id_for
    from kringloop.mail.identity import sender_of
    from kringloop.mail.rendering import Email
    from kringloop.settings import Settings

BARE_QUEUE = "kringloop-bench-bare"
# The same timeouts as Kringloop's database steps and working-time check; no retries needed.
STEP = {"start_to_close_timeout": timedelta(seconds=30)}
LOCAL_STEP = {"start_to_close_timeout": timedelta(seconds=10)}
# A detractor's callback within 48 hours, reminded 4 hours before: what a case sleeps on.
REMINDER_IN = timedelta(hours=44)

_TABLES = MetaData()
BARE_CASE = Table("bench_bare_case", _TABLES,
                  Column("id", String, primary_key=True), Column("status", String),
                  Column("assignee", String), Column("due_at", DateTime(timezone=True)))
BARE_TEXT = ("Dag Bench Respondent,\n\nDank je voor je antwoord. Bram de Groot belt je uiterlijk "
             "vrijdag 17:00 terug om te horen wat er beter kan.\n\nGroet,\nBram de Groot\n")


@dataclass(frozen=True)
class BareRun:
    """One bare pipeline; `steps` trivial activities instead when given (the engine alone)."""

    run_id: str
    steps: int | None = None


@dataclass(frozen=True)
class BareStep:
    run_id: str
    index: int = 0
    last: bool = False


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
    """The bare steps; each notes, in this process, when a run's last step ran."""

    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        _TABLES.create_all(engine)
        self.finished: dict[str, float] = {}  # run id -> wall-clock time of its last step
        self.acknowledged: dict[str, float] = {}  # run id -> when its first email was sent
        self.lateness: dict[str, float] = {}  # run id -> seconds its timer fired late
        self.progress = asyncio.Event()

    def _done(self, run_id: str) -> None:
        self.finished[run_id] = time.time()
        self.progress.set()

    @activity.defn
    async def bare_step(self, step: BareStep) -> None:
        if step.last:
            self._done(step.run_id)

    @activity.defn
    async def bare_open(self, step: BareStep) -> None:
        await asyncio.to_thread(self._write, insert(BARE_CASE).values(
            id=step.run_id, status="open", assignee=None, due_at=None))

    @activity.defn
    async def bare_plan(self, step: BareStep) -> str:
        def read() -> str:
            with self.engine.begin() as connection:
                return str(connection.execute(select(BARE_CASE.c.status).where(
                    BARE_CASE.c.id == step.run_id)).scalar_one())

        return await asyncio.to_thread(read)

    @activity.defn
    async def bare_assign(self, step: BareStep) -> None:
        await asyncio.to_thread(self._write, update(BARE_CASE).where(
            BARE_CASE.c.id == step.run_id).values(status="assigned",
                                                 assignee="bram@fietsenwinkel.example"))

    @activity.defn
    async def bare_schedule(self, step: BareStep) -> None:
        await asyncio.to_thread(self._write, update(BARE_CASE).where(
            BARE_CASE.c.id == step.run_id).values(
                due_at=datetime.now(UTC) + timedelta(hours=48)))

    @activity.defn
    async def bare_working_moment(self, step: BareStep) -> datetime:
        return datetime.now(UTC)

    @activity.defn
    async def bare_mail(self, step: BareStep) -> None:
        sender = sender_of(self.settings)
        key = f"{step.run_id}:{step.index}"
        email = Email(subject="Je antwoord: we bellen je terug", text=BARE_TEXT,
                      html=f"<p>{BARE_TEXT}</p>")
        message = build_message(email, kind="bare", sender=sender,
                                to=Recipient("Bench Respondent", f"{step.run_id}@bench.example",
                                             "nl"),
                                message_id=message_id_for(key, sender.address))
        await deliver(message, self.settings)
        if step.last:
            self._done(step.run_id)
        else:
            self.acknowledged[step.run_id] = time.time()

    def _write(self, statement: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(statement)  # type: ignore[call-overload]

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
    def __init__(self) -> None:
        self.released = False

    @workflow.run
    async def run(self, run: BareRun) -> None:
        if run.steps is not None:
            for index in range(run.steps):
                await workflow.execute_activity_method(
                    BareActivities.bare_step,
                    BareStep(run.run_id, index=index, last=index == run.steps - 1), **STEP)
            return
        step = BareStep(run.run_id)
        await workflow.execute_activity_method(BareActivities.bare_open, step, **STEP)
        await workflow.execute_activity_method(BareActivities.bare_plan, step, **STEP)
        await workflow.execute_activity_method(BareActivities.bare_assign, step, **STEP)
        await workflow.execute_activity_method(BareActivities.bare_schedule, step, **STEP)
        # As a case, from here on: hold the callback promise (the reminder's moment, then a
        # timer until it) while the emails go out.
        promise = asyncio.create_task(self._until_the_reminder(step))
        await workflow.execute_local_activity_method(BareActivities.bare_working_moment, step,
                                                     **LOCAL_STEP)
        # The acknowledgement first, then the member's assignment, as a case sends them.
        await workflow.execute_activity_method(BareActivities.bare_mail,
                                               BareStep(run.run_id, index=1), **STEP)
        await workflow.execute_activity_method(BareActivities.bare_mail,
                                               BareStep(run.run_id, index=2, last=True), **STEP)
        await promise

    async def _until_the_reminder(self, step: BareStep) -> None:
        """Asleep as an open case sleeps, until the benchmark releases it."""
        await workflow.execute_local_activity_method(BareActivities.bare_working_moment, step,
                                                     **LOCAL_STEP)
        try:
            await workflow.wait_condition(lambda: self.released, timeout=REMINDER_IN)
        except TimeoutError:
            pass

    @workflow.signal
    def release(self) -> None:
        self.released = True


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
                  activities=[activities.bare_step, activities.bare_open, activities.bare_plan,
                              activities.bare_assign, activities.bare_schedule,
                              activities.bare_working_moment, activities.bare_mail,
                              activities.bare_fired], **worker_tuning())
