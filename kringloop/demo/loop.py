"""`kringloop demo`: the embedded stack, sample respondents and a loyalty team at work on it.

Everything goes through the real front doors: responses are posted to the intake API, team members
log callbacks and resolve cases through the case API, and respondents click the score links in the
re-survey emails that land in the outbox. Time runs `time_scale` times faster than real time.
"""

from __future__ import annotations

import asyncio
import random
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from kringloop.demo.people import SEED, SampleResponse, new_score, resolution_for, sample_responses
from kringloop.demo.report import loose_ends, progress_counts, summary_table
from kringloop.runtime.stack import Running, run_stack
from kringloop.settings import Settings

HOUR = 3600.0
SCORE_LINK = re.compile(r"^(\d{1,2}): (\S+/r/\S+)$", re.MULTILINE)
CaseView = dict[str, Any]


class DemoError(Exception):
    """Something a team member or respondent tried that the system did not accept."""


def _has(kind: str, detail_start: str = "") -> Callable[[CaseView], bool]:
    def check(case: CaseView) -> bool:
        return any(e["kind"] == kind and e["detail"].startswith(detail_start)
                   for e in case["timeline"])
    return check


class LoyaltyTeamAtWork:
    """Simulated team members working cases, and respondents answering their re-survey."""

    def __init__(self, running: Running, http: httpx.AsyncClient, progress: Progress) -> None:
        self.running = running
        self.http = http
        self.progress = progress
        self.hour = HOUR / running.settings.time_scale  # one hour of demo time, in seconds
        self.cases: dict[str, SampleResponse] = {}
        self.kept_as: dict[str, str] = {}  # posted response id -> the id it is kept under
        self.casework: list[asyncio.Task[None]] = []
        self.answers: list[asyncio.Task[None]] = []

    async def pause(self, rng: random.Random, low_hours: float, high_hours: float) -> None:
        await asyncio.sleep(rng.uniform(low_hours, high_hours) * self.hour)

    # Respondents ---------------------------------------------------------------------------

    async def post_all(self, samples: list[SampleResponse], task: TaskID) -> None:
        """Survey answers arrive; each low score's case is picked up as soon as it opens."""
        gate = asyncio.Semaphore(8)

        async def post(sample: SampleResponse) -> None:
            async with gate:
                answer = await self.http.post("/api/responses", json=sample.body)
                while answer.status_code == 429:  # as a well-behaved survey tool does
                    await asyncio.sleep(float(answer.headers.get("retry-after", 1)))
                    answer = await self.http.post("/api/responses", json=sample.body)
            if answer.status_code not in (200, 201):
                raise DemoError(f"{sample.response_id} refused: {answer.status_code} "
                                f"{answer.text}")
            # The id it is kept under: an anonymous employee's is a hash of the posted one.
            self.kept_as[sample.response_id] = answer.json()["response_id"]
            case_id = answer.json()["case_id"]
            if case_id:
                self.cases[case_id] = sample
                self.casework.append(asyncio.create_task(self.work(case_id, sample)))
            self.progress.advance(task)

        await asyncio.gather(*(post(sample) for sample in samples))

    async def answer_resurveys(self, outbox: Path, task: TaskID) -> None:
        """Read each re-survey email in the outbox and click one score link, like a person."""
        by_email = {sample.email: sample for sample in self.cases.values() if sample.email}
        seen: set[Path] = set()
        while True:
            self._read_outbox(outbox, seen, by_email, task)
            await asyncio.sleep(0.2)

    def _read_outbox(self, outbox: Path, seen: set[Path], by_email: dict[str, SampleResponse],
                     task: TaskID) -> None:
        for path in sorted(outbox.glob("*.eml")):
            if path not in seen and self._read(path, by_email, task):
                seen.add(path)

    def _read(self, path: Path, by_email: dict[str, SampleResponse], task: TaskID) -> bool:
        """False when the file is still being written."""
        message = message_from_bytes(path.read_bytes(), policy=default_policy)
        if message["X-Kringloop-Kind"] is None:
            return False
        if message["X-Kringloop-Kind"] != "resurvey":
            return True
        part = message.get_body(("plain",))
        text = str(part.get_content()).replace("\r\n", "\n") if part else ""  # type: ignore[attr-defined]
        links = dict(SCORE_LINK.findall(text))
        if len(links) < 11:
            return False
        sample = by_email.get(message["To"].addresses[0].addr_spec)
        if sample is not None:
            rng = random.Random(f"{SEED}:answer:{sample.response_id}")
            self.answers.append(asyncio.create_task(
                self._click(links[str(new_score(sample, rng))], rng, task)))
        return True

    async def _click(self, link: str, rng: random.Random, task: TaskID) -> None:
        await self.pause(rng, 1, 12)
        answer = await self.http.post(link)  # the page's button: the link's own score
        if answer.status_code != 200:
            raise DemoError(f"score link refused: {answer.status_code}")
        self.progress.advance(task)

    # Team members --------------------------------------------------------------------------

    async def work(self, case_id: str, sample: SampleResponse) -> None:
        """One team member's handling of one case, in the sample's habit, timed by its own seed."""
        rng = random.Random(f"{SEED}:{case_id}")
        case = await self._until(case_id, lambda c: c["callback_due_at"] is not None, timeout=30)
        due = datetime.fromisoformat(case["callback_due_at"])
        until_due = (due - datetime.now(UTC)).total_seconds()
        soon = (0.1 * until_due, 0.5 * until_due)
        if not case["respondent"]["email"]:
            await asyncio.sleep(rng.uniform(*soon))
            await self._act(case_id, "notes", {"text": "Answered through the anonymous reply "
                                               "link; the colleague stays anonymous."})
        elif sample.habit == "late":
            # Left too long: the lead hears of it, then a colleague takes the case over.
            # The grace period counts working hours: over a weekend it takes days.
            await self._until(case_id, _has("reassigned"),
                              timeout=until_due + 5 * 24 * self.hour + 30)
            await self._call(case_id, "reached", "Apologised for the wait and talked it through.")
        elif sample.habit == "unreachable":
            # Never picks up: after three tries the respondent gets the we-tried-to-reach-you email.
            for _ in range(3):
                await asyncio.sleep(rng.uniform(*soon) / 3)
                await self._call(case_id, "no_answer", "Voicemail.")
            await self._until(case_id, _has("email_sent", "unreachable"), timeout=30)
            await self.pause(rng, 1, 6)  # the respondent replied with a good time to call
            await self._call(case_id, "reached", "Called at the time they suggested.")
        else:
            if sample.habit == "retry":
                await asyncio.sleep(rng.uniform(*soon) / 2)
                await self._call(case_id, "no_answer", "No answer, tried again later.")
            await asyncio.sleep(rng.uniform(*soon) / 2)
            await self._call(case_id, "reached", "Listened to the whole story.")
        if rng.random() < 0.3:
            await self._act(case_id, "notes", {"text": "Checked with the shop; follow-up agreed."})
        await self.pause(rng, 0.5, 4)
        root_causes = self.running.org.programs[sample.body["program"]].root_causes
        await self._act(case_id, "resolve", resolution_for(sample, root_causes, rng))
        if case["respondent"]["email"]:
            await self._after_a_low_resurvey(case_id, sample, rng)

    async def _after_a_low_resurvey(self, case_id: str, sample: SampleResponse,
                                    rng: random.Random) -> None:
        """A re-survey still low reopens the case to the lead, who calls once more and
        resolves it again; the second low score only closes it."""
        policy = self.running.org.programs[sample.body["program"]]
        wait = (policy.resurvey_after_days + policy.resurvey_wait_days) * 24 * self.hour + 30
        case = await self._until(case_id, lambda c: c["status"] == "closed"
                                 or _has("reopened")(c), timeout=wait)
        if case["status"] == "closed":
            return
        await self.pause(rng, 1, 8)
        await self._call(case_id, "reached", "Called again after the low new score.")
        await self._act(case_id, "resolve", resolution_for(sample, policy.root_causes, rng))

    async def _call(self, case_id: str, outcome: str, note: str) -> None:
        await self._act(case_id, "callback-attempts", {"outcome": outcome, "note": note})

    async def _act(self, case_id: str, action: str, body: dict[str, str]) -> None:
        for _ in range(100):
            answer = await self.http.post(f"/api/cases/{case_id}/{action}", json=body)
            if answer.status_code == 200:
                return
            if answer.status_code != 409 or "being opened" not in answer.text:
                raise DemoError(f"{action} on {case_id} refused: {answer.status_code} "
                                f"{answer.text}")
            await asyncio.sleep(0.1)
        raise DemoError(f"{case_id} was never ready for {action}")

    async def _until(self, case_id: str, ready: Callable[[CaseView], bool], *,
                     timeout: float) -> CaseView:
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.http.get(f"/api/cases/{case_id}")
            if answer.status_code == 200 and ready(answer.json()):
                return answer.json()  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise DemoError(f"{case_id} did not get there in {timeout:.0f} s")
            await asyncio.sleep(0.25)


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                    console=console)


