"""Every survey tool's delivery is read alike: a body that is not a JSON object, a time, an id
or an event that is not what the tool documents is refused naming the field at fault, so the
sender's admin knows what to fix; times without an offset are UTC, and a score of 3.0 is 3."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kringloop.sources.reading import UnreadableDelivery
from kringloop.sources.tools.payloads import (
    event_name,
    identifier,
    json_member,
    json_object,
    moment,
    nothing_to_fetch,
    whole_number,
)


@pytest.mark.parametrize("body", [b"<html>Bad gateway</html>", b"\xff\xfe", b'["event"]'])
def test_a_body_that_is_not_a_json_object_is_unreadable_saying_what_the_tool_sends(
    body: bytes,
) -> None:
    with pytest.raises(UnreadableDelivery, match="as Tally sends") as unreadable:
        json_object(body, tool="Tally")

    assert unreadable.value.field == "body"


def test_a_time_written_without_an_offset_is_read_as_utc() -> None:
    assert moment("2026-11-23 09:02:17", field="endDate") == datetime(
        2026, 11, 23, 9, 2, 17, tzinfo=UTC)
    assert moment("2026-11-23T10:02:17+01:00", field="endDate") == datetime(
        2026, 11, 23, 9, 2, 17, tzinfo=UTC)
    assert moment("2026-11-23T09:02:17Z", field="endDate") == datetime(
        2026, 11, 23, 9, 2, 17, tzinfo=UTC)


@pytest.mark.parametrize("left_out", [None, ""])
def test_a_time_the_tool_left_out_is_no_time(left_out: str | None) -> None:
    assert moment(left_out, field="data.createdAt") is None


@pytest.mark.parametrize("stamp", ["gisteren", 1795424537])
def test_a_time_that_is_not_iso_8601_is_unreadable_at_its_field(stamp: Any) -> None:
    with pytest.raises(UnreadableDelivery, match="ISO 8601") as unreadable:
        moment(stamp, field="data.createdAt")

    assert unreadable.value.field == "data.createdAt"


def test_an_id_is_read_as_text_whether_the_tool_writes_it_as_text_or_a_number() -> None:
    assert identifier(81532, field="event_data.id") == "81532"
    assert identifier(" R_1l9mcVuXubb4aGm ", field="MSG.ResponseID") == "R_1l9mcVuXubb4aGm"


@pytest.mark.parametrize("value", [None, "", "  ", True, 3.5, {"id": "x"}])
def test_what_is_no_id_is_unreadable_at_its_field(value: Any) -> None:
    with pytest.raises(UnreadableDelivery) as unreadable:
        identifier(value, field="data.responseId")

    assert unreadable.value.field == "data.responseId"


def test_a_whole_score_sent_as_a_float_reads_as_an_int_and_nothing_else_changes() -> None:
    score = whole_number(3.0)

    assert score == 3 and type(score) is int
    assert whole_number(7.5) == 7.5
    assert whole_number("3") == "3"
    assert whole_number(True) is True


@pytest.mark.parametrize("data", [None, "anna", ["anna"]])
def test_a_part_that_is_not_an_object_is_unreadable_at_its_path(data: Any) -> None:
    with pytest.raises(UnreadableDelivery) as unreadable:
        json_member({"person": data}, "person", path="data.person")

    assert unreadable.value.field == "data.person"


@pytest.mark.parametrize("payload", [{}, {"eventType": ""}, {"eventType": 3}])
def test_a_delivery_that_names_no_event_is_unreadable_at_the_tools_event_field(
    payload: dict[str, Any],
) -> None:
    with pytest.raises(UnreadableDelivery, match="Tally delivery names its event") as unreadable:
        event_name(payload, "eventType", tool="Tally")

    assert unreadable.value.field == "eventType"


def test_a_tool_whose_webhook_carries_the_answers_has_nothing_to_fetch() -> None:
    refusal = nothing_to_fetch(tool="Delighted")

    assert "nothing to fetch" in str(refusal)
    assert refusal.field == "kind"
