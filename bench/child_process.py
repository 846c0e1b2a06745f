"""The parts the benchmark runs as processes of their own (a worker, `kringloop up`, the SMTP
sink): stopping one, and the CPU it used."""

from __future__ import annotations

import subprocess

import psutil


def stop_child(child: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, and SIGKILL when it has not stopped within `timeout` seconds."""
    child.terminate()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def cpu_seconds(process: psutil.Process) -> float:
    """User and system CPU the process used so far."""
    times = process.cpu_times()
    return times.user + times.system
