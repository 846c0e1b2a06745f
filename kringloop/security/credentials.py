"""Sign-in secrets: passwords (argon2), personal API tokens, one-time magic links and the
sessions of signed-in browsers."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from kringloop.security.models import ApiToken, Credential, MagicLink, SignInSession

MAGIC_LINK_LIFETIME = timedelta(minutes=15)
# The link an operator is handed in the terminal (`kringloop up`, `member sign-in-link`): they
# may open it later in the day than an emailed one; it still works only once.
OPERATOR_LINK_LIFETIME = timedelta(hours=12)
# How stale a token's "last used" may be: a busy client then writes once a minute, not per request.
TOKEN_USE_PRECISION = timedelta(minutes=1)
_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps response times alike (no user probing).
_DUMMY_HASH = _hasher.hash("not a password anyone has")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def set_password(*, session: Session, email: str, password: str) -> None:
    if len(password) < 12:
        raise ValueError("a password needs at least 12 characters")
    row = session.get(Credential, email) or Credential(email=email, password_hash="",
                                                         updated_at=datetime.now(UTC))
    row.password_hash = _hasher.hash(password)
    row.updated_at = datetime.now(UTC)
    session.add(row)
    _end_sessions(session, SignInSession.email == email)  # whoever knew the old one is out
    session.commit()


def password_matches(*, session: Session, email: str, password: str) -> bool:
    row = session.get(Credential, email)
    try:
        return _hasher.verify(row.password_hash if row else _DUMMY_HASH, password) and bool(row)
    except (VerificationError, InvalidHashError):
        return False


def create_api_token(*, session: Session, email: str, label: str = "") -> tuple[str, str]:
    """A new token: (its id, the secret shown once). The secret names its id for revocation."""
    token_id = secrets.token_hex(4)
    secret = f"kl_{token_id}_{secrets.token_urlsafe(32)}"
    session.add(ApiToken(id=token_id, email=email, token_hash=_digest(secret), label=label,
                         created_at=datetime.now(UTC)))
    session.commit()
    return token_id, secret


def email_for_api_token(*, session: Session, secret: str) -> str | None:
    """Whose token this is, if it is still valid; marks it used (`kringloop token list`)."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(secret))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_PRECISION:
        row.last_used_at = now
        session.add(row)
        session.commit()
    return row.email


def revoke_api_token(*, session: Session, token_id: str) -> bool:
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    session.add(row)
    session.commit()
    return True


def api_tokens_of(*, session: Session, email: str) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.email == email)
                             .order_by(col(ApiToken.created_at))).all())


def create_magic_link(*, session: Session, email: str,
                      lifetime: timedelta = MAGIC_LINK_LIFETIME) -> str:
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(MagicLink(token_hash=_digest(secret), email=email, created_at=now,
                          expires_at=now + lifetime))
    session.commit()
    return secret


def magic_link_usable(*, session: Session, secret: str) -> bool:
    """Whether the link would still sign in, without using it up."""
    row = session.get(MagicLink, _digest(secret))
    return row is not None and row.used_at is None and row.expires_at > datetime.now(UTC)


def redeem_magic_link(*, session: Session, secret: str) -> str | None:
    """The email the link signs in, once: a second use, or a late one, gets None."""
    now = datetime.now(UTC)
    claimed = session.exec(  # type: ignore[call-overload]
        update(MagicLink)
        .where(col(MagicLink.token_hash) == _digest(secret), col(MagicLink.used_at).is_(None),
               col(MagicLink.expires_at) > now)
        .values(used_at=now)
    )
    session.commit()
    if claimed.rowcount != 1:
        return None
    row = session.get(MagicLink, _digest(secret))
    return row.email if row else None


def start_session(*, session: Session, email: str, standing: str, lifetime: timedelta) -> str:
    """A new signed-in session; the secret is for the browser's cookie only."""
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(SignInSession(secret_hash=_digest(secret), email=email, standing=standing,
                              created_at=now, expires_at=now + lifetime))
    session.commit()
    return secret


def session_of(*, session: Session, secret: str) -> SignInSession | None:
    """The session a cookie's secret belongs to, while it lasts."""
    row = session.get(SignInSession, _digest(secret))
    if row is None or row.ended_at is not None or row.expires_at <= datetime.now(UTC):
        return None
    return row


def end_session(*, session: Session, secret: str) -> None:
    _end_sessions(session, SignInSession.secret_hash == _digest(secret))
    session.commit()


def _end_sessions(session: Session, which: object) -> None:
    session.exec(update(SignInSession)  # type: ignore[call-overload]
                 .where(which, col(SignInSession.ended_at).is_(None))
                 .values(ended_at=datetime.now(UTC)))
