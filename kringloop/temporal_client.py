"""How a Kringloop process reaches an external Temporal: its address, namespace and the
encrypting data converter, the same for the stack, the worker, the web app and every command."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime

from kringloop.security.payload_codec import data_converter
from kringloop.settings import Settings


async def connect_temporal(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client of KRINGLOOP_TEMPORAL_ADDRESS; raises RuntimeError when it does not answer."""
    assert settings.temporal_address, "connect_temporal needs KRINGLOOP_TEMPORAL_ADDRESS"
    return await Client.connect(settings.temporal_address, runtime=runtime,
                                namespace=settings.temporal_namespace,
                                data_converter=data_converter(settings))
