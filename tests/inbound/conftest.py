"""The inbound tests' fixtures: the SMTP listener for replies, started on the test's own event
loop beside a running Kringloop, with small limits a test can reach."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kringloop.inbound.listener import Listener, start_listener
from tests.support.inbound import ATTACHMENT_MAX_BYTES, MAX_BYTES
from tests.support.kringloop import Kringloop


@pytest.fixture
async def listener(simulated: Kringloop) -> AsyncIterator[Listener]:
    """The listener `kringloop up` runs, on a free port, for the example organisation's reply
    address (antwoord@antwoord.fietsenwinkel.example)."""
    settings = simulated.settings.model_copy(update={
        "inbound_port": 0, "inbound_max_bytes": MAX_BYTES,
        "inbound_attachment_max_bytes": ATTACHMENT_MAX_BYTES})
    started = await start_listener(settings=settings, org=simulated.org,
                                   engine=simulated.engine, client=simulated.env.client)
    yield started
    await started.stop()
