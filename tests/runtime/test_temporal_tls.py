"""Kringloop against a Temporal that asks for TLS and a client certificate (a secured cluster,
Temporal Cloud): here the dev server behind a TLS front whose certificates the test made. The
right CA, name and certificate get a working loop; anything else gets one line saying what to
check, never a traceback; the API key goes along; bad settings are refused at start."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from kringloop.org.organisation import Organisation
from kringloop.services import Services
from kringloop.settings import Settings, SettingsError, load_settings
from kringloop.temporal_client import TemporalUnreachable, connect_temporal
from kringloop.web.app import create_app
from tests.support.command import kringloop, the_one_error_line
from tests.support.intake import detractor, settled, unique
from tests.support.kringloop import Kringloop
from tests.support.mail import MailServer
from tests.support.tls_proxy import SERVER_NAME, Authority, Issued, TlsFront, tls_front
from worker import build_worker

API_KEY = "kringloop-cloud-api-key-0123456789"


@pytest.fixture
def cluster_ca(tmp_path: Path) -> Authority:
    """The CA of the secured cluster: it signs the server's certificate and the workers'."""
    return Authority.create("cluster", tmp_path / "pki")


@pytest.fixture
def worker_certificate(cluster_ca: Authority) -> Issued:
    return cluster_ca.issue("kringloop-worker", for_server=False)


@pytest.fixture
async def secured(dev_server: WorkflowEnvironment, cluster_ca: Authority
                  ) -> AsyncIterator[TlsFront]:
    """The dev server behind TLS, asking every client for a certificate the cluster CA signed."""
    async with tls_front(dev_server.client.service_client.config.target_host,
                         server=cluster_ca.issue(SERVER_NAME, for_server=True),
                         client_authority=cluster_ca) as front:
        yield front


def tls_variables(address: str, *, ca: Path, client: Issued | None) -> dict[str, str]:
    """The KRINGLOOP_* variables an operator sets for the secured cluster at `address`."""
    variables = {"KRINGLOOP_TEMPORAL_ADDRESS": address,
                 "KRINGLOOP_TEMPORAL_TLS_CA": str(ca),
                 "KRINGLOOP_TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
                 "KRINGLOOP_TEMPORAL_API_KEY": API_KEY}
    if client is not None:
        variables |= {"KRINGLOOP_TEMPORAL_TLS_CERT": str(client.cert),
                      "KRINGLOOP_TEMPORAL_TLS_KEY": str(client.key)}
    return variables


def configured(monkeypatch: pytest.MonkeyPatch, settings: Settings,
               variables: dict[str, str]) -> Settings:
    """`settings` with the variables read from the environment, as a process starting reads
    them (validated: a missing file or a lone certificate is refused here)."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    read = load_settings()
    return settings.model_copy(update={name: getattr(read, name) for name in (
        "temporal_address", "temporal_tls_ca", "temporal_tls_server_name", "temporal_api_key",
        "temporal_tls_cert", "temporal_tls_key")})


# --- the right CA, name and client certificate: the loop works over TLS -----------------------

async def test_a_detractor_becomes_an_assigned_case_over_mutual_tls_with_an_api_key(
    monkeypatch: pytest.MonkeyPatch, secured: TlsFront, cluster_ca: Authority,
    worker_certificate: Issued, settings: Settings, org: Organisation, engine: Engine,
    smtp: MailServer,
) -> None:
    settings = configured(monkeypatch, settings, tls_variables(
        secured.address, ca=cluster_ca.ca, client=worker_certificate))
    client = await connect_temporal(settings)
    # The web app starts the case and the worker runs it, both through the TLS front only.
    app = create_app(Services(settings=settings, org=org, engine=engine, temporal=client))
    worker = build_worker(client, settings=settings, org=org, engine=engine)
    async with worker, httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://kringloop.test") as api:
        live = Kringloop(env=WorkflowEnvironment.from_client(client), settings=settings, org=org,
                         engine=engine, smtp=smtp, api=api, worker=worker)
        posted = await live.post_response(**detractor(unique("tls")))
        case = await settled(live, posted["case_id"])
        await live.terminate_open_cases()

    assert case["status"] == "assigned" and case["assignee"] is not None
    assert smtp.to("anna@example.nl", kind="acknowledgement")
    assert secured.refused_handshakes == []


# --- anything else: one line saying what to check ---------------------------------------------

async def test_a_server_certificate_from_another_ca_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, secured: TlsFront, worker_certificate: Issued,
    settings: Settings, tmp_path: Path,
) -> None:
    stranger = Authority.create("stranger", tmp_path / "other-pki")
    settings = configured(monkeypatch, settings, tls_variables(
        secured.address, ca=stranger.ca, client=worker_certificate))

    with pytest.raises(TemporalUnreachable) as refused:
        await connect_temporal(settings)

    assert str(refused.value) == (
        "the TLS handshake failed: certificate verify failed, the server's certificate is not "
        "signed by a CA we trust (check KRINGLOOP_TEMPORAL_TLS_CA / "
        "KRINGLOOP_TEMPORAL_TLS_SERVER_NAME)")
    assert API_KEY not in str(refused.value)


async def test_a_server_name_the_certificate_does_not_carry_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, secured: TlsFront, cluster_ca: Authority,
    worker_certificate: Issued, settings: Settings,
) -> None:
    settings = configured(monkeypatch, settings, {**tls_variables(
        secured.address, ca=cluster_ca.ca, client=worker_certificate),
        "KRINGLOOP_TEMPORAL_TLS_SERVER_NAME": "temporal.elsewhere.test"})

    with pytest.raises(TemporalUnreachable, match=(
            r"^the TLS handshake failed: certificate verify failed, the server's certificate "
            r"is for another name \(check KRINGLOOP_TEMPORAL_TLS_CA / "
            r"KRINGLOOP_TEMPORAL_TLS_SERVER_NAME\)$")):
        await connect_temporal(settings)


