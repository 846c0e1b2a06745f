"""A signed-in admin's browser (or a script holding its cookie) sends the workspace's forms and
addresses filled with hostile text: line breaks, NUL, markup, nested JSON in the rejection
draft, nonsense in every query. Every answer is a page or a clear 4xx, never a 500; a NUL in a
form is refused (422) and none of it is stored."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from kringloop.org.organisation import Organisation
from kringloop.rejections.drafts import FIELDS
from kringloop.settings import Settings
from tests.hostile.strategies import hostile_text, json_values, with_nul
from tests.support.pages import assert_inert
from tests.support.people import INGRID
from tests.support.web import RowCounts, json_bytes, magic_link, press_sign_in, web_client

CASE = "/cases/case-nobody"
FORMS = {
    "/login/link": ("email",),
    "/login/password": ("email", "password", "next"),
    f"{CASE}/notes": ("text",),
    f"{CASE}/callback-attempts": ("outcome", "note"),
    f"{CASE}/resolve": ("root_cause", "action_taken", "message"),
    f"{CASE}/reassign": ("member",),
    f"{CASE}/relay-replies": ("text",),
    f"{CASE}/closing-preview": ("root_cause", "action_taken", "message"),
    "/rejections/vacancy": ("vacancy_id", "vacancy_title", "do", "draft", *FIELDS),
}
QUERIES = {
    "/queue": ("status", "program", "band", "page"),
    "/reports": ("program", "from", "to", "group_by"),
    "/reports/nps.csv": ("program", "from", "to", "group_by"),
    "/rejections/vacancy": ("vacancy_id", "vacancy_title"),
    "/login": ("next",),
    "/api/queue": ("status", "program", "page"),
    "/api/reports/nps": ("from", "to", "program", "group_by"),
}
# A rejection draft is JSON the page carries: rows of cells, or anything a tamperer sends.
drafts = st.one_of(
    hostile_text(),
    json_values().map(lambda value: json_bytes(value).decode()),
    st.lists(st.dictionaries(st.sampled_from(FIELDS), json_values(), max_size=4), max_size=3)
    .map(lambda rows: json_bytes(rows).decode()),
    st.integers(1, 100_000).map(lambda depth: "[" * depth + "]" * depth),
)
actions = st.one_of(st.sampled_from(["add", "schedule", "remove:0", "cancel:rej-nobody"]),
                    hostile_text().map(lambda text: "cancel:" + text), hostile_text())


@pytest.fixture
async def admin(hostile_settings: Settings, org: Organisation, engine: Engine
                ) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser signed in as an admin, and its CSRF token."""
    async with web_client(hostile_settings, org, engine) as browser:
        signed_in = await press_sign_in(browser, magic_link(engine, INGRID))
        assert signed_in.status_code == 303
        page = await browser.get("/queue")
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found
        yield browser, found.group(1)


# Fields that lead further in when they hold something ordinary (a vacancy opens the draft).
ORDINARY = {"vacancy_id": "v-fietsenmaker", "vacancy_title": "Fietsenmaker"}


def filled(fields: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    def value(name: str) -> st.SearchStrategy[str]:
        if name == "draft":
            return drafts
        if name == "do":
            return actions
        if name in ORDINARY:
            return st.one_of(st.just(ORDINARY[name]), hostile_text())
        return hostile_text()

    return st.fixed_dictionaries({}, optional={name: value(name) for name in fields})


@given(data=st.data(), path=st.sampled_from(list(FORMS)))
async def test_any_form_filled_with_hostile_text_gets_a_page_or_a_clear_refusal(
        admin: tuple[httpx.AsyncClient, str], rows: RowCounts, data: st.DataObject,
        path: str) -> None:
    browser, token = admin
    form = data.draw(filled(FORMS[path]))
    before = rows()

    answer = await browser.post(path, data={**form, "csrf_token": token})

    assert answer.status_code < 500
    if any("\x00" in value for value in form.values()):
        assert answer.status_code == 422 and answer.json()["field"] in form
    elif answer.headers["content-type"].startswith("text/html"):
        assert_inert(answer.text)
    assert rows() == before


@given(path=st.sampled_from(list(FORMS)), field=st.sampled_from(["email", "text", "note"]),
       text=with_nul())
async def test_a_nul_in_any_form_is_refused_naming_the_field(
        admin: tuple[httpx.AsyncClient, str], rows: RowCounts, path: str, field: str,
        text: str) -> None:
    browser, token = admin
    before = rows()

    answer = await browser.post(path, data={field: text, "csrf_token": token})

    assert answer.status_code == 422 and answer.json()["field"] == field
    assert rows() == before


@given(data=st.data(), path=st.sampled_from(list(QUERIES)))
async def test_any_query_gets_a_page_or_a_clear_refusal(
        admin: tuple[httpx.AsyncClient, str], data: st.DataObject, path: str) -> None:
    browser, _ = admin
    query = data.draw(filled(QUERIES[path]))
    headers: dict[str, Any] = {"Authorization": "Bearer test-admin-token"} \
        if path.startswith("/api/") else {}

    answer = await browser.get(path, params=query, headers=headers)

    assert answer.status_code < 500


@given(prefix=st.sampled_from(["/teams/", "/outbox/", "/cases/", "/reports/", "/api/cases/",
                               "/api/rejections/"]),
       name=hostile_text().filter(lambda text: text.strip(".") != ""))
async def test_any_name_in_an_address_gets_a_page_or_a_clear_refusal(
        admin: tuple[httpx.AsyncClient, str], prefix: str, name: str) -> None:
    browser, _ = admin

    answer = await browser.get(prefix + quote(name, safe=""),
                               headers={"Authorization": "Bearer test-admin-token"})

    assert answer.status_code < 500
    if "\x00" in name:
        assert answer.status_code == 404


@given(draft=drafts, action=actions)
async def test_a_tampered_rejection_draft_gains_nothing_and_breaks_nothing(
        admin: tuple[httpx.AsyncClient, str], rows: RowCounts, draft: str, action: str) -> None:
    browser, token = admin
    before = rows()

    answer = await browser.post("/rejections/vacancy", data={
        **ORDINARY, "draft": draft, "do": action, "csrf_token": token})

    assert answer.status_code < 500
    assert rows() == before
