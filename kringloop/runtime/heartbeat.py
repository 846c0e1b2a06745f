"""A running worker's or web app's sign of life, for a container's health check: a small file in
the temporary folder, rewritten every few seconds while every part of the process runs, and read
by `kringloop health`. It is the only file such a process writes: the app folder may be
read-only, and nothing here needs to outlive the process."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import BaseModel

BEAT_EVERY_S = 5.0
# Three missed beats: a blocked event loop or a stopped worker, not a slow moment.
STALE_AFTER_S = 3 * BEAT_EVERY_S


class Beat(BaseModel):
    """What runs here: the parts, and where the web app answers (for its own /health)."""

    pid: int
    parts: list[str]
    health_url: str | None = None


def heartbeat_file() -> Path:
    """One file per user: a container runs one Kringloop process, as its own user."""
    return Path(tempfile.gettempdir()) / f"kringloop-{os.getuid()}.alive"


def _write(beat: Beat, path: Path) -> None:
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    draft.write_text(beat.model_dump_json())
    os.replace(draft, path)  # whole or not at all: a check never reads half a beat


async def keep_beating(beat: Beat, *, running: Callable[[], bool], stop: asyncio.Event,
                       path: Path | None = None) -> None:
    """Rewrite the file while `running()` says every part runs, until `stop`; then remove it."""
    path = path or heartbeat_file()
    try:
        while not stop.is_set():
            if running():
                # On the loop, not in the database threads: a beat must not queue behind
                # database work, or a locked database would pass for a dead process (a
                # few hundred bytes to /tmp, a tmpfs in the image).
                _write(beat, path)
            try:
                await asyncio.wait_for(stop.wait(), BEAT_EVERY_S)
            except TimeoutError:
                pass
    finally:
        path.unlink(missing_ok=True)


def health_problems(path: Path | None = None, *, now: float | None = None) -> list[str]:
    """Why the Kringloop process here is not well (nothing: it is): no recent beat, or its web
    app's /health (database, Temporal, a polling worker) not answering 200."""
    path = path or heartbeat_file()
    try:
        beat = Beat.model_validate_json(path.read_bytes())
        age = (now or time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return [f"no Kringloop worker or web app has beaten here ({path})"]
    except ValueError as unreadable:
        return [f"{path} is not a heartbeat: {unreadable}"]
    if age > STALE_AFTER_S:
        return [f"the last beat of {', '.join(beat.parts)} (pid {beat.pid}) is {age:.0f} s old"]
    if beat.health_url:
        try:
            answer = httpx.get(beat.health_url, timeout=5)
        except httpx.HTTPError as failed:
            return [f"the web app does not answer at {beat.health_url}: {failed}"]
        if answer.status_code != 200:
            return [f"the web app's {beat.health_url} says {answer.status_code}: {answer.text}"]
    return []
