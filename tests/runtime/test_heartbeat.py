"""The heartbeat a container's health check reads (`kringloop health`): healthy while the parts
beat and the web app's /health says 200; unhealthy with a reason when the beat stops, goes
stale, never started, or the web app says it is not well."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kringloop.runtime.heartbeat import STALE_AFTER_S, Beat, health_problems, keep_beating
from tests.support.command import kringloop


async def test_a_worker_that_beats_is_healthy_and_one_that_stops_is_not(tmp_path: Path) -> None:
    alive = tmp_path / "kringloop.alive"
    stop, running = asyncio.Event(), [True]
    beating = asyncio.create_task(keep_beating(Beat(pid=os.getpid(), parts=["worker"]),
                                               running=lambda: running[0], stop=stop,
                                               path=alive))
    for _ in range(500):  # the first beat is written at once
        if alive.exists():
            break
        await asyncio.sleep(0.01)
    assert health_problems(alive) == []

    running[0] = False  # a part stopped: the beat is no longer renewed, and soon stale
    [problem] = health_problems(alive, now=time.time() + STALE_AFTER_S + 1)
    assert "the last beat of worker" in problem

    stop.set()
    await beating
    assert not alive.exists()
    assert "no Kringloop worker or web app has beaten here" in health_problems(alive)[0]


async def test_a_worker_waiting_on_a_locked_database_still_beats(tmp_path: Path) -> None:
    """Every database thread stuck behind a lock is a slow database, not a dead worker: a
    liveness probe must not restart the worker for it."""
    alive = tmp_path / "kringloop.alive"
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=2))
    unlocked = threading.Event()
    stuck = [loop.run_in_executor(None, unlocked.wait, 30) for _ in range(2)]
    stop = asyncio.Event()
    beating = asyncio.create_task(keep_beating(Beat(pid=os.getpid(), parts=["worker"]),
                                               running=lambda: True, stop=stop, path=alive))
    try:
        for _ in range(200):
            if alive.exists():
                break
            await asyncio.sleep(0.01)
        assert health_problems(alive) == []
    finally:
        unlocked.set()
        stop.set()
        await asyncio.gather(beating, *stuck)


def test_a_web_app_whose_health_is_not_ok_makes_the_check_fail(tmp_path: Path) -> None:
    alive = tmp_path / "kringloop.alive"
    alive.write_text(Beat(pid=1, parts=["web"],
                          health_url="http://127.0.0.1:9/health").model_dump_json())
    [problem] = health_problems(alive)
    assert "the web app does not answer at http://127.0.0.1:9/health" in problem


def test_the_health_command_exits_1_with_the_reason(tmp_path: Path) -> None:
    checked = kringloop("health", cwd=tmp_path, TMPDIR=str(tmp_path))
    assert checked.returncode == 1
    assert "no Kringloop worker or web app has beaten here" in checked.stderr
