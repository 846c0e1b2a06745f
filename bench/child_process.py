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


def children_apart(root: psutil.Process) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """`root`'s children, read once: the Temporal dev server, and the others."""
    children = root.children(recursive=True)
    temporal = [child for child in children if child.name().startswith("temporal")]
    return temporal, [child for child in children if child not in temporal]


def temporal_server() -> psutil.Process | None:
    """The embedded stack's Temporal dev server, a child of this process."""
    return next(iter(children_apart(psutil.Process())[0]), None)


def cpu_by_part() -> dict[str, float]:
    """CPU seconds so far of this process (the benchmark with the worker, the web app and the
    bare worker in it), of the Temporal dev server, and of the other children (the SMTP sink)."""
    here = psutil.Process()
    temporal, others = children_apart(here)
    return {"this process": cpu_seconds(here),
            "Temporal server": sum(cpu_seconds(child) for child in temporal),
            "mail server": sum(cpu_seconds(child) for child in others)}
