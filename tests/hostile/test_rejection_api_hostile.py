"""An applicant tracking system (or someone holding a recruiter's token) posts rejections full of
line breaks, NUL, markup and values of the wrong type: one at a time or as a vacancy's batch, the
answer names the field (and, in a batch, the item), never a 500, and nothing is stored."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.strategies import breaking, hostile_text, json_values, not_a_string, with_nul
from tests.support.web import RowCounts, post_json, refusal_of

ONE = "/api/rejections"
SENTENCE = ("Voor deze rol is het diploma Fietstechnicus niveau 3 nodig, en dat heb je (nog) "
            "niet.")
TEXT_FIELDS = [("applicant", "id"), ("applicant", "name"), ("applicant", "email"),
               ("applicant", "language"), ("vacancy", "id"), ("vacancy", "title"), ("stage",),
               ("reasons", 0, "code"), ("reasons", 0, "sentence"), ("recruiter",), ("send_at",)]
ONE_LINE = [path for path in TEXT_FIELDS if path != ("reasons", 0, "sentence")]


def considerate() -> dict[str, Any]:
    """A rejection that passes every rule: only a spoiled field keeps it from being sent."""
    return {"applicant": {"id": "sol-1", "name": "Lisa Jansen", "email": "lisa@example.nl",
                          "language": "nl"},
            "vacancy": {"id": "v-fietsenmaker", "title": "Fietsenmaker"},
            "stage": "interview",
            "reasons": [{"code": "certification", "sentence": SENTENCE}]}


def with_value(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, last = path
    node: Any = body
    for key in parents:
        node = node[key]
    node[last] = value
    return body


def field_name(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path)


async def refused_without_a_trace(web: httpx.AsyncClient, rows: RowCounts, path: str,
                                  body: Any) -> dict[str, Any]:
    before = rows()
    refusal = refusal_of(await post_json(web, path, body))
    assert rows() == before, "a refused rejection must write nothing"
    return refusal


@given(path=st.sampled_from(TEXT_FIELDS), text=with_nul())
async def test_a_nul_character_in_any_field_is_refused_naming_that_field(
        web: httpx.AsyncClient, rows: RowCounts, path: tuple[str | int, ...], text: str) -> None:
    refusal = await refused_without_a_trace(web, rows, ONE,
                                            with_value(considerate(), path, text))

    assert refusal["field"] == field_name(path), refusal


@given(path=st.sampled_from(ONE_LINE), text=breaking())
async def test_a_line_break_in_a_one_line_field_is_refused_naming_that_field(
        web: httpx.AsyncClient, rows: RowCounts, path: tuple[str | int, ...], text: str) -> None:
    refusal = await refused_without_a_trace(web, rows, ONE,
                                            with_value(considerate(), path, text))

    assert refusal["field"] == field_name(path), refusal


# A number is a moment too (Unix time), as pydantic reads a datetime.
NOT_A_TIME = [path for path in TEXT_FIELDS if path != ("send_at",)]


@given(path=st.sampled_from(NOT_A_TIME), value=not_a_string())
async def test_a_number_list_or_object_where_text_belongs_is_refused_naming_the_field(
        web: httpx.AsyncClient, rows: RowCounts, path: tuple[str | int, ...], value: Any) -> None:
    refusal = await refused_without_a_trace(web, rows, ONE,
                                            with_value(considerate(), path, value))

    assert refusal["field"].startswith(field_name(path)), refusal


@given(moment=st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]))
async def test_a_send_moment_beyond_the_calendar_is_refused_not_a_crash(
        web: httpx.AsyncClient, rows: RowCounts, moment: str) -> None:
    refusal = await refused_without_a_trace(web, rows, ONE,
                                            with_value(considerate(), ("send_at",), moment))

    assert refusal["field"] == "send_at", refusal


@given(changes=st.dictionaries(
    st.one_of(st.sampled_from(["applicant", "vacancy", "stage", "reasons", "recruiter",
                               "send_at"]), hostile_text()), json_values(), min_size=1),
    code=st.one_of(hostile_text(), st.just("not-a-reason-code")))
async def test_whatever_is_sent_the_answer_is_a_clear_refusal_and_nothing_is_stored(
        web: httpx.AsyncClient, rows: RowCounts, changes: dict[str, Any], code: str) -> None:
    # No such reason code: whatever else the body says, the rules refuse it.
    body = {**with_value(considerate(), ("reasons", 0, "code"), code), **changes}

    refusal = await refused_without_a_trace(web, rows, ONE, body)

    assert refusal["field"], refusal


@given(spoil=st.lists(st.one_of(st.tuples(st.sampled_from(TEXT_FIELDS), with_nul()),
                               st.tuples(st.sampled_from(NOT_A_TIME), not_a_string())),
                     min_size=1, max_size=4))
async def test_each_refused_item_of_a_batch_is_named_by_position_and_field(
        web: httpx.AsyncClient, rows: RowCounts,
        spoil: list[tuple[tuple[str | int, ...], Any]]) -> None:
    items = [with_value(with_value(considerate(), ("applicant", "id"), f"sol-{index}"),
                        path, value) for index, (path, value) in enumerate(spoil)]
    before = rows()

    answer = await post_json(web, "/api/vacancies/v-fietsenmaker/rejections",
                             {"vacancy_title": "Fietsenmaker", "items": items})

    assert answer.status_code == 422, answer.text
    results = answer.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    for result, (path, _) in zip(results, spoil, strict=True):
        assert not result["accepted"]
        if path != ("vacancy", "id"):  # a wrong vacancy id is named as such
            assert result["field"].startswith(field_name(path)), result
    assert rows() == before


@given(items=st.lists(st.dictionaries(hostile_text(), json_values(), max_size=4), min_size=1,
                      max_size=4),
       applicant=json_values())
async def test_a_batch_of_nonsense_items_is_refused_item_by_item(
        web: httpx.AsyncClient, rows: RowCounts, items: list[dict[str, Any]],
        applicant: Any) -> None:
    items = [{**item, "applicant": applicant} for item in items]

    refusal = await refused_without_a_trace(
        web, rows, "/api/vacancies/v-1/rejections", {"items": items})

    assert refusal["accepted"] == 0 and refusal["refused"] == len(items)


@given(vacancy=hostile_text())
async def test_any_vacancy_in_the_address_gets_a_clear_answer(
        web: httpx.AsyncClient, rows: RowCounts, vacancy: str) -> None:
    path = f"/api/vacancies/{quote(vacancy, safe='')}/rejections"

    await refused_without_a_trace(web, rows, path, {"items": [considerate()]})
