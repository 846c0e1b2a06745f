"""Emails through a relay as production has one: STARTTLS with a certificate that is checked,
then AUTH with the configured username and password; a wrong password holds the emails until
it is put right, and loses none."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.mail import MailActivities
from kringloop.network import free_port
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings
from tests.support.mail import LIEKE, MailServer, acknowledgement, outbox, timeline_kinds

USERNAME, PASSWORD = "kringloop@fietsen.example", "relay-wachtwoord-2026"


@dataclass
class Certificate:
    cert: Path
    key: Path


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, as a company's own relay may have."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.fietsen.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    found = Certificate(cert=tmp_path / "relay.pem", key=tmp_path / "relay.key")
    found.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return found


@dataclass
class Relay(MailServer):
    """Takes email only over TLS from a client that logged in; notes who logged in and how."""

    offers: str = "LOGIN"  # the one AUTH mechanism offered
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # (mechanism, user, ok)
    delivered_by: list[tuple[str, bool]] = field(default_factory=list)  # (user, over TLS)

    def authenticate(self, server: Any, session: Any, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user = auth_data.login.decode()
        ok = (user, auth_data.password.decode()) == (USERNAME, PASSWORD)
        self.logins.append((mechanism, user, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.delivered_by.append((session.auth_data.login.decode(), session.ssl is not None))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(params=["LOGIN", "PLAIN"])
def relay(request: pytest.FixtureRequest, certificate: Certificate,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Relay]:
    """The relay, offering only one AUTH mechanism at a time (aiosmtplib takes what is offered);
    its certificate trusted the way an operator trusts a private CA, through SSL_CERT_FILE, read
    when aiosmtplib builds its (verifying) TLS context."""
    server = Relay(port=free_port(), offers=request.param)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate.cert, certificate.key)
    controller = Controller(
        server, hostname="127.0.0.1", port=server.port, tls_context=tls,
        require_starttls=True, auth_required=True, authenticator=server.authenticate,
        auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m != request.param])
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    controller.start()
    yield server
    controller.stop()


def through(relay: Relay, settings: Settings, *, password: str = PASSWORD) -> Settings:
    return settings.model_copy(update={"smtp_port": relay.port, "smtp_tls": True,
                                       "smtp_username": USERNAME, "smtp_password": password})


async def test_an_email_goes_out_over_starttls_with_the_configured_login(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings,
    relay: Relay,
) -> None:
    mail = MailActivities(engine=engine, org=org, settings=through(relay, settings))

    receipt = await ActivityEnvironment().run(mail.send_case_email,
                                              acknowledgement(assigned_case))

    assert receipt.sent
    assert len(relay.to(LIEKE, "acknowledgement")) == 1
    assert relay.logins == [(relay.offers, USERNAME, True)]
    assert relay.delivered_by == [(USERNAME, True)], "logged in, over TLS"
    assert [row.status for row in outbox(engine)] == ["sent"]


async def test_a_wrong_relay_password_holds_the_email_until_it_is_put_right(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings,
    relay: Relay,
) -> None:
    """A refused login is the operator's to fix, not the respondent's loss: the email waits
    (retried with backoff) and goes out once, when the password is right."""
    wrong = MailActivities(engine=engine, org=org,
                           settings=through(relay, settings, password="oud-wachtwoord"))

    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        await ActivityEnvironment().run(wrong.send_case_email, acknowledgement(assigned_case))

    assert refused.value.code == 535
    assert [row.status for row in outbox(engine)] == ["pending"], "retried, not given up"
    assert "email_failed" not in timeline_kinds(engine)
    put_right = MailActivities(engine=engine, org=org, settings=through(relay, settings))
    receipt = await ActivityEnvironment().run(put_right.send_case_email,
                                              acknowledgement(assigned_case))
    assert receipt.sent and len(relay.received) == 1
    assert [(row.status, row.tries) for row in outbox(engine)] == [("sent", 2)]


async def test_a_relay_certificate_nobody_trusts_is_refused_and_the_email_waits(
    assigned_case: str, engine: Engine, org: Organisation, settings: Settings,
    relay: Relay, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")  # the system's CAs only: the relay's is not among them
    mail = MailActivities(engine=engine, org=org, settings=through(relay, settings))

    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        await ActivityEnvironment().run(mail.send_case_email, acknowledgement(assigned_case))

    assert relay.logins == [], "the password never went to a server that was not verified"
    assert [row.status for row in outbox(engine)] == ["pending"], "retried once trusted"
