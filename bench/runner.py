"""`kringloop bench`: every figure on the embedded stack, printed as `name: value (goal ...)`
lines and then a short table. Each figure is measured against a baseline in the same run."""

from __future__ import annotations

import os
import platform
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.embedded import embedded_stack
from bench.figures import Figure
from bench.pipeline import ack_latency, bare_throughput, pipeline_ratio
from bench.queue_page import queue_page_p95, queue_page_p95_postgres
from bench.rejections import rejection_mail_ratio
from bench.restart_recovery import restart_recovery
from bench.survey_import import survey_import
from bench.timers import timer_lateness
from bench.traffic import PIPELINE_STEPS
from bench.worker_memory import worker_rss
from kringloop.settings import Settings


@dataclass(frozen=True)
class Sizes:
    pipeline: int  # detractors (and bare workflows) per pair
    latency_s: float  # how long the steady arrivals last
    timers: int  # open cases whose reminders fire
    rejections: int  # applicants in the batch
    queue_cases: int  # cases bulk-loaded for the queue page
    rss_cases: int | None  # open cases for the worker's memory (None: not measured)
    restart_cases: int  # open cases when `kringloop up` is stopped and started
    import_lines: int  # lines of the survey export imported


FULL = Sizes(pipeline=500, latency_s=60, timers=1000, rejections=1000, queue_cases=1_000_000,
             rss_cases=10_000, restart_cases=10_000, import_lines=300_000)
QUICK = Sizes(pipeline=100, latency_s=15, timers=200, rejections=200, queue_cases=100_000,
              rss_cases=None, restart_cases=300, import_lines=10_000)
NAMES = ("pipeline_ratio", "pipeline_ratio_on_disk", "ack_latency_p99_s", "timer_lateness_p99_s",
         "rejection_mail_ratio", "restart_recovery_s", "import_lines_per_s", "import_rss_mb",
         "queue_page_p95_ms", "queue_page_p95_ms_postgres", "worker_rss_mb_10k_sleeping")


def machine() -> str:
    """nproc, the CPU model and the load when the run began (the machine may be shared)."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), model)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, {model}, load average {load:.2f} at the start"


class Run:
    """The figures so far; a figure that crashes is reported and the others still run."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.figures: list[Figure] = []
        self.crashed: list[str] = []

    async def measure(self, name: str, measuring: Callable[[], Awaitable[Figure]]) -> Figure:
        async def one() -> list[Figure]:
            return [await measuring()]

        return (await self.measure_all((name,), one))[0]

    async def measure_all(self, names: tuple[str, ...],
                          measuring: Callable[[], Awaitable[list[Figure]]]) -> list[Figure]:
        """Figures measured together (in this order); crashed, each says so."""
        begin = time.monotonic()
        self.console.print(f"[dim]measuring {', '.join(names)}…[/]")
        try:
            figures = await measuring()
        except Exception as error:
            self.crashed.extend(names)
            self.console.print(f"[red]{', '.join(names)} crashed:[/] {escape(repr(error))}")
            self.console.print(escape(traceback.format_exc()), style="dim")
            figures = [Figure(name, None, "", note=f"crashed: {error!r}"[:200])
                       for name in names]
        for figure in figures:
            figure.details["took"] = f"{time.monotonic() - begin:.0f} s"
        self.figures.extend(figures)
        return figures


async def _pipeline_figures(settings: Settings, sizes: Sizes, run: Run) -> float:
    """Figures 1 and 2 on one stack; returns the bare ceiling (pipelines per second)."""
    async with embedded_stack(settings) as bench:
        engine = await bare_throughput(bench, "engine", sizes.pipeline, steps=PIPELINE_STEPS)
        run.console.print(f"[dim]the engine alone, {PIPELINE_STEPS} trivial activities: "
                          f"{engine.per_second:.1f} workflows/s[/]")
        ceiling = 0.0

        async def first() -> Figure:
            nonlocal ceiling
            figure, ceiling, _ = await pipeline_ratio(bench, count=sizes.pipeline)
            figure.details["the engine alone"] = (f"{engine.per_second:.1f} workflows/s of "
                                                  f"{PIPELINE_STEPS} trivial activities")
            return figure

        await run.measure("pipeline_ratio", first)
        if ceiling:
            await run.measure("ack_latency_p99_s", lambda: ack_latency(
                bench, ceiling=ceiling, seconds=sizes.latency_s))
        else:
            run.figures.append(Figure("ack_latency_p99_s", None, "<= 1",
                                      note="no ceiling: pipeline_ratio crashed"))
    return ceiling or engine.per_second


