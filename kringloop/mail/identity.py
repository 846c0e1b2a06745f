"""Who Kringloop's emails come from: the organisation, by name and address, and the person of
the organisation who writes ("Bram de Groot via Fietsenwinkel Kringloop B.V.")."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Protocol

from kringloop.settings import Settings

# For an organisation file that is only tried out: it names no address of its own.
PLACEHOLDER_ADDRESS = "loop@kringloop.local"
PLACEHOLDER_NAME = "Kringloop"


class Named(Protocol):
    """What the sender is made of: the organisation file's `name` and `email` (the mail layer
    sits beside kringloop.org, so it asks for these two and nothing more)."""

    @property
    def name(self) -> str: ...

    @property
    def email(self) -> str | None: ...


@dataclass(frozen=True)
class Sender:
    """The organisation's name and the address its emails come from (and bounce back to,
    unless an email names another envelope sender)."""

    name: str
    address: str

    def display_name(self, person: str | None = None) -> str:
        """The From's name: the organisation's, or the person's on its behalf."""
        return f"{person} via {self.name}" if person else self.name


def sender_of(settings: Settings, org: Named | None = None) -> Sender:
    """KRINGLOOP_MAIL_FROM when set (its name, else the organisation's); else the organisation
    file's name and email; else a placeholder address."""
    if settings.mail_from:
        name, address = parseaddr(settings.mail_from)
        fallback = org.name if org is not None else PLACEHOLDER_NAME
        return Sender(name=name or fallback, address=address or PLACEHOLDER_ADDRESS)
    if org is None:
        return Sender(name=PLACEHOLDER_NAME, address=PLACEHOLDER_ADDRESS)
    return Sender(name=org.name, address=org.email or PLACEHOLDER_ADDRESS)
