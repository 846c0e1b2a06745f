"""Signed intake webhooks: an HMAC-SHA256 over the raw body and a timestamp, per source.

A survey tool that has a secret with us sends two headers with each response it posts:

    X-Kringloop-Source: typeform
    X-Kringloop-Signature: t=1767225600,v1=<hex HMAC-SHA256 of "1767225600." + raw body>

The shape is Stripe's: the timestamp is signed with the body, so an old request cannot be
sent again later (only within the tolerance, and intake is idempotent by response id anyway).
Several `v1=` values may be given (a sender rotating its own secret); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

SOURCE_HEADER = "X-Kringloop-Source"
SIGNATURE_HEADER = "X-Kringloop-Signature"
SCHEME = "v1"


class SignatureRefused(Exception):
    """Why a request's signature does not count, in words an integrator can act on."""


def signature_of(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"{timestamp}." + body` under `secret`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The `X-Kringloop-Signature` value a sender puts on `body` (now, unless told when)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},{SCHEME}={signature_of(secret, timestamp, body)}"


def _parsed(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            signatures.append(value.strip().lower())
    if timestamp is None or not signatures:
        raise SignatureRefused(f"{SIGNATURE_HEADER} must look like t=<unix time>,{SCHEME}=<hex "
                               "HMAC-SHA256 of the timestamp, a dot and the raw body>")
    return timestamp, signatures


def verify(*, secrets: Mapping[str, Sequence[str]], source: str | None, header: str | None,
           body: bytes, tolerance_s: int, now: float | None = None) -> None:
    """Accept the request, or raise SignatureRefused saying why (missing, unknown source,
    outside the time window, or not matching the body under any of the source's secrets)."""
    if not header:
        raise SignatureRefused(f"this intake needs a signed request: the {SIGNATURE_HEADER} "
                               "header is missing")
    if not source:
        raise SignatureRefused(f"the {SOURCE_HEADER} header is missing: it names the sender "
                               "whose secret signed the request")
    known = secrets.get(source)
    if not known:
        raise SignatureRefused(f"unknown source {source!r} in {SOURCE_HEADER}")
    timestamp, signatures = _parsed(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise SignatureRefused(
            f"the signature's timestamp is {round(now - timestamp)} s away from our clock; "
            f"at most {tolerance_s} s is accepted (check the sender's clock, sign each "
            "delivery anew)")
    expected = [signature_of(secret, timestamp, body).encode() for secret in known]
    # compare_digest takes the same time wherever two signatures differ: nothing to time.
    if not any(hmac.compare_digest(candidate, given.encode())
               for candidate in expected for given in signatures):
        raise SignatureRefused(f"the signature does not match the body for source {source!r} "
                               "(sign the raw body exactly as sent, with this source's secret)")
