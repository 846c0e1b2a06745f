"""Personal data in Temporal payloads is encrypted (AES-GCM, a key id beside each payload): a
workflow history read without the key shows ciphertext only, keys can be rotated, and a payload
whose key is missing or that was altered fails with a message naming the key."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from kringloop.intake.csv_import import run_import
from kringloop.runtime.stack import Running, run_stack
from kringloop.security.payload_codec import ENCODING, EncryptionCodec, PayloadKeyError
from kringloop.settings import PayloadKey, Settings, SettingsError, load_settings
from kringloop.web.codec_server import create_codec_app

OLD = PayloadKey("2025-01", os.urandom(32))
NEW = PayloadKey("2026-01", os.urandom(32))
MARLOES = {"id": "klant-77120", "name": "Marloes Jongeneel", "email": "marloes@example.nl",
           "language": "nl"}
COMMENT = "Het zadel van mijn bakfiets brak af op de Westersingel"


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


# --- the codec: rotation and refusals -----------------------------------------------------------

async def test_a_payload_sealed_with_the_old_key_still_opens_after_a_new_key_comes_first(
) -> None:
    before = EncryptionCodec([OLD])
    [sealed] = await before.encode([plain(COMMENT)])

    after = EncryptionCodec([NEW, OLD])
    [opened] = await after.decode([sealed])
    [resealed] = await after.encode([plain(COMMENT)])

    assert sealed.metadata["encoding"] == ENCODING == b"binary/encrypted"
    assert sealed.metadata["encryption-key-id"] == b"2025-01"
    assert COMMENT.encode() not in sealed.data
    assert json.loads(opened.data) == COMMENT
    assert resealed.metadata["encryption-key-id"] == b"2026-01", "the first key encrypts"


async def test_a_payload_whose_key_is_gone_fails_naming_the_key_id() -> None:
    [sealed] = await EncryptionCodec([OLD]).encode([plain(COMMENT)])

    with pytest.raises(PayloadKeyError) as missing:
        await EncryptionCodec([NEW]).decode([sealed])

    assert "'2025-01'" in str(missing.value) and "KRINGLOOP_PAYLOAD_KEYS" in str(missing.value)


async def test_an_altered_or_relabelled_payload_does_not_decrypt() -> None:
    codec = EncryptionCodec([NEW, OLD])
    [sealed] = await codec.encode([plain(COMMENT)])
    altered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + b"\x00")
    relabelled = Payload(metadata={**sealed.metadata, "encryption-key-id": b"2025-01"},
                         data=sealed.data)
    same_id_other_key = EncryptionCodec([PayloadKey("2026-01", os.urandom(32))])

    for codec_, payload in [(codec, altered), (codec, relabelled), (same_id_other_key, sealed)]:
        with pytest.raises(PayloadKeyError, match="does not decrypt"):
            await codec_.decode([payload])


async def test_a_payload_written_before_encryption_was_switched_on_reads_as_it_is() -> None:
    [opened] = await EncryptionCodec([NEW]).decode([plain(COMMENT)])

    assert json.loads(opened.data) == COMMENT


# --- the keys: from the environment, or generated once for the embedded default ----------------

def test_keys_come_from_the_environment_first_one_encrypting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("KRINGLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("KRINGLOOP_PAYLOAD_KEYS",
                       f"2026-01:{base64.b64encode(NEW.secret).decode()},"
                       f"2025-01:{base64.urlsafe_b64encode(OLD.secret).decode()}")

    assert load_settings().payload_keyring == (NEW, OLD)
    assert not (tmp_path / "payload_key").exists()
    assert base64.b64encode(NEW.secret).decode() not in repr(load_settings())

    for wrong, why in [("2026-01", "kid:base64key"), ("k:not base64!", "not valid base64"),
                       (f"k:{base64.b64encode(b'short').decode()}", "16, 24 or 32"),
                       (f"k:{base64.b64encode(NEW.secret).decode()},"
                        f"k:{base64.b64encode(OLD.secret).decode()}", "given twice")]:
        monkeypatch.setenv("KRINGLOOP_PAYLOAD_KEYS", wrong)
        with pytest.raises(SettingsError, match=why) as refused:
            load_settings()
        assert str(refused.value).startswith("invalid setting KRINGLOOP_PAYLOAD_KEYS")


def test_without_keys_one_is_generated_under_home_for_its_owner_only(tmp_path: Path) -> None:
    first = Settings(home=tmp_path / "home").payload_keyring
    again = Settings(home=tmp_path / "home").payload_keyring

    assert first == again and len(first[0].secret) == 32
    key_file = tmp_path / "home" / "payload_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first[0].key_id.startswith("local-")


# --- the histories of a running Kringloop ------------------------------------------------------

@pytest.fixture(scope="module")
async def up(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    """`kringloop up` on its embedded default (no key set: one is generated), in this process."""
    home = tmp_path_factory.mktemp("encrypted") / "home"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'k.db'}", web_port=0,
                        admin_token="encryption-admin", secret_key="encryption-signing-key",
                        task_queue=f"encrypted-{uuid.uuid4().hex[:8]}")
    stop = asyncio.Event()
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stack = asyncio.create_task(run_stack(settings, on_ready=ready.set_result, stop=stop))
    await asyncio.wait([stack, ready], return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        await stack  # raises why it did not start
    yield ready.result()
    stop.set()
    await stack


def api(running: Running) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=running.web_url or "", timeout=10, headers={
        "Authorization": f"Bearer {running.settings.api_admin_token}"})


async def emailed(running: Running, case_id: str, kind: str) -> dict[str, Any]:
    """The case once its email of `kind` (acknowledgement, closing, …) has gone out."""
    async with api(running) as web:
        for _ in range(300):
            answer = await web.get(f"/api/cases/{case_id}")
            if answer.status_code == 200 and any(
                    e["kind"] == "email_sent" and e["detail"].startswith(f"{kind} to ")
                    for e in answer.json()["timeline"]):
                return answer.json()  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id} never sent its {kind} email")


async def history_without_the_key(running: Running, workflow_id: str) -> dict[str, Any]:
    """The history as anyone with access to Temporal (or its UI) reads it: no codec."""
    address = running.client.service_client.config.target_host
    outsider = await Client.connect(address, namespace=running.settings.temporal_namespace)
    history = await outsider.get_workflow_handle(workflow_id).fetch_history()
    return json.loads(history.to_json())  # type: ignore[no-any-return]


def payloads_in(node: Any) -> list[dict[str, Any]]:
    """Every payload (`{"metadata", "data"}`, base64 in the JSON) anywhere in a history."""
    if isinstance(node, list):
        return [p for value in node for p in payloads_in(value)]
    if not isinstance(node, dict):
        return []
    if node.get("markerName") in ("core_patch", "core_local_activity"):
        # The SDK's own bookkeeping stays plain: the name of a code change (`workflow.patched`),
        # a local activity's sequence number, type and times. Its result is a payload.
        node = {**node, "details": {k: v for k, v in node["details"].items()
                                    if k not in ("patch-data", "data")}}
    # The code changes a workflow has taken, as the search attribute Temporal lists them by.
    node = {k: v for k, v in node.items() if k != "TemporalChangeVersion"}
    own = [node] if "metadata" in node and "encoding" in node["metadata"] else []
    return own + [p for value in node.values() for p in payloads_in(value)]


def assert_unreadable(history: dict[str, Any], *personal: str, case_id: str
                      ) -> list[dict[str, Any]]:
    """Every payload encrypted; personal data nowhere; the case id only as the workflow's own
    id (the business key, which the Temporal UI lists), never inside a payload."""
    payloads = payloads_in(history)
    assert payloads, "the history carries payloads"
    encodings = {base64.b64decode(p["metadata"]["encoding"]) for p in payloads}
    assert encodings == {b"binary/encrypted"}
    inside = "".join(base64.b64decode(p.get("data", "")).decode("latin-1") for p in payloads)
    assert [s for s in personal if s in json.dumps(history) + inside] == []
    assert case_id not in inside and case_id.removeprefix("case-") not in inside
    return payloads


async def decrypted(running: Running, payloads: list[dict[str, Any]]) -> str:
    """What the same payloads say to whoever holds the key."""
    codec = EncryptionCodec(running.settings.payload_keyring)
    opened = await codec.decode([Payload(
        metadata={k: base64.b64decode(v) for k, v in p["metadata"].items()},
        data=base64.b64decode(p.get("data", ""))) for p in payloads])
    return "".join(p.data.decode("utf-8", "replace") for p in opened)


async def test_a_case_worked_in_kringloop_up_leaves_only_ciphertext_in_its_history(
    up: Running,
) -> None:
    response_id = f"enc-{uuid.uuid4().hex[:8]}"
    async with api(up) as web:
        posted = await web.post("/api/responses", json={
            "response_id": response_id, "program": "customer", "score": 2,
            "comment": COMMENT, "respondent": MARLOES})
        assert posted.status_code == 201, posted.text
        case_id = posted.json()["case_id"]
        await emailed(up, case_id, "acknowledgement")
        resolution = {"root_cause": "product-defect", "message": "Marloes, je zadel komt.",
                      "action_taken": "Nieuw zadel bij Marloes thuis"}
        resolved = await web.post(f"/api/cases/{case_id}/resolve", json=resolution)
        assert resolved.status_code == 200, resolved.text
        again = await web.post(f"/api/cases/{case_id}/resolve", json=resolution)
    await emailed(up, case_id, "closing")
    # The refusal's message travelled encrypted too, and reads as written.
    assert again.status_code == 409, again.text
    assert "Encoded failure" not in again.json()["message"]
    assert "resolved" in again.json()["message"] or "closed" in again.json()["message"]

    history = await history_without_the_key(up, case_id)

    payloads = assert_unreadable(history, MARLOES["name"], MARLOES["email"], MARLOES["id"],
                                 "Marloes", COMMENT, "Nieuw zadel", case_id=case_id)
    with_the_key = await decrypted(up, payloads)
    assert "Nieuw zadel bij Marloes thuis" in with_the_key and case_id in with_the_key
    key_ids = {base64.b64decode(p["metadata"]["encryption-key-id"]) for p in payloads}
    assert key_ids == {up.settings.payload_keyring[0].key_id.encode()}
    key_file = up.settings.home / "payload_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_responses_imported_from_the_command_line_are_encrypted_with_the_same_key(
    up: Running, tmp_path: Path,
) -> None:
    response_id = f"enc-import-{uuid.uuid4().hex[:8]}"
    export = tmp_path / "export.csv"
    export.write_text("response_id,program,score,comment,name,email\n"
                      f"{response_id},customer,3,{COMMENT},Marloes Jongeneel,"
                      "marloes@example.nl\n", encoding="utf-8")
    address = up.client.service_client.config.target_host
    command_line = up.settings.model_copy(update={"temporal_address": address})

    code = await run_import(export, settings=command_line,
                            console=Console(file=io.StringIO(), color_system=None))

    assert code == 0
    case_id = f"case-{response_id}"
    await emailed(up, case_id, "acknowledgement")  # the worker read what the CLI wrote
    history = await history_without_the_key(up, case_id)
    assert_unreadable(history, MARLOES["name"], MARLOES["email"], COMMENT, case_id=case_id)


async def test_an_operator_with_the_admin_token_reads_the_history_through_the_codec_server(
    up: Running,
) -> None:
    async with api(up) as web:
        posted = await web.post("/api/responses", json={
            "response_id": f"enc-ops-{uuid.uuid4().hex[:8]}", "program": "customer",
            "score": 1, "respondent": MARLOES})
        case_id = posted.json()["case_id"]
        await emailed(up, case_id, "acknowledgement")
        noted = await web.post(f"/api/cases/{case_id}/notes",
                               json={"text": "Marloes belt morgen terug"})
        assert noted.status_code == 200, noted.text
    payloads = assert_unreadable(await history_without_the_key(up, case_id), "Marloes",
                                 case_id=case_id)
    codec_server = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_codec_app(up.settings)),
        base_url="http://codec.test")

    async with codec_server:
        refused = await codec_server.post("/decode", json={"payloads": payloads})
        answer = await codec_server.post("/decode", json={"payloads": payloads}, headers={
            "Authorization": f"Bearer {up.settings.api_admin_token}"})

    assert refused.status_code == 401
    assert answer.status_code == 200, answer.text
    decoded = answer.json()["payloads"]
    assert len(decoded) == len(payloads)
    assert {base64.b64decode(p["metadata"]["encoding"]) for p in decoded} <= {
        b"json/plain", b"binary/null"}
    texts = [base64.b64decode(p.get("data", "")).decode() for p in decoded]
    assert any("Marloes belt morgen terug" in text for text in texts)
