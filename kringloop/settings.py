"""All of Kringloop's configuration, read once from `KRINGLOOP_*` environment variables."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

HOME = Path(".kringloop")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ORG_FILE = PROJECT_ROOT / "examples" / "org.toml"


class Settings(BaseSettings):
    """Kringloop settings; unset services mean "start the embedded one"."""

    model_config = SettingsConfigDict(env_prefix="KRINGLOOP_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{HOME / 'kringloop.db'}")
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_db_file: Path | None = None
    task_queue: str = "kringloop-cases"
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    mail_from: str = "Kringloop <loop@kringloop.local>"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None
    intake_token: str | None = None
    admin_token: str | None = None
    secret_key: str | None = None
    org_file: Path = DEFAULT_ORG_FILE
    time_scale: float = Field(default=1.0, gt=0)
    # How long a closed case (or a sent rejection) keeps the person's data; then it is erased.
    retention_months: int = Field(default=24, gt=0)
    # Requests per source (intake token or address) and per person signing in; "a/second;b/hour".
    rate_limit_intake: str = "100/second;3000/minute"
    rate_limit_sign_in: str = "5/minute;20/hour"
    # Where the counts live: memory per web process; a shared one (async+redis://…) for several.
    rate_limit_storage: str = "async+memory://"
    log_format: Literal["json", "text"] = "json"
    home: Path = HOME

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return url

    @field_validator("rate_limit_intake", "rate_limit_sign_in")
    @classmethod
    def _rate_limits(cls, text: str) -> str:
        from limits import parse_many

        try:
            parse_many(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a rate such as '5/minute;20/hour'") from None
        return text

    @field_validator("org_file")
    @classmethod
    def _org_file_exists(cls, path: Path) -> Path:
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def base_url(self) -> str:
        """Where respondents reach the web app (links in emails)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.web_host}:{self.web_port}"

    def _generated_secret(self, name: str) -> str:
        """A secret kept under the home folder, for the embedded default only."""
        path = self.home / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    @cached_property
    def signing_key(self) -> str:
        """Key for signed links in emails."""
        return self.secret_key or self._generated_secret("secret_key")

    @cached_property
    def api_admin_token(self) -> str:
        """The admin token: from the environment, else generated once and shown by `up`."""
        return self.admin_token or self._generated_secret("admin_token")


class SettingsError(Exception):
    """Settings that cannot be used, explained in one line."""


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise SettingsError with one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = "KRINGLOOP_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