def _show_cases(running: Running, progress: Progress, resolved: TaskID, closed: TaskID) -> int:
    """Show the cases resolved and closed so far; returns how many are closed."""
    opened, done, finished = progress_counts(running.engine)
    progress.update(resolved, total=opened, completed=done)
    progress.update(closed, total=opened, completed=finished)
    return finished


async def _follow_cases(running: Running, progress: Progress, resolved: TaskID,
                        closed: TaskID) -> None:
    while True:
        _show_cases(running, progress, resolved, closed)
        await asyncio.sleep(0.5)


async def _run_demo(running: Running, samples: list[SampleResponse], console: Console) -> int:
    """Post, work every case, answer the re-surveys, wait for every case to close; report."""
    started = time.monotonic()
    scale = running.settings.time_scale
    console.print(f"web app {running.web_url}   Temporal UI {running.temporal_ui_url}\n"
                  f"time runs {scale:g}× faster: a week takes {7 * 24 * HOUR / scale:.0f} s")
    auth = {"Authorization": f"Bearer {running.settings.api_admin_token}"}
    assert running.outbox is not None, "the demo always runs the embedded SMTP sink"
    watchers: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(base_url=running.web_url or "", headers=auth,
                                 timeout=60) as http:
        with _progress(console) as progress:
            posted = progress.add_task("responses posted", total=len(samples))
            resolved = progress.add_task("cases resolved", total=None)
            closed = progress.add_task("cases closed", total=None)
            answered = progress.add_task("re-surveys answered", total=None)
            team = LoyaltyTeamAtWork(running, http, progress)
            watchers.append(asyncio.create_task(
                _follow_cases(running, progress, resolved, closed)))
            problems: list[str] = []
            try:
                await team.post_all(samples, posted)
                progress.update(answered, total=sum(bool(s.email) for s in team.cases.values()))
                watchers.append(asyncio.create_task(
                    team.answer_resurveys(running.outbox, answered)))
                outcomes = await asyncio.gather(*team.casework, return_exceptions=True)
                problems += [str(o) for o in outcomes if isinstance(o, BaseException)]
                longest_wait = max(p.resurvey_after_days for p in running.org.programs.values())
                deadline = time.monotonic() + (longest_wait * 24 + 12) * HOUR / scale + 30
                while progress_counts(running.engine)[2] < len(team.cases):
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.25)
                outcomes = await asyncio.gather(*team.answers, return_exceptions=True)
                problems += [str(o) for o in outcomes if isinstance(o, BaseException)]
            finally:
                unfinished = [*watchers, *team.casework, *team.answers]
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)
            _show_cases(running, progress, resolved, closed)
    problems += loose_ends(running.engine, running.org,
                           [team.kept_as.get(s.response_id, s.response_id) for s in samples])
    console.print(summary_table(running.engine, running.org, posted=len(samples),
                                seconds=time.monotonic() - started))
    for problem in problems:
        console.print(f"[red]stuck:[/] {problem}", highlight=False)
    return 1 if problems else 0