async def _pipeline_on_disk(settings: Settings, count: int) -> Figure:
    """Figure 1 again with Temporal on disk, as `kringloop up` runs it by default."""
    async with embedded_stack(settings, temporal_storage="disk") as bench:
        figure, _, _ = await pipeline_ratio(bench, count=count, name="pipeline_ratio_on_disk")
        return figure


async def _rejections(settings: Settings, count: int) -> Figure:
    async with embedded_stack(settings) as bench:
        return await rejection_mail_ratio(bench, count=count)


async def run_bench(settings: Settings, *, quick: bool, console: Console) -> int:
    """Measure every figure; 0 unless the benchmark itself crashed (never for a number)."""
    sizes = QUICK if quick else FULL
    begin = time.monotonic()
    console.print(f"[bold]kringloop bench{' --quick' if quick else ''}[/] on {machine()}")
    run = Run(console)
    ceiling = await _pipeline_figures(settings, sizes, run)
    await run.measure("pipeline_ratio_on_disk", lambda: _pipeline_on_disk(settings,
                                                                          sizes.pipeline))
    await run.measure("timer_lateness_p99_s", lambda: timer_lateness(
        settings, count=sizes.timers, rate=ceiling / 2))
    await run.measure("rejection_mail_ratio", lambda: _rejections(settings, sizes.rejections))
    await run.measure("restart_recovery_s", lambda: restart_recovery(
        settings, cases=sizes.restart_cases))
    await run.measure_all(("import_lines_per_s", "import_rss_mb"), lambda: survey_import(
        settings, lines=sizes.import_lines))
    await run.measure("queue_page_p95_ms", lambda: queue_page_p95(
        settings, count=sizes.queue_cases, quick=quick))
    await run.measure("queue_page_p95_ms_postgres", lambda: queue_page_p95_postgres(
        settings, count=sizes.queue_cases, quick=quick))
    if sizes.rss_cases is None:
        run.figures.append(Figure("worker_rss_mb_10k_sleeping", None, "<= 300",
                                  note="full run only; not measured with --quick"))
    else:
        await run.measure("worker_rss_mb_10k_sleeping",
                          lambda: worker_rss(settings, count=sizes.rss_cases or 0))
    report(run.figures, console, seconds=time.monotonic() - begin)
    return 1 if run.crashed else 0


def report(figures: list[Figure], console: Console, *, seconds: float) -> None:
    """The figure lines, then a short table, then what each was measured against."""
    by_name = {f.name: f for f in figures}
    ordered = [by_name[name] for name in NAMES if name in by_name]
    console.print()
    for figure in ordered:
        console.print(figure.line(), markup=False, highlight=False)
    table = Table(title=f"Kringloop against its baseline, same run ({seconds / 60:.1f} min)")
    for column in ("figure", "value", "goal", "baseline"):
        table.add_column(column)
    for figure in ordered:
        value = "n/a" if figure.value is None else f"{figure.value:.3g} {figure.unit}".strip()
        verdict = {True: "[green]met[/]", False: "[red]not met[/]", None: ""}[figure.met]
        bound = figure.goal.replace(">=", "≥").replace("<=", "≤")
        table.add_row(figure.name, value, f"{bound} {figure.unit} {verdict}".strip(),
                      escape(figure.versus or figure.note))
    console.print(table)
    for figure in ordered:
        console.print(f"[bold]{figure.name}[/]", highlight=False)
        lines = [("baseline", figure.baseline)] if figure.baseline else []
        lines += [("note", figure.note)] if figure.note else []
        for key, text in [*lines, *figure.details.items()]:
            console.print(f"  {key}: {escape(text)}", style="dim", highlight=False)
