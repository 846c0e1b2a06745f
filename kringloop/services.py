"""The running parts a request or a command works with: settings, the organisation, the
database, Temporal, and in the embedded mode the outbox folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client

from kringloop.org.organisation import Organisation
from kringloop.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    org: Organisation
    engine: Engine
    temporal: Client
    # The embedded SMTP sink's folder of .eml files (None unless `kringloop up` runs the sink).
    outbox: Path | None = None
    # Where this process's Temporal runtime exports its Prometheus metrics, if it does.
    metrics_address: str | None = None
