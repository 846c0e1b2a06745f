"""restart_recovery_s: `kringloop up` on its on-disk Temporal with many open cases, stopped with
Ctrl-C and started again on the same home, as a user does: seconds until every case answers a
team action again, against the same action on the warm stack just before the stop."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from sqlalchemy import Engine, func
from sqlmodel import col, select

from bench import org_file
from bench.child_process import children_apart, cpu_seconds
from bench.figures import Figure
from bench.traffic import gated, post_detractor
from kringloop.cases.messages import case_id_for
from kringloop.cases.models import Case
from kringloop.database import make_engine, session_for
from kringloop.mail.models import OutboxMessage
from kringloop.network import free_port
from kringloop.runtime.stack import bundled_binary
from kringloop.settings import Settings
from worker import worker_tuning

PREFIX = "bench-restart-"
READY_LINE = "Kringloop is running"  # what `kringloop up` prints once every part runs
# Requests in flight: enough to keep the worker's task slots and the web app's database
# threads busy; more only waits in their queues.
OPEN_CONCURRENCY = 32
ACT_CONCURRENCY = 32
# Cases posted but not yet through the pipeline: well below the worker's workflow cache.
WINDOW = int(worker_tuning()["max_cached_workflows"]) * 3 // 5
READY_WITHIN_S = 180.0
STOP_WITHIN_S = 120.0
RETRY_AFTER_S = 0.25
MB = 1024 * 1024


@dataclass
class Up:
    """One `kringloop up` process and when it was started (time.monotonic())."""

    process: subprocess.Popen[bytes]
    started: float
    log: Path


@dataclass
class Answers:
    """How the cases answered one round of actions, in seconds from `begin`."""

    seconds: list[float] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)  # retried: why, how often

    @property
    def last(self) -> float | None:
        return max(self.seconds) if self.seconds else None

    def spread(self) -> str:
        """When the first, half and last answered: a slow start differs from a slow pace."""
        if not self.seconds:
            return "none answered"
        ordered = sorted(self.seconds)
        return (f"first at {ordered[0]:.1f} s, half at {ordered[len(ordered) // 2]:.1f} s, "
                f"all at {ordered[-1]:.1f} s")


def _environment(settings: Settings, home: Path, *, web_port: int, token: str
                 ) -> dict[str, str]:
    """A user's `kringloop up` in `home`: everything embedded, Temporal on disk, teams working
    round the clock (nothing waits for the morning). No KRINGLOOP_ setting of the bench's own
    environment leaks in: it could point the stack at another Temporal or database."""
    org = org_file.write(org_file.round_the_clock(org_file.read(settings.org_file)),
                         home / "org-round-the-clock.toml")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("KRINGLOOP_")}
    return inherited | {
        "KRINGLOOP_HOME": str(home / "home"),
        "KRINGLOOP_ORG_FILE": str(org),
        "KRINGLOOP_TEMPORAL_STORAGE": "disk",
        # The same web port on both starts, as a user's bookmark; the rest picks free ones.
        "KRINGLOOP_WEB_PORT": str(web_port),
        "KRINGLOOP_INBOUND_PORT": "0",
        "KRINGLOOP_ADMIN_TOKEN": token,
        "KRINGLOOP_TIME_SCALE": str(settings.time_scale),
        # The benchmark measures recovery, not the flood guard in front of intake.
        "KRINGLOOP_RATE_LIMIT_INTAKE": "1000000/second",
        "KRINGLOOP_LOG_FORMAT": "text",
        "PYTHONUNBUFFERED": "1",  # the ready line reaches the log file when printed
    }


def _start(environment: dict[str, str], log: Path) -> Up:
    """`kringloop up` in a session of its own, so Ctrl-C can go to it and its Temporal server
    together as a terminal sends it, and not to the benchmark."""
    with log.open("wb") as out:
        process = subprocess.Popen([bundled_binary("kringloop"), "up"], env=environment,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    return Up(process=process, started=time.monotonic(), log=log)


async def _until_ready(up: Up) -> float:
    """Seconds from the start until `kringloop up` printed that it runs."""
    while time.monotonic() - up.started < READY_WITHIN_S:
        if READY_LINE in up.log.read_text(errors="replace"):
            return time.monotonic() - up.started
        if up.process.poll() is not None:
            break
        await asyncio.sleep(0.05)
    raise RuntimeError(f"`kringloop up` did not get ready: {_tail(up.log)}")


async def _ctrl_c(up: Up) -> float:
    """Ctrl-C, as a terminal sends it (to the process group); seconds until it exited."""
    begin = time.monotonic()
    if up.process.poll() is None:
        os.killpg(up.process.pid, signal.SIGINT)
    while up.process.poll() is None:
        if time.monotonic() - begin > STOP_WITHIN_S:
            os.killpg(up.process.pid, signal.SIGKILL)
            raise RuntimeError(f"`kringloop up` did not stop within {STOP_WITHIN_S:.0f} s")
        await asyncio.sleep(0.1)
    if up.process.returncode != 0:
        raise RuntimeError(f"`kringloop up` stopped with {up.process.returncode}: "
                           f"{_tail(up.log)}")
    return time.monotonic() - begin


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no output)"


@dataclass(frozen=True)
class Usage:
    """Memory and CPU of the worker's process (with any Python children) and the Temporal
    dev server it started, apart."""

    worker_mb: float
    temporal_mb: float
    worker_cpu_s: float
    temporal_cpu_s: float


def _usage(up: Up) -> Usage:
    root = psutil.Process(up.process.pid)
    temporal, others = children_apart(root)
    worker = [root, *(p for p in others if p.name().startswith("python"))]

    def cpu(processes: list[psutil.Process]) -> float:
        return sum(cpu_seconds(p) for p in processes)

    return Usage(worker_mb=sum(p.memory_info().rss for p in worker) / MB,
                 temporal_mb=sum(p.memory_info().rss for p in temporal) / MB,
                 worker_cpu_s=cpu(worker), temporal_cpu_s=cpu(temporal))


def _settled(engine: Engine) -> int:
    """Cases assigned and acknowledged: the pipeline is done with them, and each one sleeps
    on its callback timer (the acknowledgement is the last email it sends)."""
    prefix = f"case-{PREFIX}"
    with session_for(engine) as session:
        assigned = session.exec(select(func.count()).select_from(Case).where(
            col(Case.id).startswith(prefix), col(Case.assignee_email).is_not(None))).one()
        acknowledged = session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "acknowledgement", OutboxMessage.status == "sent",
            col(OutboxMessage.key).startswith(prefix))).one()
    return min(assigned, acknowledged)


async def _open_cases(http: httpx.AsyncClient, engine: Engine, response_ids: list[str], *,
                      within_s: float) -> None:
    """Post every detractor and wait until each case is assigned and acknowledged, with at
    most WINDOW cases in the pipeline at once: a flood of 10,000 overflows the worker's
    workflow cache, and a case evicted between two steps is replayed for the next one
    (1,000 cases: 376 s flooded, 130 s with 300 in the pipeline)."""
    deadline = time.monotonic() + within_s
    posted = 0
    while (settled := await asyncio.to_thread(_settled, engine)) < len(response_ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {settled:,} of {len(response_ids):,} cases were assigned "
                               f"and acknowledged within {within_s:.0f} s")
        allowed = min(len(response_ids), settled + WINDOW)
        if allowed > posted:
            batch = response_ids[posted:allowed]
            await gated(len(batch), lambda i, batch=batch: post_detractor(http, batch[i]),
                        concurrency=OPEN_CONCURRENCY)
            posted = allowed
        else:
            await asyncio.sleep(0.5)


async def _note_every_case(base_url: str, token: str, case_ids: list[str], *, begin: float,
                           within_s: float, text: str) -> Answers:
    """A note on every case (a Temporal update: the case's workflow must run to answer),
    retried until it is taken while the stack is still coming up."""
    answers = Answers()
    deadline = begin + within_s

    async def note(http: httpx.AsyncClient, case_id: str) -> float:
        while time.monotonic() < deadline:
            try:
                answer = await http.post(f"/api/cases/{case_id}/notes", json={"text": text})
            except httpx.TransportError as error:
                answers.refusals[type(error).__name__] += 1
            else:
                if answer.status_code == 200:
                    answers.seconds.append(time.monotonic() - begin)
                    return 0.0
                # A 409 can also be Temporal not answering in time (take_action reads any
                # RPC error as a closed case): retried, and counted to be seen.
                answers.refusals[f"HTTP {answer.status_code}"] += 1
            await asyncio.sleep(RETRY_AFTER_S)
        return 0.0

    async with _api(base_url, token, ACT_CONCURRENCY) as http:
        await gated(len(case_ids), lambda i: note(http, case_ids[i]), concurrency=ACT_CONCURRENCY)
    return answers


def _api(base_url: str, token: str, concurrency: int) -> httpx.AsyncClient:
    """The admin's API client; idle connections expire before uvicorn's keep-alive ends."""
    return httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120,
        limits=httpx.Limits(max_connections=concurrency, keepalive_expiry=2.0))


@dataclass(frozen=True)
class Round:
    """One note on every case, and what the processes used meanwhile."""

    answers: Answers
    before: Usage
    after: Usage

    def cpu_per_action(self) -> str:
        done = len(self.answers.seconds) or 1
        worker = (self.after.worker_cpu_s - self.before.worker_cpu_s) / done * 1000
        temporal = (self.after.temporal_cpu_s - self.before.temporal_cpu_s) / done * 1000
        return f"kringloop up {worker:.0f} ms + Temporal {temporal:.0f} ms"


async def restart_recovery(settings: Settings, *, cases: int) -> Figure:
    token = secrets.token_urlsafe(24)
    response_ids = [f"{PREFIX}{i:05d}" for i in range(cases)]
    case_ids = [case_id_for(response_id) for response_id in response_ids]
    answer_within_s = max(300.0, cases / 4)  # 4 actions/s at least
    with tempfile.TemporaryDirectory(prefix="kringloop-restart-") as folder:
        environment = _environment(settings, Path(folder), web_port=free_port(), token=token)
        home = Path(environment["KRINGLOOP_HOME"])
        base_url = f"http://127.0.0.1:{environment['KRINGLOOP_WEB_PORT']}"
        up = _start(environment, Path(folder) / "up-first.log")
        engine: Engine | None = None
        cold_task: asyncio.Task[Answers] | None = None
        try:
            await _until_ready(up)
            engine = make_engine(f"sqlite:///{home / 'kringloop.db'}")
            begin = time.monotonic()
            async with _api(base_url, token, OPEN_CONCURRENCY) as http:
                await _open_cases(http, engine, response_ids, within_s=120 + cases / 2)
            opened_s = time.monotonic() - begin
            before = _usage(up)
            warm = Round(await _note_every_case(
                base_url, token, case_ids, begin=time.monotonic(), within_s=answer_within_s,
                text="Voor de herstart."), before, _usage(up))
            stop_s = await _ctrl_c(up)

            up = _start(environment, Path(folder) / "up-second.log")
            # Sent from the start on, as members who keep working through the restart.
            cold_task = asyncio.create_task(_note_every_case(
                base_url, token, case_ids, begin=up.started, within_s=answer_within_s,
                text="Na de herstart."))
            ready_s = await _until_ready(up)
            at_ready, load = _usage(up), os.getloadavg()[0]
            cold = Round(await cold_task, at_ready, _usage(up))
            await _ctrl_c(up)
        finally:
            if cold_task is not None and not cold_task.done():
                cold_task.cancel()
            if up.process.poll() is None:
                os.killpg(up.process.pid, signal.SIGKILL)
            if engine is not None:
                engine.dispose()
    return _figure(cases=cases, cold=cold, warm=warm, ready_s=ready_s, opened_s=opened_s,
                   stop_s=stop_s, load=load)


def _figure(*, cases: int, cold: Round, warm: Round, ready_s: float, opened_s: float,
            stop_s: float, load: float) -> Figure:
    usage, answered, warm_last = cold.after, cold.answers.seconds, warm.answers.last
    rss_verdict = "met" if usage.worker_mb <= 300 else "NOT met"
    warm_s = f"{warm_last:.1f} s" if warm_last is not None else "n/a"
    details = {
        "cases": f"{cases:,} open cases, each asleep on its callback timer",
        "ready": f"{ready_s:.1f} s from the start until `kringloop up` printed its URLs",
        "answered": f"{len(answered):,} of {cases:,} cases took a note after the restart: "
                    f"{cold.answers.spread()} (warm: {warm.answers.spread()})",
        "worker RSS after": f"{usage.worker_mb:.0f} MB (goal ≤ 300 MB: {rss_verdict}); "
                            f"before the stop {warm.after.worker_mb:.0f} MB",
        "Temporal server RSS after": f"{usage.temporal_mb:.0f} MB; before the stop "
                                     f"{warm.after.temporal_mb:.0f} MB",
        "CPU from start to all answered": f"kringloop up {usage.worker_cpu_s:.0f} s, Temporal "
                                          f"{usage.temporal_cpu_s:.0f} s (until ready: "
                                          f"{cold.before.worker_cpu_s:.0f} s, "
                                          f"{cold.before.temporal_cpu_s:.0f} s)",
        "CPU per action": f"after the restart {cold.cpu_per_action()}; "
                          f"warm {warm.cpu_per_action()}",
        "opening the cases": f"{opened_s:.0f} s until all were assigned and acknowledged "
                             f"({cases / opened_s:.1f} cases/s, at most {WINDOW} in the "
                             "pipeline at once)",
        "Ctrl-C": f"{stop_s:.1f} s until the first `kringloop up` exited",
        "machine": f"{os.cpu_count()} CPUs, load average {load:.1f} when it was ready again",
    }
    if cold.answers.last is not None and cold.answers.last > ready_s:
        details["after ready"] = (f"{len(answered) / (cold.answers.last - ready_s):.0f} "
                                  "actions/s from ready to the last answer")
    if warm_last:
        details["warm"] = f"{len(warm.answers.seconds) / warm_last:.0f} actions/s"
    for name, sent in (("retried after the restart", cold), ("retried warm", warm)):
        if sent.answers.refusals:
            details[name] = ", ".join(f"{why} × {n}"
                                      for why, n in sent.answers.refusals.most_common())
    every = len(answered) == cases
    return Figure(
        "restart_recovery_s", cold.answers.last if every else None, "<= 30", unit="s",
        baseline=f"the same note on the same {cases:,} cases just before the Ctrl-C, on the "
                 f"warm stack: {warm_s} for all",
        versus=f"warm {warm_s}; worker RSS {usage.worker_mb:.0f} MB (goal ≤ 300: {rss_verdict})",
        note="" if every else f"only {len(answered):,} of {cases:,} cases answered",
        details=details)