async def run_demo(settings: Settings, *, responses: int, console: Console) -> int:
    """Run the demo in a fresh temporary home; 0 when every low score's loop was closed."""
    with tempfile.TemporaryDirectory(prefix="kringloop-demo-") as folder:
        home = Path(folder)
        demo = settings.model_copy(update={
            "home": home, "database_url": f"sqlite:///{home / 'demo.db'}", "web_port": 0,
            # Always the embedded services: the demo reads the outbox folder and its own links.
            "temporal_address": None, "temporal_storage": "memory", "smtp_host": None,
            "public_url": None})
        stop = asyncio.Event()
        driving: list[asyncio.Task[int]] = []
        watching: list[asyncio.Task[bool]] = []

        def on_ready(running: Running) -> None:
            samples = sample_responses(running.org, responses)
            task = asyncio.create_task(_run_demo(running, samples, console))
            task.add_done_callback(lambda _: stop.set())
            driving.append(task)
            # Ctrl-C: the team and respondents stop first, so every part can stop cleanly.
            stopping = asyncio.create_task(stop.wait())
            stopping.add_done_callback(lambda _: task.cancel())
            watching.append(stopping)

        console.print(f"[bold]Kringloop demo[/]: starting the embedded stack for {responses} "
                      "sample responses…")
        try:
            await run_stack(demo, on_ready=on_ready, stop=stop)
        finally:
            for task in driving:
                task.cancel()  # only still running if the stack stopped early (Ctrl-C, a failure)
            outcomes = await asyncio.gather(*driving, return_exceptions=True)
    if not outcomes or isinstance(outcomes[0], asyncio.CancelledError):
        console.print("[red]The demo was stopped before it finished.[/]")
        return 1
    if isinstance(outcomes[0], BaseException):
        console.print(f"[red]The demo failed:[/] {outcomes[0]!r}", highlight=False)
        return 1
    return outcomes[0]
