"""The import figures: `kringloop import` of a big survey export (written here, a line at a
time), its lines per second against reading and validating the same file with nothing stored,
and the import process's memory as it goes through the file."""

from __future__ import annotations

import asyncio
import csv
import random
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
from sqlalchemy import func
from sqlmodel import select

from bench.child_process import cpu_seconds, temporal_server
from bench.embedded import Bench, embedded_stack
from bench.figures import Figure
from kringloop.database import session_for
from kringloop.intake.csv_import import COLUMNS, read_lines
from kringloop.responses.models import SurveyResponse
from kringloop.settings import Settings

SAMPLE_EVERY_S = 0.2
COUNT_EVERY = 5
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MB = 1024 * 1024
# The score mix of a healthy program: 15 % detractors (0-6), 30 % passives, 55 % promoters.
SCORE_WEIGHTS = (1, 1, 1.5, 2, 2.5, 3, 4, 12, 18, 27, 28)
DETRACTOR_SHARE = sum(SCORE_WEIGHTS[:7]) / sum(SCORE_WEIGHTS)
PROGRAMS = (("customer", 0.75), ("employee", 0.15), ("candidate", 0.10))
NAMES = ("Anna de Vries", "Bram Smit", "Zoë de Wit", "Noël Janssen", "Chloë Bakker",
         "Inge Kühn", "Anaïs Mulder", "Sem van der Berg", "Fatma Yılmaz", "Joël Peeters",
         "Lotte Visser", "Daan Hendriks", "Priya Nair", "Tom Hargreaves")
DEPARTMENTS = ("winkel", "werkplaats", "klantenservice", "magazijn")
# What people write, worst first; a few quoted with commas, a line break, a euro sign.
COMMENTS_NL = {
    "detractor": ("Fiets kwam twee weken te laat, niemand belde terug.",
                  "Reparatie duurde één week langer dan beloofd en kostte toch € 45.",
                  "De accu van mijn e-bike was na twee maanden kapot – erg teleurgesteld.",
                  'De "gratis" afstelling bleek € 15 te kosten.\nNooit meer.',
                  "Geïnteresseerd in een lease, maar na drie mails nog steeds geen reactie.",
                  "Te veel weekenddiensten, en het rooster komt altijd op het laatste moment."),
    "passive": ("Prima, maar de levertijd mag korter.",
                "Vriendelijk geholpen; de prijs van € 1.299 vond ik wel aan de hoge kant.",
                "Goed, al moest ik lang wachten bij het ophalen."),
    "promoter": ("Top service! Fiets loopt weer als een zonnetje.",
                 "Heel tevreden, ook over de uitleg bij de overdracht 🚲",
                 "Snel geholpen in de werkplaats, financiële afhandeling was keurig.",
                 "Fijne collega's en een goede sfeer in het team."),
}
COMMENTS_EN = {
    "detractor": ("The bike arrived two weeks late and nobody called back.",),
    "passive": ("Fine, but delivery could be faster.",),
    "promoter": ("Great service, the bike rides like new!",),
}


@dataclass(frozen=True)
class Export:
    path: Path
    lines: int
    detractors: int  # lines with a score of 6 or less: each opens a case
    size_mb: float


