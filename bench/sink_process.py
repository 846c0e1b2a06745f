"""The SMTP sink in a process of its own, as a mail server is in production: receiving the
benchmark's emails then costs the measured worker nothing, on either side of a ratio."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosmtplib

from bench.child_process import stop_child
from kringloop.network import free_port


def serve(folder: str, port: int) -> None:
    """Run the sink on `port` until SIGTERM or SIGINT (the child process's whole life)."""
    from aiosmtpd.controller import Controller

    from kringloop.mail.sink import OutboxFolder

    # Blocked before the server's thread starts, so only `sigwait` below receives them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    controller = Controller(OutboxFolder(Path(folder)), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        controller.stop()


@asynccontextmanager
async def sink_process(folder: Path) -> AsyncIterator[int]:
    """A sink writing into `folder`, in a child process; yields its port once it answers."""
    port = free_port("127.0.0.1")
    child = _start(folder, port)
    try:
        await _until_it_answers(port, child)
        yield port
    finally:
        stop_child(child, timeout=10)


def _start(folder: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([
        sys.executable, "-c",
        "import sys; from bench.sink_process import serve; serve(sys.argv[1], int(sys.argv[2]))",
        str(folder), str(port)])


async def _until_it_answers(port: int, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=2):
                return
        except (OSError, aiosmtplib.SMTPException):
            pass
        if child.poll() is not None:
            raise RuntimeError(f"the SMTP sink process stopped (exit {child.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError("the SMTP sink process did not answer within 30 s")
        await asyncio.sleep(0.1)
