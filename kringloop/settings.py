"""All of Kringloop's configuration, read once from `KRINGLOOP_*` environment variables."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kringloop.resources import EXAMPLE_ORG_FILE

HOME = Path(".kringloop")
# What a server bound to every address of the machine listens on.
_ALL_ADDRESSES = ("0.0.0.0", "::", "")
DEFAULT_ORG_FILE = EXAMPLE_ORG_FILE
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ORIGIN = re.compile(r"^https?://[^/\s]+$")
MIN_WEBHOOK_SECRET_LENGTH = 16


@dataclass(frozen=True)
class PayloadKey:
    """An AES-GCM key for Temporal payloads and the id written beside what it encrypts."""

    key_id: str
    secret: bytes = field(repr=False)


def _listed(parse: Callable[[list[str]], object]) -> BeforeValidator:
    """A setting written in the environment as a comma-separated list, read by `parse`; a value
    given already parsed (in code, by tests) is taken as it is."""
    return BeforeValidator(lambda value: parse(
        [item.strip() for item in value.split(",") if item.strip()])
        if isinstance(value, str) else value)


def parse_payload_key(item: str) -> PayloadKey:
    """`kid:base64key` (16, 24 or 32 bytes: AES-128/192/256)."""
    key_id, colon, encoded = item.partition(":")
    key_id = key_id.strip()
    if not colon or not _NAME.fullmatch(key_id):
        raise ValueError("each key must look like kid:base64key (kid: letters, digits, . _ -)")
    try:
        secret = base64.b64decode(encoded.strip().replace("-", "+").replace("_", "/"),
                                  validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"key {key_id!r} is not valid base64") from None
    if len(secret) not in (16, 24, 32):
        raise ValueError(f"key {key_id!r} is {len(secret)} bytes; AES-GCM needs 16, 24 or 32 "
                         "(make one: openssl rand -base64 32)")
    return PayloadKey(key_id=key_id, secret=secret)


def read_dkim_key(path: Path) -> bytes:
    """The RSA private key in the PEM file `path` as PKCS#1 PEM, the form dkimpy reads
    (`openssl genrsa` writes PKCS#8 nowadays); ValueError saying what is wrong."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_pem_private_key,
    )

    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    except (ValueError, TypeError):
        raise ValueError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(f"{path} holds no RSA private key (DKIM signs with rsa-sha256)")
    return key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())