def _category(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def write_export(path: Path, *, lines: int, seed: int = 2026) -> Export:
    """A survey tool's export of `lines` answers, written a line at a time (nothing held):
    three programs, an NPS score mix, Dutch and English comments, a few over two lines."""
    chance = random.Random(seed)
    programs, weights = zip(*PROGRAMS, strict=True)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    detractors = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for n in range(lines):
            program = chance.choices(programs, weights)[0]
            score = chance.choices(range(11), SCORE_WEIGHTS)[0]
            detractors += score <= 6
            english = chance.random() < 0.15
            comments = (COMMENTS_EN if english else COMMENTS_NL)[_category(score)]
            comment = (chance.choice(comments)
                       if chance.random() < (0.7 if score <= 6 else 0.35) else "")
            moment = start + timedelta(seconds=chance.randrange(90 * 86_400))
            answered_at = (moment.astimezone(AMSTERDAM).isoformat(timespec="seconds")
                           if chance.random() < 0.9 else "")
            if program == "employee":  # eNPS: no name, no address, the department only
                respondent = [f"mdw-{n % 4_000:04d}", "", "", "",
                              "en" if english else "nl", chance.choice(DEPARTMENTS)]
            else:
                name = chance.choice(NAMES)
                segment = "" if program == "candidate" else chance.choices(
                    ("", "zakelijk", "lease"), (85, 10, 5))[0]
                phone = f"+31 6 {chance.randrange(10**8):08d}" if chance.random() < 0.3 else ""
                who = "klant" if program == "customer" else "sollicitant"
                respondent = [f"{who}-{n:07d}", name, f"{who}-{n:07d}@post.example", phone,
                              "en" if english else "nl", segment]
            writer.writerow([f"exp-{n:07d}", program, score, comment, *respondent, answered_at])
    return Export(path, lines, detractors, path.stat().st_size / MB)


def _read_and_validate(path: Path) -> int:
    """What the import does to the file before it stores anything: both passes."""
    return sum(line.response is not None for line in read_lines(path))


def _stored(bench: Bench) -> int:
    with session_for(bench.running.engine) as session:
        return session.exec(select(func.count()).select_from(SurveyResponse)).one()


@dataclass(frozen=True)
class Sample:
    seconds: float
    stored: int  # lines stored so far
    rss_mb: float
    cpu_s: float  # the import process's CPU time so far


async def _watch(bench: Bench, importing: subprocess.Popen[bytes]) -> list[Sample]:
    """The import's RSS every SAMPLE_EVERY_S until it ends, with the lines stored so far
    (counted every COUNT_EVERY samples: a count of a big table is not free)."""
    process = psutil.Process(importing.pid)
    begin = time.monotonic()
    samples: list[Sample] = []
    stored = 0
    while importing.poll() is None:
        try:
            rss, cpu = process.memory_info().rss / MB, cpu_seconds(process)
        except psutil.NoSuchProcess:
            break
        if len(samples) % COUNT_EVERY == 0:
            stored = await asyncio.to_thread(_stored, bench)
        samples.append(Sample(time.monotonic() - begin, stored, rss, cpu))
        await asyncio.sleep(SAMPLE_EVERY_S)
    return samples


async def _cases_started(bench: Bench, expected: int) -> int:
    """Case workflows started on the dev server (its visibility catches up in moments)."""
    count = 0
    for _ in range(30):
        count = (await bench.running.client.count_workflows(
            'WorkflowType = "CaseWorkflow"')).count
        if count >= expected:
            break
        await asyncio.sleep(1)
    return count


@dataclass(frozen=True)
class Run:
    """One `kringloop import` of the export, watched from outside."""

    seconds: float  # from starting the command to its exit
    samples: list[Sample]
    server_cpu_s: float  # what the Temporal dev server spent meanwhile


async def _import(bench: Bench, export: Export) -> Run:
    log = bench.home / "import.log"
    server = temporal_server()  # its CPU: what a case workflow's start costs
    server_before = cpu_seconds(server) if server else 0.0
    begin = time.perf_counter()
    importing = bench.command("import", str(export.path), log=log)
    try:
        samples = await _watch(bench, importing)
        code = importing.wait()
    finally:
        if importing.poll() is None:
            importing.kill()
            importing.wait()
    seconds = time.perf_counter() - begin
    if code != 0:
        raise RuntimeError(f"kringloop import exited with {code}: "
                           + log.read_text(errors="replace")[-2_000:])
    return Run(seconds, samples, cpu_seconds(server) - server_before if server else 0.0)


async def survey_import(settings: Settings, *, lines: int) -> list[Figure]:
    """Import an export of `lines` answers into an empty stack with no worker: the import is
    done when every line is stored and every detractor's case workflow started."""
    async with embedded_stack(settings, worker=False) as bench:
        export = await asyncio.to_thread(write_export, bench.home / "export.csv", lines=lines)
        begin = time.perf_counter()
        await asyncio.to_thread(_read_and_validate, export.path)
        reading = lines / (time.perf_counter() - begin)
        run = await _import(bench, export)
        stored = await asyncio.to_thread(_stored, bench)
        cases = await _cases_started(bench, export.detractors)
    if stored != lines or cases != export.detractors:
        raise RuntimeError(f"{stored:,} of {lines:,} lines stored, {cases:,} of "
                           f"{export.detractors:,} cases started")
    return _figures(export, run, reading=reading, cases=cases)


def _figures(export: Export, run: Run, *, reading: float, cases: int) -> list[Figure]:
    lines, samples = export.lines, run.samples
    per_second = lines / run.seconds
    peak = max(s.rss_mb for s in samples)
    quarters = {share: next((s.rss_mb for s in samples if s.stored >= share * lines),
                            samples[-1].rss_mb) for share in (0.25, 0.5, 0.75)}
    first = next((s for s in samples if s.stored), samples[-1])
    per_case = f" ({run.server_cpu_s / cases * 1000:.1f} ms a case started)" if cases else ""
    counts = {
        "export": f"{lines:,} lines ({export.size_mb:.0f} MB; three programs, "
                  f"{export.detractors / lines:.0%} detractors)",
        "counted": "from starting `kringloop import` to its exit: every line stored and every "
                   "detractor's case workflow started (no worker runs: what the cases do next "
                   "is the pipeline figures')",
        "cases opened": f"{cases:,} case workflows started; the import took {run.seconds:.1f} s",
        "first line stored": f"after {first.seconds:.1f} s (start-up and the first pass), "
                             f"the import's RSS then {first.rss_mb:.0f} MB",
        "CPU": f"the import {samples[-1].cpu_s:.0f} s, the Temporal dev server "
               f"{run.server_cpu_s:.0f} s{per_case}",
    }
    marks = ", ".join(f"{share:.0%}: {mb:.0f} MB" for share, mb in quarters.items())
    return [
        Figure("import_lines_per_s", per_second, ">= 2000", unit="lines/s",
               baseline=f"reading and validating the same file (both passes), nothing stored: "
                        f"{reading:,.0f} lines/s; the export's score mix has "
                        f"{DETRACTOR_SHARE:.0%} detractors",
               versus=f"reading alone {reading:,.0f} lines/s ({per_second / reading:.0%})",
               details=counts),
        Figure("import_rss_mb", peak, "<= 200", unit="MB",
               baseline=f"the import process's peak RSS, sampled every {SAMPLE_EVERY_S:g} s; "
                        "flat: the same at a quarter of the file as at three quarters",
               versus=f"by share of the file {marks}",
               details={**counts, "RSS by share of the file": marks,
                        "lines/s": f"{per_second:,.0f}"}),
    ]
