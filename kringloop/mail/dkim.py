"""DKIM signatures (RFC 6376) on the emails we send, when KRINGLOOP_DKIM_DOMAIN, _SELECTOR and
_PRIVATE_KEY_FILE are set: a receiving server checks them against the public key published at
`<selector>._domainkey.<domain>`, and can tell our emails from forgeries (DMARC, when the
domain is the From address's)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import dkim

from kringloop.settings import Settings, read_dkim_key

# What a forger would change or add, signed when present: who it is from and to, what it says
# and answers, the one-click unsubscribe (RFC 8058 asks for it to be signed), how to read it.
SIGNED_HEADERS = (
    "From", "To", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To", "References",
    "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted", "MIME-Version",
    "Content-Type",
)


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_key: bytes = field(repr=False)  # PKCS#1 PEM, the form dkimpy reads

    def sign(self, content: bytes, headers: Iterable[str]) -> bytes:
        """`content` (the message as sent, CRLF line ends) with its DKIM-Signature in front.
        `headers` are the message's own; relaxed canonicalisation, so a relay re-folding a
        header or trimming a line's trailing space breaks nothing."""
        present = {name.lower() for name in headers}
        signed = [name.encode() for name in SIGNED_HEADERS if name.lower() in present]
        signature = dkim.sign(content, self.selector.encode(), self.domain.encode(),
                              self.private_key, include_headers=signed,
                              canonicalize=(b"relaxed", b"relaxed"))
        return signature + content


def dkim_key(settings: Settings) -> DkimKey | None:
    """The configured key (settings refuse to start with only some of the three set)."""
    if not (settings.dkim_domain and settings.dkim_selector and settings.dkim_private_key_file):
        return None
    return _read(settings.dkim_domain, settings.dkim_selector, settings.dkim_private_key_file)


@lru_cache(maxsize=4)
def _read(domain: str, selector: str, path: Path) -> DkimKey:
    """Read once per process, not for every email."""
    return DkimKey(domain=domain, selector=selector, private_key=read_dkim_key(path))
