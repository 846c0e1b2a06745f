"""The Temporal server `kringloop up` runs itself comes up even when a port picked for it is
taken before it binds it: another process on the machine may take a free port at any moment."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.runtime import Runtime

from kringloop.network import free_ports
from kringloop.runtime import stack
from kringloop.settings import Settings


async def test_the_embedded_temporal_server_starts_on_other_ports_when_its_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        picked: list[list[int]] = []

        def taken_first(count: int) -> list[int]:
            ports = free_ports(count)
            picked.append([taken, *ports[1:]] if not picked else ports)
            return picked[-1]

        monkeypatch.setattr(stack, "free_ports", taken_first)
        monkeypatch.setattr(stack, "TEMPORAL_STARTUP_TIMEOUT", timedelta(seconds=3))
        settings = Settings(home=tmp_path / "home", secret_key="test-signing-key")

        env, ui_port = await stack.start_embedded_temporal(settings, Runtime.default())
        try:
            assert len(picked) == 2 and picked[0][0] == taken
            assert ui_port == picked[1][1]
            assert await env.client.count_workflows() is not None, "the server answers"
        finally:
            await env.shutdown()
    assert (tmp_path / "home" / "temporal.db").is_file(), "on disk under the home, as before"
