"""A Temporal that asks for TLS, on this machine: certificate authorities made for one test and
a TLS-terminating front for the dev server (which speaks plaintext gRPC only), as a secured
cluster or Temporal Cloud's front door would be."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAME = "temporal.kringloop.test"


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM files (what KRINGLOOP_TEMPORAL_TLS_* name)."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Authority:
    """A certificate authority of one test: its certificate as a PEM file (the CA an operator
    hands Kringloop) and the certificates it signs for the server and for clients."""

    name: str
    folder: Path
    key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate: x509.Certificate

    @classmethod
    def create(cls, name: str, folder: Path) -> Authority:
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        certificate = (_builder(subject, subject, key.public_key())
                       .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                      critical=True)
                       .add_extension(x509.KeyUsage(
                           digital_signature=True, key_cert_sign=True, crl_sign=True,
                           content_commitment=False, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, encipher_only=False,
                           decipher_only=False), critical=True)
                       .sign(key, hashes.SHA256()))
        authority = cls(name=name, folder=folder, key=key, certificate=certificate)
        authority.ca.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return authority

    @property
    def ca(self) -> Path:
        return self.folder / f"{self.name}-ca.pem"

    def issue(self, name: str, *, for_server: bool) -> Issued:
        """A certificate for `name` (a server's DNS name, or a client's), with a PKCS#8 key."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]),
                           self.certificate.subject, key.public_key())
        if for_server:
            # rustls (under the SDK) checks the subject alternative names, never the CN.
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if for_server else ExtendedKeyUsageOID.CLIENT_AUTH
        certificate = (builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                       .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                      critical=True)
                       .sign(self.key, hashes.SHA256()))
        issued = Issued(cert=self.folder / f"{name}.pem", key=self.folder / f"{name}.key")
        issued.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        return issued


def _builder(subject: x509.Name, issuer: x509.Name,
             public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1)))


@dataclass
class TlsFront:
    """Where the front listens, and why it refused the handshakes it refused."""

    address: str
    refused_handshakes: list[str] = field(default_factory=list)


class _Tls:
    """One client's TLS session, spoken over asyncio streams by hand (ssl.SSLObject on memory
    buffers): unlike `start_server(ssl=...)`, which drops a failed handshake without a word,
    it sends the client the alert saying why, as a real TLS server does."""

    def __init__(self, context: ssl.SSLContext, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.session = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.reader, self.writer = reader, writer

    async def _flush(self) -> None:
        if pending := self.outgoing.read():
            self.writer.write(pending)
            await self.writer.drain()

    async def _receive(self) -> bool:
        data = await self.reader.read(65536)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()
        return bool(data)

    async def handshake(self) -> None:
        while True:
            try:
                self.session.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                if not await self._receive():
                    raise ConnectionResetError("the client left during the handshake") from None
            except ssl.SSLError:
                await self._flush()  # the alert
                raise
        await self._flush()

    async def read(self) -> bytes:
        """Plaintext from the client; b"" once it has gone."""
        while True:
            try:
                return self.session.read(65536)
            except ssl.SSLWantReadError:
                await self._flush()  # e.g. session tickets
                if not await self._receive():
                    return b""
            except ssl.SSLZeroReturnError:
                return b""

    async def write(self, data: bytes) -> None:
        self.session.write(data)
        await self._flush()


@contextlib.asynccontextmanager
async def tls_front(temporal_address: str, *, server: Issued,
                    client_authority: Authority | None = None) -> AsyncIterator[TlsFront]:
    """TLS on 127.0.0.1 (a free port) in front of `temporal_address`: the server certificate
    `server`, HTTP/2 offered by ALPN (gRPC speaks nothing else) and, with `client_authority`,
    mTLS: a client without a certificate that authority signed is refused."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server.cert, server.key)
    context.set_alpn_protocols(["h2"])
    if client_authority is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_authority.ca)
    host, port = temporal_address.rsplit(":", 1)
    front = TlsFront(address="")
    serving: set[asyncio.Task[None]] = set()

    async def to_temporal(client: _Tls, temporal: asyncio.StreamWriter) -> None:
        while data := await client.read():
            temporal.write(data)
            await temporal.drain()

    async def to_client(temporal: asyncio.StreamReader, client: _Tls) -> None:
        while data := await temporal.read(65536):
            await client.write(data)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Tls(context, reader, writer)
        temporal_writer = None
        try:
            try:
                await client.handshake()
            except ssl.SSLError as refused:
                front.refused_handshakes.append(refused.reason or str(refused))
                # Hang up only once the client has read the alert and gone: closing on what
                # it sent meanwhile would reset the connection, alert unread.
                with contextlib.suppress(ConnectionError, TimeoutError):
                    async with asyncio.timeout(2):
                        while await reader.read(65536):
                            pass
                return
            temporal_reader, temporal_writer = await asyncio.open_connection(host, int(port))
            pipes = [asyncio.create_task(to_temporal(client, temporal_writer)),
                     asyncio.create_task(to_client(temporal_reader, client))]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        except (ConnectionError, ssl.SSLError):
            pass  # one side went away: so does the other
        finally:
            writer.close()
            if temporal_writer is not None:
                temporal_writer.close()

    def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(serve(reader, writer))
        serving.add(task)
        task.add_done_callback(serving.discard)

    listening = await asyncio.start_server(connected, "127.0.0.1", 0)
    front.address = f"127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    try:
        yield front
    finally:
        listening.close()
        for task in list(serving):
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)
        await listening.wait_closed()
