"""Figure 3: how late a callback reminder fires, with many cases open, against bare timers.

Scaled time (TIME_SCALE) brings the reminder within a minute or two of the case opening. The
organisation file is the configured one with a few settings changed, so that each case fires
exactly one timer while it is measured: the reminder long before the due time (the escalation
comes after the measurement) and a grace period that never ends in it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import col, select

from bench import org_file
from bench.embedded import Bench, embedded_stack
from bench.figures import Figure, percentile
from bench.traffic import (
    at_rate,
    finish_bare,
    post_detractor,
    start_bare_timer,
    until_delivered,
)
from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.org.business_hours import add_business_hours
from kringloop.org.organisation import load_organisation
from kringloop.settings import Settings

SCORE = 5
NEVER_HOURS = 100_000.0  # the escalation grace: the case is never reassigned while measured
AFTER_REMINDER_S = 3_600.0  # from the reminder to the due time (escalation), scaled seconds
BARE_TIMER_S = 10.0  # how long each bare workflow sleeps


def timer_org(source: Path, target: Path, *, reminder_before_hours: float) -> Path:
    """The organisation file with the customer program's reminder and grace replaced, and its
    teams working around the clock, so that a due time is the opening plus the SLA at any
    hour of the run and the reminders fire as spread out as the cases arrived."""
    raw = org_file.round_the_clock(org_file.read(source))
    policy = raw["programs"]["customer"]
    policy["reminder_before_hours"] = reminder_before_hours
    policy["escalation_grace_hours"] = NEVER_HOURS
    org_file.write(raw, target)
    load_organisation(target)  # the copy must still be a valid organisation
    return target


def plan(org_path: Path, *, fire_after_s: float) -> tuple[float, float]:
    """(time scale, reminder hours) so a case opened now gets its reminder `fire_after_s` later
    and its due time AFTER_REMINDER_S after that."""
    org = load_organisation(org_path)
    team = org.route(program="customer", segment=None, language="nl")
    hours = org.programs["customer"].sla_hours_for(SCORE)  # type: ignore[index]
    now = datetime.now(UTC)
    until_due = (add_business_hours(team, now, hours) - now).total_seconds()
    scale = until_due / (fire_after_s + AFTER_REMINDER_S)
    return scale, AFTER_REMINDER_S * scale / 3600


async def _kringloop(bench: Bench, count: int, rate: float, reminder_before_s: float
                     ) -> tuple[list[float], list[float], list[float]]:
    """Lateness when the reminder's mail activity began, and at the sink; and the offsets of
    the reminders' due times from the first one."""
    ids = [f"bench-tmr-{i:05d}" for i in range(count)]
    await at_rate(count, rate, lambda i: post_detractor(bench.http, ids[i], score=SCORE))
    await until_delivered(bench, kinds=("acknowledgement",), key_prefix="case-bench-tmr-",
                          count=count, timeout=120 + count)
    with session_for(bench.running.engine) as session:
        due = {c.id: c.callback_due_at for c in session.exec(
            select(Case).where(col(Case.id).startswith("case-bench-tmr-"))).all()}
    reminder_at = {case_id: at.timestamp() - reminder_before_s
                   for case_id, at in due.items() if at is not None}
    wait = max(reminder_at.values(), default=time.time()) - time.time() + 60
    reminders = await until_delivered(bench, kinds=("reminder",), key_prefix="case-bench-tmr-",
                                      count=count, timeout=wait)
    fired = [reminders[c][0] - at if c in reminders else float("inf")
             for c, at in reminder_at.items()]
    at_sink = [reminders[c][1] - at if c in reminders else float("inf")
               for c, at in reminder_at.items()]
    first = min(reminder_at.values())
    return fired, at_sink, [at - first for at in reminder_at.values()]


async def _bare(bench: Bench, offsets: list[float]) -> list[float]:
    """Bare timers firing in the same pattern as the reminders (`offsets` from the first), each
    started on its own a fixed time before, so no start backlog makes a timer late."""
    ids = [f"bare-tmr-{i:05d}" for i in range(len(offsets))]
    order = sorted(range(len(offsets)), key=offsets.__getitem__)
    begin = time.monotonic()
    starting = []
    for index in order:
        pause = begin + offsets[index] - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        starting.append(asyncio.create_task(
            start_bare_timer(bench, ids[index], delay_s=BARE_TIMER_S)))
    await asyncio.gather(*starting)
    await bench.bare.wait_for(set(ids), bench.bare.lateness, timeout=BARE_TIMER_S + 120)
    await finish_bare(bench, ids, release=False)  # timers complete on their own
    return [bench.bare.lateness.get(i, float("inf")) for i in ids]


async def timer_lateness(settings: Settings, *, count: int, rate: float) -> Figure:
    """Cases arrive steadily at `rate` (half the bare ceiling, as for the acknowledgements), so
    their reminders fire as spread out; the first fires after the last case has opened, so the
    reminders do not share the worker with the intake."""
    fire_after_s = count / rate * 1.2 + 20
    with tempfile.TemporaryDirectory(prefix="kringloop-bench-org-") as folder:
        # First around the clock (to plan the scale), then with the reminder that scale needs.
        around_the_clock = timer_org(settings.org_file, Path(folder) / "plan.toml",
                                     reminder_before_hours=4)
        scale, reminder_hours = plan(around_the_clock, fire_after_s=fire_after_s)
        organisation = timer_org(settings.org_file, Path(folder) / "org.toml",
                                 reminder_before_hours=reminder_hours)
        async with embedded_stack(settings, time_scale=scale,
                                  org_file=organisation) as bench:
            fired, at_sink, offsets = await _kringloop(bench, count, rate,
                                                       reminder_hours * 3600 / scale)
            bare = await _bare(bench, offsets)
    missing = sum(late == float("inf") for late in fired)
    return Figure(
        "timer_lateness_p99_s", percentile(fired, 0.99), "<= 0.5", unit="s",
        baseline=f"{count} bare workflows firing a timer in the same pattern, then one "
                 "trivial activity: "
                 f"p99 {percentile(bare, 0.99):.3f} s",
        versus=f"bare p99 {percentile(bare, 0.99):.2f} s",
        note=f"{missing} of {count} reminders never fired" if missing else "",
        details={"open cases": f"{count}, arriving at {rate:.1f}/s (TIME_SCALE {scale:.0f}; "
                               f"reminders {fire_after_s:.0f} s after opening)",
                 "kringloop p50": f"{percentile(fired, 0.5):.3f} s (mail activity began)",
                 "at the sink p99": f"{percentile(at_sink, 0.99):.3f} s",
                 "bare p50 / p99": f"{percentile(bare, 0.5):.3f} / "
                                   f"{percentile(bare, 0.99):.3f} s"})
