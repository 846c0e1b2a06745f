"""Reply addresses: each case's respondent writes back to `antwoord+<token>@<reply domain>`.

The token is random and stored, so it says nothing about the case or the person; only a reply
to it lands on its case. Lower-case letters and digits only: some mail systems lower-case the
local part of an address on the way.
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from kringloop.database import moment_column

_ALPHABET = string.ascii_lowercase + string.digits
TOKEN_LENGTH = 20  # 103 bits: no one guesses another case's address


class ReplyAddress(SQLModel, table=True):
    """The opaque token a case's replies come back with."""

    __tablename__ = "reply_address"

    token: str = Field(primary_key=True, max_length=TOKEN_LENGTH)
    case_id: str = Field(index=True, unique=True, max_length=140)
    created_at: datetime = moment_column(nullable=False)


_REPLY_ADDRESS = ReplyAddress.__table__  # type: ignore[attr-defined]


def with_token(base: str, token: str) -> str:
    """`antwoord@example.nl` and a token: `antwoord+<token>@example.nl`."""
    local, _, domain = base.rpartition("@")
    return f"{local}+{token}@{domain}"


def token_in(address: str) -> str | None:
    """The token of a plus-address we handed out, if the address has one of the right shape."""
    local = address.rpartition("@")[0]
    _, plus, token = local.partition("+")
    token = token.lower()
    if plus and len(token) == TOKEN_LENGTH and all(c in _ALPHABET for c in token):
        return token
    return None


def reply_token_for(connection: Connection, case_id: str) -> str:
    """The case's token, made on first use (the same token ever after, also when two
    emails of the case make it at the same moment: the one stored first wins)."""
    found = _token_of(connection, case_id)
    if found is not None:
        return found
    token = "".join(secrets.choice(_ALPHABET) for _ in range(TOKEN_LENGTH))
    try:
        with connection.begin_nested():  # a savepoint: the caller's transaction goes on
            connection.execute(insert(_REPLY_ADDRESS).values(token=token, case_id=case_id,
                                                             created_at=datetime.now(UTC)))
    except IntegrityError:
        stored = _token_of(connection, case_id)
        if stored is None:
            raise
        return stored
    return token


def _token_of(connection: Connection, case_id: str) -> str | None:
    found = connection.execute(select(_REPLY_ADDRESS.c.token)
                               .where(_REPLY_ADDRESS.c.case_id == case_id)).scalar()
    return None if found is None else str(found)


def case_for_token(connection: Connection, token: str) -> str | None:
    return connection.execute(select(_REPLY_ADDRESS.c.case_id)
                              .where(_REPLY_ADDRESS.c.token == token.lower())).scalar()
