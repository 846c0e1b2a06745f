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


def temporal_server() -> psutil.Process | None:
    """The embedded stack's Temporal dev server, a child of this process."""
    return next((child for child in psutil.Process().children(recursive=True)
                 if child.name().startswith("temporal")), None)


def cpu_by_part() -> dict[str, float]:
    """CPU seconds so far of this process (the benchmark with the worker, the web app and the
    bare worker in it), of the Temporal dev server, and of the other children (the SMTP sink)."""
    server = temporal_server()
    others = [child for child in psutil.Process().children(recursive=True)
              if server is None or child.pid != server.pid]
    return {"this process": cpu_seconds(psutil.Process()),
            "Temporal server": cpu_seconds(server) if server else 0.0,
            "mail server": sum(cpu_seconds(child) for child in others)}
