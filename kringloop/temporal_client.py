"""How a Kringloop process reaches an external Temporal: its address, namespace, TLS (with a
client certificate for mTLS) or API key, and the encrypting data converter, the same for the
stack, the worker, the web app and every command."""

from __future__ import annotations

import asyncio
import re

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from kringloop.security.payload_codec import data_converter
from kringloop.settings import Settings

_CHECK_CA = "check KRINGLOOP_TEMPORAL_TLS_CA / KRINGLOOP_TEMPORAL_TLS_SERVER_NAME"
_CHECK_CLIENT = "check KRINGLOOP_TEMPORAL_TLS_CERT / KRINGLOOP_TEMPORAL_TLS_KEY"

# The SDK's Rust core reports a failed connection as one RuntimeError holding its errors' debug
# text (tonic, hyper, rustls), never as types: what that text says, in an operator's words and
# with the settings to check. The first pattern found wins; `{0}` is what it captured.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"ConnectionRefused"),
     "connection refused (check KRINGLOOP_TEMPORAL_ADDRESS, and that Temporal runs there)"),
    (re.compile(r"InvalidCertificate\(UnknownIssuer\)"),
     "the TLS handshake failed: certificate verify failed, the server's certificate is not "
     f"signed by a CA we trust ({_CHECK_CA})"),
    (re.compile(r"InvalidCertificate\(NotValidForName"),
     "the TLS handshake failed: certificate verify failed, the server's certificate is for "
     f"another name ({_CHECK_CA})"),
    (re.compile(r"InvalidCertificate\((\w+)"),
     f"the TLS handshake failed: certificate verify failed: {{0}} ({_CHECK_CA})"),
    (re.compile(r"AlertReceived\(CertificateRequired\)|fatal alert: CertificateRequired"),
     f"the server refused the TLS handshake: it wants a client certificate ({_CHECK_CLIENT})"),
    (re.compile(r"(?:AlertReceived\(|fatal alert: )(UnknownCA|BadCertificate|CertificateUnknown"
                r"|CertificateExpired|CertificateRevoked|UnsupportedCertificate|AccessDenied)"),
     f"the server refused the TLS handshake: it does not take our client certificate ({{0}}; "
     f"{_CHECK_CLIENT})"),
    (re.compile(r"AlertReceived\((\w+)\)|received fatal alert: (\w+)"),
     f"the server refused the TLS handshake: {{0}} ({_CHECK_CLIENT})"),
    (re.compile(r"InvalidMessage|CorruptMessage"),
     "the server does not speak TLS (unset KRINGLOOP_TEMPORAL_TLS_* and "
     "KRINGLOOP_TEMPORAL_API_KEY for a plaintext Temporal)"),
    (re.compile(r'code: (?:Unauthenticated|PermissionDenied), message: "([^"]*)"'),
     "the server refused our credentials: {0} (check KRINGLOOP_TEMPORAL_API_KEY, "
     "KRINGLOOP_TEMPORAL_TLS_CERT)"),
)


class TemporalUnreachable(RuntimeError):
    """Temporal cannot be reached, said in one line: why, and which settings to check."""


async def connect_temporal(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client of KRINGLOOP_TEMPORAL_ADDRESS; raises TemporalUnreachable (a RuntimeError) when
    it does not answer or the TLS handshake fails."""
    assert settings.temporal_address, "connect_temporal needs KRINGLOOP_TEMPORAL_ADDRESS"
    tls = await asyncio.to_thread(_tls_for, settings)  # reads the PEM files
    api_key = settings.temporal_api_key
    try:
        return await Client.connect(
            settings.temporal_address, runtime=runtime, namespace=settings.temporal_namespace,
            data_converter=data_converter(settings), tls=tls,
            api_key=api_key.get_secret_value() if api_key else None)
    except RuntimeError as error:
        why = _why(str(error), tls=bool(tls))
        if api_key:  # never echoed, whatever the SDK's text held
            why = why.replace(api_key.get_secret_value(), "**********")
        raise TemporalUnreachable(why) from None


def _tls_for(settings: Settings) -> TLSConfig | bool:
    """The TLS the settings ask for: a TLSConfig from the PEM files and server name; with only
    an API key, TLS with the system's CAs (as the SDK itself does: Temporal Cloud's API keys
    travel over TLS only); else none."""
    if (settings.temporal_tls_cert or settings.temporal_tls_ca
            or settings.temporal_tls_server_name):
        cert, key, ca = (path.read_bytes() if path else None for path in (
            settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca))
        return TLSConfig(client_cert=cert, client_private_key=key, server_root_ca_cert=ca,
                         domain=settings.temporal_tls_server_name)
    return settings.temporal_api_key is not None


def _why(error: str, *, tls: bool) -> str:
    for pattern, reason in _REASONS:
        if found := pattern.search(error):
            return reason.format(*(group for group in found.groups() if group))
    if "connection closed" in error or "UnexpectedEof" in error or "BrokenPipe" in error:
        # The server hung up on the first call: over TLS, as one asking for a client
        # certificate does (the SDK loses its alert); in plaintext, as a TLS server does.
        if tls:
            return ("the server closed the connection after the TLS handshake: it may want a "
                    f"client certificate it trusts ({_CHECK_CLIENT})")
        return ("the server closed the connection: it may want TLS (set "
                "KRINGLOOP_TEMPORAL_TLS_CA or KRINGLOOP_TEMPORAL_API_KEY)")
    return " ".join(error.split())  # whatever it is, on one line