@pytest.mark.parametrize(("with_a_strangers_certificate", "refusal"), [
    (False, "PEER_DID_NOT_RETURN_A_CERTIFICATE"), (True, "CERTIFICATE_VERIFY_FAILED"),
], ids=["no client certificate", "one another CA signed"])
async def test_without_a_client_certificate_the_cluster_trusts_it_refuses_and_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, secured: TlsFront, cluster_ca: Authority,
    settings: Settings, tmp_path: Path, with_a_strangers_certificate: bool, refusal: str,
) -> None:
    stranger = Authority.create("stranger", tmp_path / "other-pki")
    client = stranger.issue("intruder", for_server=False) if with_a_strangers_certificate else None
    settings = configured(monkeypatch, settings, tls_variables(
        secured.address, ca=cluster_ca.ca, client=client))

    # The server's alert reaches the SDK, or (a race inside the SDK) only its hanging up does.
    with pytest.raises(TemporalUnreachable, match=(
            r"^the server (refused the TLS handshake|closed the connection after the TLS "
            r"handshake): .*client certificate.*check KRINGLOOP_TEMPORAL_TLS_CERT / "
            r"KRINGLOOP_TEMPORAL_TLS_KEY\)$")):
        await connect_temporal(settings)

    assert set(secured.refused_handshakes) == {refusal}


async def test_a_worker_that_cannot_reach_the_secured_cluster_says_so_in_one_line(
    secured: TlsFront, worker_certificate: Issued, database_url: str, tmp_path: Path,
) -> None:
    stranger = Authority.create("stranger", tmp_path / "other-pki")

    variables = tls_variables(secured.address, ca=stranger.ca, client=worker_certificate)
    # In a thread: the TLS front answers on this event loop.
    result = await asyncio.to_thread(kringloop, "worker", cwd=tmp_path, database_url=database_url,
                                     KRINGLOOP_SMTP_HOST="127.0.0.1", **variables)

    assert the_one_error_line(result) == (
        f"kringloop: cannot reach Temporal at {secured.address}: the TLS handshake failed: "
        "certificate verify failed, the server's certificate is not signed by a CA we trust "
        "(check KRINGLOOP_TEMPORAL_TLS_CA / KRINGLOOP_TEMPORAL_TLS_SERVER_NAME)")
    assert "Traceback" not in result.stderr and API_KEY not in result.stdout + result.stderr


# --- what goes to Client.connect ----------------------------------------------------------------

@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What each Client.connect was given, instead of connecting."""
    given: list[dict[str, Any]] = []

    async def connect(target_host: str, **options: Any) -> Client:
        given.append({"target_host": target_host, **options})
        return None  # type: ignore[return-value]

    monkeypatch.setattr(Client, "connect", connect)
    return given


async def test_the_api_key_and_the_tls_files_go_to_the_connection(
    monkeypatch: pytest.MonkeyPatch, connections: list[dict[str, Any]], cluster_ca: Authority,
    worker_certificate: Issued, settings: Settings,
) -> None:
    await connect_temporal(configured(monkeypatch, settings, tls_variables(
        f"{SERVER_NAME}:7233", ca=cluster_ca.ca, client=worker_certificate)))

    [given] = connections
    assert given["api_key"] == API_KEY
    assert given["tls"] == TLSConfig(
        client_cert=worker_certificate.cert.read_bytes(),
        client_private_key=worker_certificate.key.read_bytes(),
        server_root_ca_cert=cluster_ca.ca.read_bytes(), domain=SERVER_NAME)


async def test_an_api_key_alone_means_tls_with_the_systems_cas_and_nothing_means_plaintext(
    connections: list[dict[str, Any]], settings: Settings,
) -> None:
    cloud = settings.model_copy(update={
        "temporal_address": "kringloop.a1b2c.tmprl.cloud:7233",
        "temporal_api_key": load_settings(temporal_api_key=API_KEY).temporal_api_key})
    await connect_temporal(cloud)
    await connect_temporal(settings.model_copy(update={"temporal_address": "127.0.0.1:7233"}))

    assert [(c["tls"], c["api_key"]) for c in connections] == [(True, API_KEY), (False, None)]
    assert API_KEY not in repr(cloud) and API_KEY not in str(cloud)


# --- settings refused at start ------------------------------------------------------------------

def test_a_client_certificate_without_its_key_is_refused_naming_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch, worker_certificate: Issued,
) -> None:
    monkeypatch.setenv("KRINGLOOP_TEMPORAL_TLS_CERT", str(worker_certificate.cert))

    with pytest.raises(SettingsError, match=(
            r"^invalid setting KRINGLOOP_TEMPORAL_TLS_KEY: .*KRINGLOOP_TEMPORAL_TLS_CERT is set "
            r"without its private key")):
        load_settings()

    monkeypatch.delenv("KRINGLOOP_TEMPORAL_TLS_CERT")
    monkeypatch.setenv("KRINGLOOP_TEMPORAL_TLS_KEY", str(worker_certificate.key))
    with pytest.raises(SettingsError, match="set KRINGLOOP_TEMPORAL_TLS_CERT too"):
        load_settings()


def test_a_tls_file_that_does_not_exist_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("KRINGLOOP_TEMPORAL_TLS_CA", str(tmp_path / "ca.pem"))

    with pytest.raises(SettingsError, match=(
            "^invalid setting KRINGLOOP_TEMPORAL_TLS_CA: .*no such file: "
            f"{re.escape(str(tmp_path / 'ca.pem'))}$")):
        load_settings()
