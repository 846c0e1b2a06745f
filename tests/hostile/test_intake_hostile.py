"""A survey tool gone wrong, or an attacker, posts to the intake API: whatever arrives, the answer
is a clear 4xx naming the field (never a 500), a refused response leaves no trace in the
database, and text that is accepted is kept exactly as it was sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kringloop.database import session_for
from kringloop.responses.models import SurveyResponse
from tests.hostile.strategies import (
    breaking,
    hostile_text,
    json_values,
    markup,
    not_a_score,
    not_a_string,
    spoiled,
    with_nul,
)
from tests.support.intake import INTAKE, promoter
from tests.support.kringloop import ADMIN
from tests.support.web import JSON, RowCounts, json_bytes, post_json, refusal_of

# Every text field of a response, as the path to it in the JSON body.
TEXT_FIELDS = [("response_id",), ("program",), ("comment",), ("respondent", "id"),
               ("respondent", "name"), ("respondent", "email"), ("respondent", "phone"),
               ("respondent", "language"), ("respondent", "segment"), ("answered_at",),
               ("meta", "survey")]
FREE_TEXT = [("comment",), ("meta", "survey")]
ONE_LINE = [path for path in TEXT_FIELDS if path not in FREE_TEXT]


def with_value(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    *parents, last = path
    node = body
    for key in parents:
        node = node[key]
    node[last] = value
    return body


def field_name(path: tuple[str, ...]) -> str:
    """The field a refusal names: meta is checked as a whole."""
    return "meta" if path[0] == "meta" else ".".join(path)


def stored(engine: Any, response_id: str) -> SurveyResponse | None:
    with session_for(engine) as session:
        return session.get(SurveyResponse, response_id)


async def refused_without_a_trace(web: httpx.AsyncClient, rows: RowCounts, body: Any,
                                  **headers: str) -> dict[str, Any]:
    before = rows()
    answer = await post_json(web, INTAKE, body, **headers)
    refusal = refusal_of(answer)
    assert rows() == before, "a refused response must write nothing"
    return refusal


@given(path=st.sampled_from(TEXT_FIELDS), text=with_nul())
async def test_a_nul_character_in_any_field_is_refused_naming_that_field(
        web: httpx.AsyncClient, rows: RowCounts, path: tuple[str, ...], text: str) -> None:
    refusal = await refused_without_a_trace(web, rows, with_value(promoter(), path, text))

    assert refusal["field"] == field_name(path), refusal


@given(path=st.sampled_from(ONE_LINE), text=breaking())
async def test_a_line_break_in_a_one_line_field_is_refused_naming_that_field(
        web: httpx.AsyncClient, rows: RowCounts, path: tuple[str, ...], text: str) -> None:
    refusal = await refused_without_a_trace(web, rows, with_value(promoter(), path, text))

    assert refusal["field"] == field_name(path), refusal


@given(comment=st.lists(st.one_of(markup(), st.sampled_from(["\n", "\r\n", "\t"])),
                        min_size=1, max_size=5).map(lambda parts: "Eerst. " + "".join(parts)),
       name=markup(), segment=markup(), respondent_id=markup())
async def test_markup_and_line_breaks_in_free_text_are_kept_exactly_as_sent(
        web: httpx.AsyncClient, engine: Any, comment: str, name: str, segment: str,
        respondent_id: str) -> None:
    body = promoter()
    body["comment"] = comment
    body["respondent"].update(name=name[:200], segment=segment[:64], id=respondent_id[:128])

    answer = await post_json(web, INTAKE, body)

    assert answer.status_code == 201, answer.text
    row = stored(engine, body["response_id"])
    assert row is not None
    assert (row.comment, row.name, row.segment, row.respondent_id) == (
        comment.strip(), name[:200].strip(), segment[:64].strip(),
        respondent_id[:128].strip())


# A number is a time (Unix seconds), and meta may hold any JSON value.
@given(path=st.sampled_from([p for p in TEXT_FIELDS if p[0] not in ("answered_at", "meta")]),
       value=not_a_string())
async def test_a_number_list_or_object_where_text_belongs_is_refused_naming_the_field(
        web: httpx.AsyncClient, rows: RowCounts, path: tuple[str, ...], value: Any) -> None:
    refusal = await refused_without_a_trace(web, rows, with_value(promoter(), path, value))

    assert refusal["field"].startswith(".".join(path)), refusal


@given(value=not_a_score())
async def test_a_score_that_is_not_a_whole_number_from_0_to_10_is_refused(
        web: httpx.AsyncClient, rows: RowCounts, value: Any) -> None:
    refusal = await refused_without_a_trace(web, rows, with_value(promoter(), ("score",), value))

    assert refusal["field"] == "score", refusal


@given(part=st.sampled_from(["respondent", "meta"]),
       value=st.one_of(st.integers(), hostile_text(), st.lists(st.integers(), max_size=2)))
async def test_a_respondent_or_meta_that_is_not_an_object_is_refused(
        web: httpx.AsyncClient, rows: RowCounts, part: str, value: Any) -> None:
    refusal = await refused_without_a_trace(web, rows, with_value(promoter(), (part,), value))

    assert refusal["field"].startswith(part), refusal


@given(where=st.sampled_from([(), ("respondent",)]), name=hostile_text(), value=json_values())
async def test_unknown_fields_are_refused_naming_them(
        web: httpx.AsyncClient, rows: RowCounts, where: tuple[str, ...], name: str,
        value: Any) -> None:
    body = promoter()
    target = body["respondent"] if where else body
    assume(name.strip() and name.strip() not in target and name not in target)
    target[name] = value

    refusal = await refused_without_a_trace(web, rows, body)

    assert any(error["field"] == ".".join([*where, name]) for error in refusal["errors"]), \
        refusal


@given(changes=st.dictionaries(
    st.sampled_from(["response_id", "program", "score", "comment", "respondent",
                     "answered_at", "meta"]), json_values(), min_size=1))
async def test_whatever_is_sent_the_answer_is_a_clear_refusal_or_one_stored_response(
        web: httpx.AsyncClient, rows: RowCounts, changes: dict[str, Any]) -> None:
    body = {**promoter(), **changes}
    # A detractor would open a case, which needs Temporal: the escaping tests do that.
    assume(not (type(body["score"]) is int and 0 <= body["score"] <= 6))
    before = rows()

    answer = await post_json(web, INTAKE, body)

    if answer.status_code == 201:
        assert rows() == {**before, "survey_response": before["survey_response"] + 1}
    elif answer.status_code == 200:  # a response id an earlier example stored
        assert rows() == before
    else:
        assert refusal_of(answer)["field"], answer.text
        assert rows() == before


@given(data=st.data())
async def test_a_body_that_is_not_utf8_is_refused_and_nothing_is_stored(
        web: httpx.AsyncClient, rows: RowCounts, data: st.DataObject) -> None:
    body = data.draw(spoiled(json_bytes(promoter())))
    before = rows()

    answer = await web.post(INTAKE, content=body, headers={**JSON, **ADMIN})

    refusal_of(answer)
    assert rows() == before


async def test_meta_values_a_database_cannot_store_are_refused(
        web: httpx.AsyncClient, rows: RowCounts) -> None:
    # JSON that Python reads but PostgreSQL's json type (and other readers) would not.
    for meta in (b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -1e999}', b'{"a": "\\u0000"}',
                 b'{"a\\u0000": 1}', b'{"a": ["\\ud800"]}', b'{"a": {"b": "x\\u0000"}}'):
        without_meta = {k: v for k, v in promoter().items() if k != "meta"}
        body = json_bytes(without_meta)[:-1] + b', "meta": ' + meta + b"}"
        before = rows()
        answer = await web.post(INTAKE, content=body, headers={**JSON, **ADMIN})
        assert answer.status_code == 422, (meta, answer.text)
        assert answer.json()["field"] == "meta"
        assert rows() == before


@given(depth=st.integers(17, 950), kind=st.sampled_from(["[]", "{}"]))
async def test_meta_nested_hundreds_deep_is_refused(
        web: httpx.AsyncClient, rows: RowCounts, depth: int, kind: str) -> None:
    opening, closing = ('{"a":', "}") if kind == "{}" else ("[", "]")
    nested = opening * depth + ("1" if kind == "{}" else "") + closing * depth
    body = {k: v for k, v in promoter().items() if k != "meta"}
    raw = json_bytes(body)[:-1] + f', "meta": {{"deep": {nested}}}}}'.encode()
    before = rows()

    answer = await web.post(INTAKE, content=raw, headers={**JSON, **ADMIN})

    assert answer.status_code == 422 and answer.json()["field"] == "meta", answer.text[:200]
    assert rows() == before


@pytest.mark.parametrize("depth", [5_000, 100_000])
async def test_json_nested_beyond_any_parser_is_refused_not_a_crash(
        web: httpx.AsyncClient, rows: RowCounts, depth: int) -> None:
    before = rows()

    answer = await web.post(INTAKE, content=b"[" * depth + b"]" * depth,
                            headers={**JSON, **ADMIN})

    assert answer.status_code == 400, answer.text[:200]
    assert rows() == before


@given(moment=st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                               "0001-01-01T00:30:00+01:00"]))
async def test_an_answer_time_beyond_the_calendar_is_refused_not_a_crash(
        web: httpx.AsyncClient, rows: RowCounts, moment: str) -> None:
    refusal = await refused_without_a_trace(
        web, rows, with_value(promoter(), ("answered_at",), moment))

    assert refusal["field"] == "answered_at"

