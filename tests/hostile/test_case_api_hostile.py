"""The team's case actions through the JSON API (notes, callback attempts, reassigning, resolving,
replies to an employee) with hostile text: a NUL anywhere, or a line break where one line
belongs, is refused naming the field before any case is looked up; anything else about a case
that does not exist is a 404, and nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.strategies import breaking, hostile_text, json_values, with_nul
from tests.support.web import RowCounts, post_json, refusal_of

CASE = "/api/cases/case-nobody"
ACTIONS: dict[str, dict[str, Any]] = {
    "notes": {"text": "Twee keer gebeld, geen gehoor."},
    "callback-attempts": {"outcome": "no_answer", "note": "Voicemail ingesproken."},
    "reassign": {"member": "bram.degroot@fietsenwinkel.example"},
    "resolve": {"root_cause": "delivery-late", "action_taken": "Nieuwe fiets geleverd.",
                "message": "Excuses, en dank voor je geduld."},
    "relay-replies": {"text": "Dank je, zullen we het rooster samen bekijken?"},
}
FIELDS = [(action, field) for action, body in ACTIONS.items() for field in body]
ONE_LINE = [("callback-attempts", "outcome"), ("reassign", "member"), ("resolve", "root_cause")]


async def refused_without_a_trace(web: httpx.AsyncClient, rows: RowCounts, action: str,
                                  body: Any) -> dict[str, Any]:
    before = rows()
    refusal = refusal_of(await post_json(web, f"{CASE}/{action}", body))
    assert rows() == before
    return refusal


@given(where=st.sampled_from(FIELDS), text=with_nul())
async def test_a_nul_in_any_field_of_a_case_action_is_refused_naming_it(
        web: httpx.AsyncClient, rows: RowCounts, where: tuple[str, str], text: str) -> None:
    action, field = where

    refusal = await refused_without_a_trace(web, rows, action,
                                            {**ACTIONS[action], field: text})

    assert refusal["field"] == field, refusal


@given(where=st.sampled_from(ONE_LINE), text=breaking())
async def test_a_line_break_in_a_one_line_field_of_a_case_action_is_refused_naming_it(
        web: httpx.AsyncClient, rows: RowCounts, where: tuple[str, str], text: str) -> None:
    action, field = where

    refusal = await refused_without_a_trace(web, rows, action,
                                            {**ACTIONS[action], field: text})

    assert refusal["field"] == field, refusal


@given(action=st.sampled_from(list(ACTIONS)),
       changes=st.dictionaries(hostile_text(), json_values(), max_size=3))
async def test_whatever_a_case_action_says_about_a_missing_case_nothing_is_written(
        web: httpx.AsyncClient, rows: RowCounts, action: str, changes: dict[str, Any]) -> None:
    refusal = await refused_without_a_trace(web, rows, action, {**ACTIONS[action], **changes})

    assert refusal["field"] or refusal == {"message": "no case case-nobody", "field": None}, refusal
