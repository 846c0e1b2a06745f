"""Requests turned away at the door, before anything reads them. A body too large to be an
honest answer (a 1 MB comment, a form stuffed with padding) gets 413 and a JSON message; the
limit is a setting (KRINGLOOP_MAX_BODY_BYTES, 256 KiB by default) and holds on every route,
JSON or form. A JSON API call whose body is something else gets 415; a NUL in the address or
the query gets 404 or 422."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from kringloop.org.organisation import Organisation
from kringloop.services import Services
from kringloop.settings import Settings, SettingsError, load_settings
from kringloop.web.app import create_app
from tests.support.intake import INTAKE, promoter
from tests.support.kringloop import ADMIN
from tests.support.web import JSON, RowCounts, post_json, refusal_of, web_client

MEGABYTE = 1024 * 1024
# Every route that takes a body: the JSON API and the forms of the pages and one-click links.
ROUTES = ["/api/responses", "/api/rejections", "/api/vacancies/v-1/rejections",
          "/api/cases/case-x/notes", "/login/link", "/login/password", "/e/some-token",
          "/f/some-token", "/cases/case-x/notes", "/logout"]


def too_large(refusal: dict[str, Any], limit: int) -> None:
    assert refusal["field"] == "body"
    assert refusal["message"] == f"the request body is larger than {limit} bytes"


async def test_a_one_megabyte_comment_is_refused_with_413_and_nothing_is_stored(
        web: httpx.AsyncClient, rows: RowCounts) -> None:
    before = rows()

    answer = await post_json(web, INTAKE, {**promoter(), "comment": "x" * MEGABYTE})

    assert answer.status_code == 413
    too_large(refusal_of(answer), 256 * 1024)
    assert answer.headers["x-content-type-options"] == "nosniff", "still our security headers"
    assert rows() == before


async def test_a_large_body_sent_in_chunks_is_refused_just_the_same(
        web: httpx.AsyncClient, rows: RowCounts) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"response_id": "chunked-1", "program": "customer", "score": 9, "comment": "'
        for _ in range(64):
            yield b"x" * 16_384
        yield b'"}'
    before = rows()

    answer = await web.post(INTAKE, content=chunks(), headers={**JSON, **ADMIN})

    assert answer.status_code == 413
    assert rows() == before


async def test_a_small_body_sent_in_chunks_is_taken_as_any_other(
        web: httpx.AsyncClient, rows: RowCounts) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"response_id": "chunked-2", "program": "customer", '
        yield b'"score": 10, "comment": "Top!"}'

    answer = await web.post(INTAKE, content=chunks(), headers={**JSON, **ADMIN})

    assert answer.status_code == 201, answer.text
    assert rows()["survey_response"] == 1


async def announced(settings: Settings, org: Organisation, engine: Engine,
                    content_length: str) -> int:
    """The status a client gets for announcing a body of `content_length` without sending
    a byte of it (the test fails if the app reads the body)."""
    app = create_app(Services(settings=settings, org=org, engine=engine,
                              temporal=None))  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
               "method": "POST", "scheme": "http", "path": INTAKE, "raw_path": INTAKE.encode(),
               "root_path": "", "query_string": b"", "server": ("kringloop.test", 80),
               "client": ("203.0.113.9", 4711), "headers": [
                   (b"host", b"kringloop.test"), (b"content-type", b"application/json"),
                   (b"content-length", content_length.encode())]}, receive, send)
    return int(sent[0]["status"])


async def test_a_client_announcing_a_huge_body_is_answered_before_it_sends_a_byte(
        hostile_settings: Settings, org: Organisation, engine: Engine) -> None:
    assert await announced(hostile_settings, org, engine, str(50 * MEGABYTE)) == 413


@pytest.mark.parametrize("content_length", ["lots", "-1", "1e6", "0x10", ""])
async def test_a_body_length_that_is_not_a_number_is_refused(
        hostile_settings: Settings, org: Organisation, engine: Engine,
        content_length: str) -> None:
    assert await announced(hostile_settings, org, engine, content_length) == 400


@pytest.mark.parametrize("path", ROUTES)
async def test_every_route_that_takes_a_body_refuses_one_over_the_limit(
        web: httpx.AsyncClient, rows: RowCounts, path: str) -> None:
    form = path.startswith(("/login", "/e/", "/f/", "/cases", "/logout"))
    content_type = "application/x-www-form-urlencoded" if form else "application/json"
    padding = b"note=" + b"x" * MEGABYTE if form else b'{"text": "' + b"x" * MEGABYTE + b'"}'
    before = rows()

    answer = await web.post(path, content=padding,
                            headers={"content-type": content_type, **ADMIN})

    assert answer.status_code == 413, answer.text[:200]
    assert rows() == before


@given(size=st.integers(min_value=1_000, max_value=9_000), limit=st.integers(500, 20_000))
async def test_the_limit_is_a_setting(hostile_settings: Settings, org: Organisation,
                                      engine: Engine, size: int, limit: int) -> None:
    body = {**promoter(), "comment": "x" * size}
    settings = hostile_settings.model_copy(update={"max_body_bytes": limit})

    async with web_client(settings, org, engine) as web:
        answer = await post_json(web, INTAKE, body)

    if size + 400 < limit:
        assert answer.status_code == 201, answer.text
    elif size > limit:
        assert answer.status_code == 413
        too_large(answer.json(), limit)


JSON_ROUTES = ["/api/responses", "/api/rejections", "/api/vacancies/v-1/rejections",
               "/api/cases/case-x/notes", "/api/cases/case-x/resolve"]


@given(path=st.sampled_from(JSON_ROUTES), content_type=st.sampled_from([
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "text/json", "application/octet-stream"]))
async def test_every_json_route_refuses_a_body_that_is_not_json_as_unsupported(
        web: httpx.AsyncClient, rows: RowCounts, path: str, content_type: str | None) -> None:
    headers = {**ADMIN, **({"content-type": content_type} if content_type else {})}
    before = rows()

    answer = await web.post(path, content=b'{"text": "hallo"}', headers=headers)

    assert answer.status_code == 415, answer.text
    assert refusal_of(answer)["message"] == (
        "send the body as JSON, with Content-Type: application/json")
    assert rows() == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json"])
async def test_json_by_any_of_its_names_is_taken(
        web: httpx.AsyncClient, content_type: str) -> None:
    answer = await web.post(INTAKE, content=b'{"response_id": "json-1", "program": "customer", '
                            b'"score": 10}', headers={**ADMIN, "content-type": content_type})

    assert answer.status_code in (200, 201), answer.text


@pytest.mark.parametrize("path", ["/api/queue?status=active%00", "/queue?page=1%00",
                                  "/reports?program=%00", "/login?next=/queue%00"])
async def test_a_nul_in_the_query_is_refused_naming_the_query(
        web: httpx.AsyncClient, path: str) -> None:
    answer = await web.get(path, headers=ADMIN)

    assert answer.status_code == 422
    assert refusal_of(answer)["field"] == "query"


def test_the_limit_is_read_from_the_environment_and_must_be_positive(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRINGLOOP_MAX_BODY_BYTES", "1000")
    assert load_settings().max_body_bytes == 1000

    monkeypatch.setenv("KRINGLOOP_MAX_BODY_BYTES", "0")
    with pytest.raises(SettingsError, match="KRINGLOOP_MAX_BODY_BYTES"):
        load_settings()