def _webhook_secrets(items: list[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for item in items:
        source, equals, secret = item.partition("=")
        source, secret = source.strip(), secret.strip()
        if not equals or not _NAME.fullmatch(source):
            raise ValueError("each entry must look like source=secret "
                             "(source: letters, digits, . _ -)")
        if len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
            raise ValueError(f"the secret for {source!r} is shorter than "
                             f"{MIN_WEBHOOK_SECRET_LENGTH} characters")
        if secret in found.get(source, ()):
            raise ValueError(f"the same secret is given twice for {source!r}")
        found[source] = (*found.get(source, ()), secret)
        if len(found[source]) > 2:
            raise ValueError(f"{source!r} has more than two secrets (the new and the old "
                             "one, while rotating)")
    return found


def _payload_keys(items: list[str]) -> tuple[PayloadKey, ...]:
    keys = tuple(parse_payload_key(item) for item in items)
    ids = [key.key_id for key in keys]
    if len(set(ids)) != len(ids):
        raise ValueError("a key id is given twice")
    return keys


def _origins(items: list[str]) -> tuple[str, ...]:
    origins = tuple(item.rstrip("/") for item in items)
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"{origin!r} is not an origin such as http://localhost:8233")
    return origins


class Settings(BaseSettings):
    """Kringloop settings; unset services mean "start the embedded one"."""

    model_config = SettingsConfigDict(env_prefix="KRINGLOOP_", extra="ignore")

    # Where the embedded parts keep their files (database, outbox, Temporal, secrets).
    home: Path = HOME
    # Unset: SQLite in the home folder, wherever KRINGLOOP_HOME puts it.
    database_url: str = Field(
        default_factory=lambda given: f"sqlite:///{given['home'] / 'kringloop.db'}")
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    # A Temporal that asks for TLS (a secured cluster, Temporal Cloud): PEM files of the client
    # certificate and its key (mTLS: both or neither), of the CA that signed the server's
    # certificate (unset: the system's CAs), and the name on that certificate (unset: the
    # address's host). Any of them, or an API key (a bearer token), turns TLS on.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = Field(default=None, validate_default=True)
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None
    # The embedded dev server keeps its workflows on disk, so open cases, timers and mailings
    # outlive a restart of `kringloop up`; "memory" (twice as fast, lost on stop) only when
    # asked for, as the benchmark and the demo do. The file defaults to `home/temporal.db`.
    temporal_storage: Literal["disk", "memory"] = "disk"
    temporal_db_file: Path | None = None
    task_queue: str = "kringloop-cases"
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False
    # The From of every email ("Name <address>"); unset, the org file's `name` and `email`.
    mail_from: str | None = None
    # Replies from respondents: the address they write to (+ the case's token); unset, the org
    # file's `reply_address`. The inbound SMTP listener of `kringloop up` / `kringloop inbound`
    # takes them on this host and port (the next free port when it is taken, printed at start).
    reply_address: str | None = None
    inbound_host: str = "127.0.0.1"
    inbound_port: int = Field(default=2525, ge=0, le=65535)
    # The largest inbound email taken (bigger is refused at SMTP), and the largest attachment
    # kept with a reply (bigger ones are left out, with a note on the case).
    inbound_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    inbound_attachment_max_bytes: int = Field(default=2 * 1024 * 1024, ge=0)
    # Mailgun's inbound routes post replies to /api/inbound/mailgun, signed with this key.
    mailgun_signing_key: SecretStr | None = None
    # DKIM: sign every outgoing email when all three are set (the key as a PEM file).
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key_file: Path | None = Field(default=None, validate_default=True)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None
    # Host names the web app answers to besides PUBLIC_URL's, the bound address and loopback
    # (e.g. a load balancer's health check by IP); any other Host header is refused (400), so
    # a page rebinding its own DNS name to this machine gets nothing.
    allowed_hosts: Annotated[tuple[str, ...], NoDecode, _listed(tuple)] = ()
    # Proxies whose X-Forwarded-For / -Proto are believed ("10.0.0.5,10.0.0.6", "*"): the
    # client address the rate limits count by. Unset: nobody's, the connection's address counts.
    forwarded_allow_ips: Annotated[tuple[str, ...], NoDecode, _listed(tuple)] = ()
    intake_token: str | None = None
    admin_token: str | None = None
    # A token that reads /metrics and nothing else (for Prometheus); the admin token works too.
    metrics_token: str | None = None
    secret_key: str | None = None
    org_file: Path = DEFAULT_ORG_FILE
    time_scale: float = Field(default=1.0, gt=0)
    # How long a closed case (or a sent rejection) keeps the person's data; then it is erased.
    retention_months: int = Field(default=24, gt=0)
    # Requests per source (intake token or address), per person signing in from one client (and
    # sign-in links mailed to one person), and sign-in tries per client over everyone;
    # "a/second;b/hour".
    rate_limit_intake: str = "100/second;3000/minute"
    rate_limit_sign_in: str = "5/minute;20/hour"
    rate_limit_sign_in_client: str = "20/minute;100/hour"
    # Where the counts live: memory per web process; a shared one (async+redis://…) for several.
    rate_limit_storage: str = "async+memory://"
    # Below this much free space on the embedded SQLite database's disk, /health says the
    # database is not writable: a load balancer stops sending before intake starts failing.
    min_free_disk_mb: int = Field(default=64, ge=0)
    # The largest request body taken (JSON or a form); a larger one gets 413 before it is read.
    max_body_bytes: int = Field(default=256 * 1024, gt=0)
    # Signed intake: "source=secret,source=older-secret,other=secret" (two per source while
    # rotating). Once set, POST /api/responses needs X-Kringloop-Signature (webhook_signatures).
    webhook_secrets: Annotated[dict[str, tuple[str, ...]], NoDecode,
                              _listed(_webhook_secrets)] = Field(default_factory=dict)
    # How old (or how far ahead of our clock) a signature's timestamp may be.
    webhook_tolerance_s: int = Field(default=300, ge=1, le=3600)
    # Temporal payloads are AES-GCM encrypted (payload_codec): "kid:base64key[,oldkid:oldkey]",
    # the first encrypts, all decrypt. Unset: one generated under `home` (one machine only).
    payload_keys: Annotated[tuple[PayloadKey, ...], NoDecode, _listed(_payload_keys)] = ()
    payload_encryption: bool = True
    # Where the Temporal UI runs, for the codec server's CORS (`kringloop codec-server`).
    temporal_ui_origins: Annotated[tuple[str, ...], NoDecode, _listed(_origins)] = (
        "http://localhost:8233", "http://127.0.0.1:8233")
    log_format: Literal["json", "text"] = "json"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return url

    @field_validator("rate_limit_intake", "rate_limit_sign_in", "rate_limit_sign_in_client")
    @classmethod
    def _rate_limits(cls, text: str) -> str:
        from limits import parse_many

        try:
            parse_many(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a rate such as '5/minute;20/hour'") from None
        return text

    @field_validator("temporal_tls_cert", "temporal_tls_key", "temporal_tls_ca",
                     "temporal_tls_server_name", "temporal_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # A compose file passes a variable it has no value for as an empty one.
        return None if value == "" else value

    @field_validator("temporal_tls_cert", "temporal_tls_key", "temporal_tls_ca")
    @classmethod
    def _pem_file_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @field_validator("temporal_tls_key")
    @classmethod
    def _client_key_with_its_certificate(cls, key: Path | None,
                                         info: ValidationInfo) -> Path | None:
        if "temporal_tls_cert" not in info.data:
            return key  # the certificate was refused already, for a reason of its own
        if info.data["temporal_tls_cert"] and not key:
            raise ValueError("KRINGLOOP_TEMPORAL_TLS_CERT is set without its private key: "
                             "set KRINGLOOP_TEMPORAL_TLS_KEY too")
        if key and not info.data["temporal_tls_cert"]:
            raise ValueError("a private key without its client certificate: set "
                             "KRINGLOOP_TEMPORAL_TLS_CERT too")
        return key

    @field_validator("mail_from")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        if not value:
            return None  # a compose file passes a variable it has no value for as an empty one
        if "@" not in parseaddr(value)[1]:
            raise ValueError(f"{value!r} is not an address such as 'Name <loop@example.nl>'")
        return value

    @field_validator("dkim_private_key_file")
    @classmethod
    def _dkim_all_or_nothing(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        named = {"KRINGLOOP_DKIM_DOMAIN": info.data.get("dkim_domain"),
                 "KRINGLOOP_DKIM_SELECTOR": info.data.get("dkim_selector"),
                 "KRINGLOOP_DKIM_PRIVATE_KEY_FILE": path}
        missing = [name for name, value in named.items() if not value]
        if len(missing) in (1, 2):
            raise ValueError(f"DKIM signing needs all three of {', '.join(named)}: "
                             f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                             "not set")
        if path is not None:
            read_dkim_key(path)  # a key that does not read stops the start, not every email
        return path

    @field_validator("org_file")
    @classmethod
    def _org_file_exists(cls, path: Path) -> Path:
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @property
    def embedded_temporal_file(self) -> Path | None:
        """Where the embedded Temporal dev server keeps its workflows; None: in memory."""
        if self.temporal_storage == "memory":
            return None
        return self.temporal_db_file or self.home / "temporal.db"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def base_url(self) -> str:
        """Where respondents reach the web app (links in emails)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.web_host}:{self.web_port}"

    @property
    def trusted_hosts(self) -> list[str]:
        """The Host header values the web app answers to."""
        hosts = {"localhost", "127.0.0.1", "::1", *self.allowed_hosts}
        if self.public_url:
            hosts.add(urlsplit(self.public_url).hostname or "")
        if self.web_host not in _ALL_ADDRESSES:
            hosts.add(self.web_host)
        return sorted(hosts - {""})

    @property
    def local_web_url(self) -> str:
        """Where this machine reaches its own web app: the bound address, or loopback when it
        listens on all of them."""
        host = "127.0.0.1" if self.web_host in _ALL_ADDRESSES else self.web_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.web_port}"

    def _generated_secret(self, name: str,
                          make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
        """A secret kept under the home folder (mode 0600), for the embedded default only.
        Written whole and then linked into place, so processes starting together on one home
        (a worker and a web app) all read the first one made."""
        path = self.home / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            draft = path.with_name(f".{name}.{secrets.token_hex(4)}")
            with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                           "w") as out:
                out.write(make())
            try:
                os.link(draft, path)
            except FileExistsError:
                pass  # another process was first: theirs counts
            finally:
                draft.unlink()
        return path.read_text().strip()

    @cached_property
    def signing_key(self) -> str:
        """Key for signed links in emails."""
        return self.secret_key or self._generated_secret("secret_key")

    @cached_property
    def api_admin_token(self) -> str:
        """The admin token: from the environment, else generated once and shown by `up`."""
        return self.admin_token or self._generated_secret("admin_token")

    @cached_property
    def payload_keyring(self) -> tuple[PayloadKey, ...]:
        """The payload keys, the encrypting one first: from the environment, else generated
        once under the home folder."""
        if self.payload_keys:
            return self.payload_keys
        return (parse_payload_key(self._generated_secret("payload_key", make=lambda: (
            f"local-{secrets.token_hex(4)}:{base64.b64encode(os.urandom(32)).decode()}"))),)

    @staticmethod
    def named_secret(variable: str) -> str | None:
        """A secret the organisation file names by its environment variable (a survey tool's
        signing secret or API token): read when used, so a rotated value needs no restart
        of the file, and never kept in the file itself. None when unset or empty."""
        return os.environ.get(variable) or None


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
