"""Free TCP ports on this machine, for the parts Kringloop starts itself (the embedded SMTP sink,
the dev server, its UI, a metrics endpoint)."""

from __future__ import annotations

import socket
from contextlib import ExitStack


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct free ports: all probes stay bound until every port is picked,
    so two ports asked for together can never be the same one."""
    with ExitStack() as probes:
        ports = []
        for _ in range(count):
            probe = probes.enter_context(socket.socket())
            probe.bind((host, 0))
            ports.append(int(probe.getsockname()[1]))
        return ports
