"""With a DKIM key configured, every email we send carries a signature that a receiving server
verifies against our published key, and that fails once anything signed is changed on the
way; a key configured by halves stops Kringloop at the start, saying what is missing."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dkim
import pytest
from aiosmtpd.smtp import Envelope
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy import Engine

from kringloop.mail.delivery import Recipient
from kringloop.mail.identity import sender_of
from kringloop.mail.outbox import Outgoing, send_once
from kringloop.mail.rendering import Email
from kringloop.org.organisation import Organisation
from kringloop.security.signed_links import unsubscribe_link
from kringloop.settings import Settings, SettingsError, load_settings
from tests.support.mail import LIEKE, MailServer

SELECTOR = "kringloop2026"
DOMAIN = "fietsenwinkel.example"
SURVEY = Email(subject="Hoe gaat het nu? Eén vraag van Fietsenwinkel Kringloop B.V.",
               text="Beste Lieke,\n\nHoe gaat het nu met je fiets?\n",
               html="<p>Beste Lieke,</p><p>Hoe gaat het nu met je fiets?</p>")


@pytest.fixture
def wire(smtp: MailServer, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Each email exactly as the mail server received it (a parsed one, written out again,
    is not byte for byte what was signed)."""
    received: list[bytes] = []
    accept = smtp.handle_DATA

    async def keeping(server: Any, session: Any, envelope: Envelope) -> str:
        received.append(envelope.original_content or b"")
        return await accept(server, session, envelope)

    monkeypatch.setattr(smtp, "handle_DATA", keeping)
    return received


@pytest.fixture
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def signing(settings: Settings, key: rsa.RSAPrivateKey, tmp_path: Path) -> Settings:
    """The test settings with DKIM on; the key as `openssl genrsa` writes it today (PKCS#8)."""
    pem = tmp_path / "dkim.pem"
    pem.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return settings.model_copy(update={"dkim_domain": DOMAIN, "dkim_selector": SELECTOR,
                                       "dkim_private_key_file": pem})


def published(key: rsa.RSAPrivateKey) -> Callable[..., bytes | None]:
    """DNS as a receiving server asks it: our TXT record at <selector>._domainkey.<domain>."""
    public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def txt(name: bytes, timeout: float = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return txt


async def sent_survey(signing: Settings, org: Organisation, engine: Engine,
                      wire: list[bytes]) -> bytes:
    """A re-survey sent over SMTP, as the mail server received it."""
    await send_once(
        Outgoing(key="case-1:resurvey:1", kind="resurvey",
                 to=Recipient("Lieke Smit", LIEKE, "nl"), sender=sender_of(signing, org),
                 from_name="Bram de Groot",
                 unsubscribe_url=unsubscribe_link(signing, email=LIEKE, language="nl")),
        lambda: SURVEY, engine=engine, settings=signing, record=lambda *_: None)
    [received] = wire
    return received


async def test_a_sent_email_carries_a_signature_that_verifies_against_our_key(
    signing: Settings, key: rsa.RSAPrivateKey, org: Organisation, engine: Engine,
    wire: list[bytes],
) -> None:
    received = await sent_survey(signing, org, engine, wire)

    assert dkim.verify(received, dnsfunc=published(key))
    signature = received.split(b"\r\n\r\n")[0].decode()
    signed = re.search(r"\bh=([^;]+)", signature.replace("\r\n", "").replace(" ", ""))
    assert signed is not None
    assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe",
            "list-unsubscribe-post"} <= set(signed.group(1).lower().split(":"))
    assert f"d={DOMAIN}" in signature and f"s={SELECTOR}" in signature


@pytest.mark.parametrize("forgery", [
    (b"Subject: ", b"Subject: Dringend: "),
    (b"Hoe gaat het nu met je fiets?", b"Klik hier voor je gratis fiets"),
    (b"<http://kringloop.test/u/", b"<http://evil.test/u/"),  # the List-Unsubscribe link
])
async def test_a_signature_fails_once_the_email_is_changed_on_the_way(
    forgery: tuple[bytes, bytes], signing: Settings, key: rsa.RSAPrivateKey,
    org: Organisation, engine: Engine, wire: list[bytes],
) -> None:
    received = await sent_survey(signing, org, engine, wire)
    original, changed = forgery
    assert original in received
    # The text parts are quoted-printable: their words are on the wire as written.
    tampered = received.replace(original, changed, 1)

    assert not dkim.verify(tampered, dnsfunc=published(key))


async def test_without_a_key_nothing_is_signed(
    settings: Settings, org: Organisation, engine: Engine, wire: list[bytes],
) -> None:
    received = await sent_survey(settings, org, engine, wire)

    assert b"DKIM-Signature" not in received


@pytest.mark.parametrize("given", [
    {"KRINGLOOP_DKIM_DOMAIN": DOMAIN},
    {"KRINGLOOP_DKIM_DOMAIN": DOMAIN, "KRINGLOOP_DKIM_SELECTOR": SELECTOR},
    {"KRINGLOOP_DKIM_SELECTOR": SELECTOR, "KRINGLOOP_DKIM_PRIVATE_KEY_FILE": "key.pem"},
])
def test_a_key_configured_by_halves_stops_the_start_and_names_what_is_missing(
    given: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    key: rsa.RSAPrivateKey,
) -> None:
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()))
    monkeypatch.chdir(tmp_path)
    for name, value in given.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as refused:
        load_settings()

    missing = {"KRINGLOOP_DKIM_DOMAIN", "KRINGLOOP_DKIM_SELECTOR",
               "KRINGLOOP_DKIM_PRIVATE_KEY_FILE"} - set(given)
    assert "DKIM signing needs all three" in str(refused.value)
    assert all(name in str(refused.value) for name in missing)


def test_the_public_key_given_for_the_private_one_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: rsa.RSAPrivateKey,
) -> None:
    (tmp_path / "key.pem").write_bytes(key.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    monkeypatch.setenv("KRINGLOOP_DKIM_DOMAIN", DOMAIN)
    monkeypatch.setenv("KRINGLOOP_DKIM_SELECTOR", SELECTOR)
    monkeypatch.setenv("KRINGLOOP_DKIM_PRIVATE_KEY_FILE", str(tmp_path / "key.pem"))

    with pytest.raises(SettingsError) as refused:
        load_settings()

    assert "KRINGLOOP_DKIM_PRIVATE_KEY_FILE" in str(refused.value)
    assert "is not an unencrypted PEM private key" in str(refused.value)
