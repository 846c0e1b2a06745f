"""What an operator reads of a running Kringloop: JSON logs without personal data, and the
Temporal SDK's runtime metrics on a local Prometheus endpoint (Kringloop's own counters are
in kringloop/reports/metrics.py)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from kringloop.network import free_port

log = logging.getLogger("kringloop")


def json_formatter() -> JsonFormatter:
    """One JSON object per line: time, level, logger, message, and the event's `extra` ids."""
    return JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                         rename_fields={"asctime": "time", "levelname": "level",
                                        "name": "logger"})


def configure_logging(*, json: bool = True, level: int = logging.INFO) -> None:
    """One line of JSON per event on stderr; events carry ids (case, kind), never names or
    addresses."""
    handler = logging.StreamHandler(sys.stderr)
    if json:
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("kringloop").setLevel(level)


def temporal_runtime() -> tuple[Runtime, str]:
    """A Temporal runtime exporting the SDK's metrics on a local Prometheus endpoint."""
    address = f"127.0.0.1:{free_port()}"
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    return runtime, address
