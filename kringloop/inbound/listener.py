"""The inbound SMTP listener: takes replies for the reply address's domain (and nothing else:
it is no relay) and hands each email to `receive`. It runs on the caller's event loop, beside
the worker and the web app of `kringloop up`, or alone in `kringloop inbound`."""

from __future__ import annotations

import asyncio
import errno
import logging
import weakref
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine
from temporalio.client import Client

from kringloop.cases.emails import reply_base
from kringloop.inbound.reading import for_reply_domain
from kringloop.inbound.service import receive
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings

log = logging.getLogger("kringloop")
MAX_RECIPIENTS = 20
# When the configured port is taken, the next ones are tried.
PORTS_TRIED = 100


class Replies:
    """aiosmtpd handler: recipients on the reply domain only, then `receive` per email."""

    def __init__(self, *, settings: Settings, org: Organisation, engine: Engine,
                 client: Client) -> None:
        self.settings = settings
        self.org = org
        self.engine = engine
        self.client = client

    def use_organisation(self, org: Organisation) -> None:
        """A reloaded organisation file (its reply address may have changed)."""
        self.org = org

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        reply_address = reply_base(self.settings, self.org)
        if reply_address is None or not for_reply_domain(address, reply_address):
            return "550 5.7.1 Relaying denied: only replies to Kringloop are taken here"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            received = await receive(
                envelope.original_content or b"", recipients=list(envelope.rcpt_tos),
                engine=self.engine, client=self.client, settings=self.settings, org=self.org,
                via="smtp")
        except Exception:
            # Nothing was lost: the sender keeps the email and tries again later.
            log.exception("an inbound email could not be taken in now; the sender retries")
            return "451 4.3.0 Temporarily unable to take this email; try again later"
        if received.status != "refused":
            # Quarantined too: the sender need not know, and must not retry forever.
            return "250 2.0.0 OK"
        if received.too_large:
            return "552 5.3.4 Message too big"
        return f"550 5.7.1 Not taken: {received.reason}"


@dataclass
class Listener:
    """A started listener: where it listens, and how to stop it."""

    server: asyncio.Server
    host: str
    port: int
    replies: Replies
    sessions: weakref.WeakSet[SMTP] = field(default_factory=weakref.WeakSet)

    @property
    def is_serving(self) -> bool:
        return self.server.is_serving()

    async def stop(self) -> None:
        """Stop listening, and end the sessions still open (their senders retry)."""
        self.server.close()
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.close()
        try:
            await asyncio.wait_for(self.server.wait_closed(), 5)
        except TimeoutError:
            log.warning("the inbound SMTP listener stopped with sessions still open")


async def start_listener(*, settings: Settings, org: Organisation, engine: Engine,
                         client: Client) -> Listener:
    """Listen on settings.inbound_host and inbound_port, or the next free port after it (any
    free one for port 0); the Listener says which."""
    replies = Replies(settings=settings, org=org, engine=engine, client=client)
    sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
    reply_address = reply_base(settings, org)
    hostname = reply_address.rpartition("@")[2] if reply_address else "kringloop"
    loop = asyncio.get_running_loop()

    def new_session() -> SMTP:
        smtp = SMTP(replies, data_size_limit=settings.inbound_max_bytes, enable_SMTPUTF8=True,
                    hostname=hostname, ident="Kringloop", loop=loop)
        sessions.add(smtp)
        return smtp

    first = settings.inbound_port
    candidates = [0] if first == 0 else range(first, min(first + PORTS_TRIED, 65536))
    for port in candidates:
        try:
            server = await loop.create_server(new_session, host=settings.inbound_host, port=port)
        except OSError as error:
            if error.errno != errno.EADDRINUSE or port == candidates[-1]:
                raise
            continue
        bound = int(server.sockets[0].getsockname()[1])
        return Listener(server=server, host=settings.inbound_host, port=bound,
                        replies=replies, sessions=sessions)
    raise AssertionError("unreachable: the last port tried raises")


def plus_addresses(reply_address: str) -> str:
    """The addresses the listener takes replies for, as people read them."""
    local, _, domain = reply_address.rpartition("@")
    return f"{local}+…@{domain}"


def listening_at(listener: Listener) -> str:
    """Where this machine reaches the listener (loopback when it listens on every address)."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(listener.host,
                                                                       listener.host)
    host = f"[{host}]" if ":" in host else host
    return f"smtp://{host}:{listener.port}"
