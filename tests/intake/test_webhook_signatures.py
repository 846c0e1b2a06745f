"""Signed intake: once an operator gives a survey tool a webhook secret, Kringloop takes in only
responses signed with it (HMAC-SHA256 over the timestamp and the raw body, Stripe-style), and
anything else is turned away with 401 and a message saying why, before anything is stored."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kringloop.intake.signatures import SignatureRefused, signature_header, signature_of, verify
from kringloop.resources import CHECKOUT as PROJECT_ROOT
from kringloop.settings import SettingsError, load_settings
from tests.support.intake import api_with, detractor, stored_counts, unique
from tests.support.kringloop import ADMIN, Kringloop

TYPEFORM = "typeform-secret-2024-abcdef"
TYPEFORM_BEFORE = "typeform-secret-2023-old-one"
QUALTRICS = "qualtrics-secret-0123456789"
SECRETS = {"typeform": (TYPEFORM, TYPEFORM_BEFORE), "qualtrics": (QUALTRICS,)}


def signed(body: bytes, *, secret: str = TYPEFORM, source: str = "typeform",
           timestamp: int | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Kringloop-Source": source,
            "X-Kringloop-Signature": signature_header(secret, body, timestamp=timestamp)}


def as_sent(response_id: str) -> bytes:
    """The body as a survey tool serialises it (its own spacing; we must not re-serialise)."""
    return json.dumps(detractor(response_id), indent=1).encode()


async def post(live: Kringloop, body: bytes, headers: dict[str, str]) -> httpx.Response:
    guarded = live.settings.model_copy(update={"webhook_secrets": SECRETS})
    async with api_with(live, guarded) as api:
        return await api.post("/api/responses", content=body, headers=headers)


async def test_a_signed_response_is_taken_in_and_opens_its_case(live: Kringloop) -> None:
    response_id = unique("signed")
    body = as_sent(response_id)

    answer = await post(live, body, signed(body))

    assert answer.status_code == 201, answer.text
    assert answer.json()["case_id"] == f"case-{response_id}"
    await live.case_when(f"case-{response_id}", lambda case: case["assignee"])


async def test_while_rotating_the_old_secret_still_signs_for_its_source(
    live: Kringloop,
) -> None:
    body = as_sent(unique("rotating"))

    answer = await post(live, body, signed(body, secret=TYPEFORM_BEFORE))

    assert answer.status_code == 201, answer.text


def _tampered(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed(body)
    return body.replace(b'"score": 3', b'"score": 9'), headers


def _wrong_secret(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed(body, secret="a-guess-at-the-secret-123")


def _another_sources_secret(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed(body, secret=QUALTRICS, source="typeform")


def _no_signature(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed(body)
    del headers["X-Kringloop-Signature"]
    return body, headers


def _no_source(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed(body)
    del headers["X-Kringloop-Source"]
    return body, headers


def _unknown_source(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed(body, source="surveymonkey")


def _stale(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed(body, timestamp=int(time.time()) - 6 * 60)


def _from_the_future(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed(body, timestamp=int(time.time()) + 6 * 60)


def _garbled(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {**signed(body), "X-Kringloop-Signature": "sha256=deadbeef"}


def _bearer_token_only(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {"Content-Type": "application/json", **ADMIN}


REFUSED = {
    "tampered body": (_tampered, "does not match the body"),
    "wrong secret": (_wrong_secret, "does not match the body"),
    "another source's secret": (_another_sources_secret, "does not match the body"),
    "no signature header": (_no_signature, "X-Kringloop-Signature header is missing"),
    "no source header": (_no_source, "X-Kringloop-Source header is missing"),
    "unknown source": (_unknown_source, "unknown source 'surveymonkey'"),
    "stale timestamp": (_stale, "at most 300 s"),
    "timestamp beyond the window ahead": (_from_the_future, "at most 300 s"),
    "garbled header": (_garbled, "must look like t=<unix time>,v1="),
    "bearer token only (even the admin's)": (_bearer_token_only, "header is missing"),
}


@pytest.mark.parametrize("attempt", REFUSED)
async def test_an_unsigned_or_badly_signed_delivery_is_refused_and_nothing_is_stored(
    live: Kringloop, attempt: str,
) -> None:
    make, reason = REFUSED[attempt]
    body, headers = make(as_sent(unique("refused")))
    before = stored_counts(live.engine)

    answer = await post(live, body, headers)

    assert answer.status_code == 401, answer.text
    assert reason in answer.json()["message"]
    assert answer.json()["field"] == "X-Kringloop-Signature"
    assert TYPEFORM not in answer.text and QUALTRICS not in answer.text
    assert stored_counts(live.engine) == before
    assert live.smtp.received == []


async def test_a_replayed_delivery_inside_the_window_opens_nothing_new(
    live: Kringloop,
) -> None:
    """The window lets a captured request be sent again for five minutes. That is harmless:
    intake is idempotent by response id, so the replay answers 200 with the same result."""
    response_id = unique("replayed")
    body = as_sent(response_id)
    headers = signed(body)

    first = await post(live, body, headers)
    # Until the acknowledgement is out (the assignment email may be sent before it).
    await live.case_when(f"case-{response_id}", lambda case: any(
        e["kind"] == "email_sent" and "acknowledgement" in e["detail"]
        for e in case["timeline"]))
    again = await post(live, body, headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert stored_counts(live.engine) == (1, 1)
    assert len(live.smtp.to("anna@example.nl", "acknowledgement")) == 1


def test_a_sender_rotating_its_own_secret_may_send_one_signature_per_secret() -> None:
    body, now = b'{"response_id": "r-1"}', int(time.time())
    old_and_new = (f"t={now},v1={signature_of('its-old-secret-000000', now, body)},"
                   f"v1={signature_of(QUALTRICS, now, body)}")

    verify(secrets=SECRETS, source="qualtrics", header=old_and_new, body=body,
           tolerance_s=300)  # accepted: one of them matches

    with pytest.raises(SignatureRefused, match="does not match"):
        verify(secrets=SECRETS, source="qualtrics", header=old_and_new.replace(
            f"v1={signature_of(QUALTRICS, now, body)}", "v1=00"), body=body, tolerance_s=300)


async def test_without_webhook_secrets_a_survey_tool_with_only_a_bearer_token_gets_in(
    live: Kringloop,
) -> None:
    tokened = live.settings.model_copy(update={"intake_token": "intake-secret"})
    assert not tokened.webhook_secrets

    async with api_with(live, tokened) as api:
        answer = await api.post("/api/responses", json=detractor(unique("bearer")),
                                headers={"Authorization": "Bearer intake-secret"})

    assert answer.status_code == 201, answer.text


def _readme_signing_example() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Intake API", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "the Intake API section shows how to sign a request in Python"
    return found.group(1)


async def test_the_readme_example_signs_a_request_kringloop_accepts(live: Kringloop) -> None:
    example: dict[str, Any] = {}
    exec(_readme_signing_example(), example)  # our own README, run as a reader would
    body = as_sent(unique("readme"))

    headers = example["signed_headers"]("qualtrics", QUALTRICS, body)

    answer = await post(live, body, {"Content-Type": "application/json", **headers})
    assert answer.status_code == 201, answer.text


# --- the setting --------------------------------------------------------------------------------

def test_secrets_come_from_the_environment_two_per_source_at_most(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("KRINGLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("KRINGLOOP_WEBHOOK_SECRETS",
                       f"typeform={TYPEFORM}, typeform={TYPEFORM_BEFORE},qualtrics={QUALTRICS}")

    assert load_settings().webhook_secrets == SECRETS

    for wrong, why in [("typeform", "source=secret"), ("typeform=short", "shorter than 16"),
                       (f"a={TYPEFORM},a={QUALTRICS},a={TYPEFORM_BEFORE}", "more than two"),
                       (f"a b={TYPEFORM}", "source=secret")]:
        monkeypatch.setenv("KRINGLOOP_WEBHOOK_SECRETS", wrong)
        with pytest.raises(SettingsError) as refused:
            load_settings()
        assert str(refused.value).startswith("invalid setting KRINGLOOP_WEBHOOK_SECRETS")
        assert why in str(refused.value)
        assert TYPEFORM not in str(refused.value), "a secret is never echoed"
