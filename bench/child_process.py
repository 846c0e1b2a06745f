"""Stopping a part the benchmark runs as a process of its own (a worker, the SMTP sink)."""

from __future__ import annotations

import subprocess


def stop_child(child: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, and SIGKILL when it has not stopped within `timeout` seconds."""
    child.terminate()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
