"""Figures 1 and 2: detractors through the whole intake pipeline until both its emails are at the
mail server, against the bare pipeline (bench/baseline_workflow.py: a step of the same kind for
each of Kringloop's) on the same dev server, worker settings, database and mail server."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.child_process import cpu_by_part
from bench.embedded import Bench
from bench.figures import Figure, median, percentile
from bench.traffic import (
    PIPELINE_EMAILS,
    PIPELINE_STEPS,
    at_rate,
    finish_bare,
    gated,
    post_detractor,
    start_bare,
    until_delivered,
)


@dataclass(frozen=True)
class Throughput:
    per_second: float
    seconds: float
    complete: int
    count: int
    cpu_ms: dict[str, float]  # CPU per pipeline, by part (see cpu_by_part)


def _cpu_ms(before: dict[str, float], count: int) -> dict[str, float]:
    """CPU milliseconds per pipeline since `before`, by part."""
    return {part: (seconds - before[part]) / count * 1000
            for part, seconds in cpu_by_part().items()}


async def bare_throughput(bench: Bench, tag: str, count: int, *, steps: int | None = None
                          ) -> Throughput:
    """Bare pipelines (or workflows of `steps` trivial activities) per second."""
    ids = [f"bare-{tag}-{i:05d}" for i in range(count)]
    cpu = cpu_by_part()
    begin = time.time()
    await gated(count, lambda i: start_bare(bench, ids[i], steps=steps))
    await bench.bare.wait_for(set(ids), bench.bare.finished, timeout=60 + count)
    done = [bench.bare.finished[i] for i in ids if i in bench.bare.finished]
    cpu_ms = _cpu_ms(cpu, count)  # before waiting on the results: the benchmark's own work
    await finish_bare(bench, ids)
    seconds = (max(done) if done else time.time()) - begin
    return Throughput(len(done) / seconds, seconds, len(done), count, cpu_ms)


async def kringloop_throughput(bench: Bench, tag: str, count: int) -> Throughput:
    ids = [f"bench-{tag}-{i:05d}" for i in range(count)]
    cpu = cpu_by_part()
    begin = time.time()
    await gated(count, lambda i: post_detractor(bench.http, ids[i]))
    acks = await until_delivered(bench, kinds=PIPELINE_EMAILS, key_prefix=f"case-bench-{tag}-",
                                 count=count, timeout=60 + 2 * count)
    seconds = (max(sink for _, sink in acks.values()) if acks else time.time()) - begin
    return Throughput(len(acks) / seconds, seconds, len(acks), count, _cpu_ms(cpu, count))


async def pipeline_ratio(bench: Bench, *, count: int, pairs: int = 3,
                         name: str = "pipeline_ratio") -> tuple[Figure, float, float]:
    """Figure 1; also returns the bare ceiling and Kringloop's rate (per second, medians)."""
    ratios: list[float] = []
    bare_rates: list[float] = []
    loop_rates: list[float] = []
    loop_cpu: list[dict[str, float]] = []
    bare_cpu: list[dict[str, float]] = []
    for pair in range(pairs):
        # Alternate who goes first, so a drift in the machine's load favours neither.
        if pair % 2 == 0:
            bare = await bare_throughput(bench, f"p{pair}", count)
            loop = await kringloop_throughput(bench, f"p{pair}", count)
        else:
            loop = await kringloop_throughput(bench, f"p{pair}", count)
            bare = await bare_throughput(bench, f"p{pair}", count)
        if loop.complete < count or bare.complete < count:
            raise RuntimeError(f"pair {pair}: only {loop.complete}/{count} acknowledged, "
                               f"{bare.complete}/{count} bare workflows finished")
        loop_cpu.append(loop.cpu_ms)
        bare_cpu.append(bare.cpu_ms)
        bare_rates.append(bare.per_second)
        loop_rates.append(loop.per_second)
        ratios.append(loop.per_second / bare.per_second)
    ceiling, rate = median(bare_rates), median(loop_rates)
    figure = Figure(
        name, median(ratios), ">= 0.8",
        baseline=f"{count} bare pipelines of {PIPELINE_STEPS} steps of the same kinds "
                 f"(median {ceiling:.1f}/s)",
        versus=f"bare {ceiling:.1f}/s, Kringloop {rate:.1f}/s",
        details={"kringloop": f"{rate:.1f} detractors/s to both emails at the mail server "
                              "(median)",
                 "bare": f"{ceiling:.1f} workflows/s (median)",
                 "pairs": ", ".join(f"{r:.2f}" for r in ratios),
                 "CPU per pipeline": _cpu_comparison(loop_cpu, bare_cpu)})
    return figure, ceiling, rate


def _cpu_comparison(loop: list[dict[str, float]], bare: list[dict[str, float]]) -> str:
    """Where the CPU goes, by part (medians of the pairs): on a machine the pipelines keep
    busy, Kringloop's rate against bare's is close to their CPU per pipeline the other way."""
    parts = []
    for part in loop[0]:
        mine, theirs = median([c[part] for c in loop]), median([c[part] for c in bare])
        parts.append(f"{part} {mine:.0f} ms (bare {theirs:.0f})")
    total = median([sum(c.values()) for c in loop]), median([sum(c.values()) for c in bare])
    return (f"Kringloop {total[0]:.0f} ms, bare {total[1]:.0f} ms: " + ", ".join(parts))


async def ack_latency(bench: Bench, *, ceiling: float, seconds: float) -> Figure:
    """Figure 2: p99 from POST to the acknowledgement at the sink, at half the bare ceiling."""
    rate = ceiling / 2
    count = max(10, round(rate * seconds))
    ids = [f"bench-lat-{i:05d}" for i in range(count)]
    posted = await at_rate(count, rate, lambda i: post_detractor(bench.http, ids[i]))
    acks = await until_delivered(bench, kinds=("acknowledgement",), key_prefix="case-bench-lat-",
                                 count=count, timeout=120 + seconds)
    latencies = [acks[f"case-{rid}"][1] - sent if f"case-{rid}" in acks else float("inf")
                 for rid, sent in zip(ids, posted, strict=True)]

    bare_ids = [f"bare-lat-{i:05d}" for i in range(count)]
    started = await at_rate(count, rate, lambda i: start_bare(bench, bare_ids[i]))
    await bench.bare.wait_for(set(bare_ids), bench.bare.finished, timeout=120 + seconds)
    await finish_bare(bench, bare_ids)
    bare = [bench.bare.acknowledged.get(rid, float("inf")) - at
            for rid, at in zip(bare_ids, started, strict=True)]
    missing = sum(latency == float("inf") for latency in latencies)
    return Figure(
        "ack_latency_p99_s", percentile(latencies, 0.99), "<= 1", unit="s",
        baseline=f"bare pipelines at the same rate, to their acknowledgement: "
                 f"p99 {percentile(bare, 0.99):.2f} s",
        versus=f"bare p99 {percentile(bare, 0.99):.2f} s",
        note=f"{missing} of {count} never acknowledged" if missing else "",
        details={"rate": f"{rate:.1f}/s for {seconds:.0f} s ({count} detractors)",
                 "kringloop p50": f"{percentile(latencies, 0.5):.2f} s",
                 "bare p50 / p99": f"{percentile(bare, 0.5):.2f} / "
                                   f"{percentile(bare, 0.99):.2f} s",
                 "ratio p99": f"{percentile(latencies, 0.99) / percentile(bare, 0.99):.1f}x"})
