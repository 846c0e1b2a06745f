"""The suppression list: addresses that unsubscribed or bounce, and the emails they no longer
get."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, Row, select
from sqlmodel import Session

from kringloop.mail.models import Suppression

_SUPPRESSION = Suppression.__table__  # type: ignore[attr-defined]

# The reason an address is on the list because mail to it came back (a delivery report).
BOUNCED = "bounced"
# A sign-in link is asked for by the person themselves, at that moment: never withheld.
ALWAYS_SENT = ("sign_in",)


def suppressible(email: str) -> str:
    """The address as the list keeps it (lower case), or ValueError: what a tool says
    unsubscribed must be an address we could ever write to."""
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(f"{email!r} is not an email address: {error}") from None


def suppress(*, session: Session, email: str, reason: str, source: str | None,
             now: datetime) -> None:
    """Put the address on the list (again: the first reason and moment stay)."""
    if session.get(Suppression, email.lower()) is None:
        session.add(Suppression(email=email.lower(), reason=reason, source=source, since=now))


def suppressed_among(connection: Connection, emails: Iterable[str]) -> dict[str, str]:
    """Of these addresses, those on the list: address (lower case) -> why, for the record."""
    wanted = {email.lower() for email in emails}
    if not wanted:
        return {}
    rows = connection.execute(select(_SUPPRESSION.c.email, _SUPPRESSION.c.reason,
                                     _SUPPRESSION.c.source, _SUPPRESSION.c.since)
                              .where(_SUPPRESSION.c.email.in_(wanted)))
    return {row.email: _withheld_because(row) for row in rows}


def _withheld_because(row: Row[Any]) -> str:
    if row.reason == BOUNCED:
        return (f"not sent: {row.email} bounced on {row.since:%Y-%m-%d}"
                + (f" ({row.source})" if row.source else ""))
    return (f"not sent: {row.email} unsubscribed" + (f" through {row.source}" if row.source
                                                      else "")
            + f" on {row.since:%Y-%m-%d} ({row.reason})")
