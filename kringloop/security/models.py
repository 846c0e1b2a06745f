"""Sign-in records: passwords, API tokens, magic links, sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kringloop.database import moment_column


class Credential(SQLModel, table=True):
    """A member's password (argon2 hash), for password sign-in next to magic links."""

    email: str = Field(primary_key=True, max_length=254)
    password_hash: str
    updated_at: datetime = moment_column(nullable=False)


class ApiToken(SQLModel, table=True):
    """A personal token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=16)
    email: str = Field(index=True, max_length=254)
    token_hash: str = Field(unique=True, max_length=64)
    label: str = ""
    created_at: datetime = moment_column(nullable=False)
    last_used_at: datetime | None = moment_column(nullable=True)
    revoked_at: datetime | None = moment_column(nullable=True)


class MagicLink(SQLModel, table=True):
    """A one-time sign-in link: expires, and works once (only its SHA-256 is stored)."""

    __tablename__ = "magic_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(index=True, max_length=254)
    created_at: datetime = moment_column(nullable=False)
    expires_at: datetime = moment_column(nullable=False)
    used_at: datetime | None = moment_column(nullable=True)


class SignInSession(SQLModel, table=True):
    """A browser signed in to the workspace. Its cookie holds only a random secret (whose
    SHA-256 is stored here), so the session ends here: at sign-out, a password change, or when
    the organisation file no longer gives the person the standing they signed in with."""

    __tablename__ = "sign_in_session"

    secret_hash: str = Field(primary_key=True, max_length=64)
    email: str = Field(index=True, max_length=254)
    # Role and teams at sign-in (`Principal.standing`): any change ends the session.
    standing: str = Field(max_length=512)
    created_at: datetime = moment_column(nullable=False)
    expires_at: datetime = moment_column(nullable=False)
    ended_at: datetime | None = moment_column(nullable=True)
