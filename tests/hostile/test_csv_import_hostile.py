"""A survey export with hostile lines: NUL, line breaks and markup in any cell, either delimiter,
with or without Excel's byte order mark. Each bad line is refused with the physical line number
an editor shows and the column to fix, each good line is read exactly as written, and a file
that cannot be read at all is refused as a whole, before anything is imported."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from sqlmodel import select

from kringloop.database import session_for
from kringloop.intake.csv_import import COLUMNS, read_lines, run_import
from kringloop.intake.spreadsheet import UnreadableFile
from kringloop.responses.models import SurveyResponse
from tests.hostile.strategies import NOT_UTF8, breaking, markup, with_nul
from tests.support.kringloop import Kringloop

# Free text: markup is welcome (the pages and emails escape it). Line breaks only in comments.
FREE_TEXT = {"comment": 10_000, "name": 200, "respondent_id": 128, "segment": 64}
SPOILERS = {"nul": with_nul(), "break": breaking(), "markup": markup()}


def good_line(number: int) -> dict[str, str]:
    return {"response_id": f"csv-{number}", "program": "customer", "score": "9",
            "comment": "Prima geholpen.", "respondent_id": f"klant-{number}",
            "name": "Anna de Vries", "email": "anna@example.nl", "phone": "+31 6 12345678",
            "language": "nl", "segment": "webshop", "answered_at": "2026-01-05T10:00:00+01:00"}


def expected_refusal(column: str, kind: str, text: str) -> bool:
    """Does the API refuse `text` of this kind in this column?"""
    if kind == "nul":
        return True
    if kind == "break":  # a comment keeps its line breaks; NUL and NEL are control characters
        return column != "comment" or "\x00" in text or "\x85" in text
    return column not in FREE_TEXT


line = st.tuples(st.sampled_from(COLUMNS), st.sampled_from(list(SPOILERS))).flatmap(
    lambda spoil: st.tuples(st.just(spoil[0]), st.just(spoil[1]), SPOILERS[spoil[1]]))


@given(spoils=st.lists(st.one_of(st.none(), line), min_size=1, max_size=6),
       delimiter=st.sampled_from([",", ";"]), bom=st.booleans())
def test_each_hostile_line_is_refused_by_its_line_number_and_column_and_good_lines_read_exactly(
        tmp_path: Path, spoils: list[tuple[str, str, str] | None], delimiter: str,
        bom: bool) -> None:
    records = []
    for number, spoil in enumerate(spoils):
        cells = good_line(number)
        if spoil is not None:
            column, kind, text = spoil
            # Markup is cut to the column's length, to be accepted; a break or NUL is refused
            # at any length.
            cells[column] = text[:FREE_TEXT.get(column, 10_000)] if kind == "markup" else text
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter).writerow([cells[c] for c in COLUMNS])
        records.append((cells, out.getvalue()))
    header = delimiter.join(COLUMNS) + "\r\n"
    text = header + "".join(record for _, record in records)
    export = tmp_path / "export.csv"
    export.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))

    lines = read_lines(export)

    assert len(lines) == len(records)
    written = header
    for found, (cells, record), spoil in zip(lines, records, spoils, strict=True):
        assert found.number == 1 + len(re.findall(r"\r\n|\r|\n", written)), "editor's line"
        written += record
        if spoil is not None and expected_refusal(spoil[0], spoil[1], cells[spoil[0]]):
            assert found.response is None and found.refusal is not None
            assert found.refusal.startswith(f"{spoil[0]}: "), found.refusal
            continue
        assert found.refusal is None and found.response is not None, found.refusal
        respondent = found.response.respondent
        assert respondent is not None
        assert (found.response.comment, respondent.name, respondent.id, respondent.segment) == (
            cells["comment"].strip(), cells["name"].strip(), cells["respondent_id"].strip(),
            cells["segment"].strip())


@given(data=st.data())
def test_a_file_that_is_not_utf8_is_refused_as_a_whole(tmp_path: Path,
                                                       data: st.DataObject) -> None:
    text = ",".join(COLUMNS) + "\n" + ",".join(good_line(1).values()) + "\n"
    raw = text.encode()
    cut = data.draw(st.integers(0, len(raw)))
    export = tmp_path / "export.csv"
    export.write_bytes(raw[:cut] + data.draw(st.sampled_from(NOT_UTF8)) + raw[cut:])

    with pytest.raises(UnreadableFile, match="not UTF-8 text"):
        read_lines(export)


@given(column=st.one_of(breaking(), markup(), st.sampled_from(["\x1b[2J", "\x1b]0;owned\x07"])))
def test_an_unknown_column_is_named_without_letting_the_terminal_obey_it(
        tmp_path: Path, column: str) -> None:
    export = tmp_path / "export.csv"
    out = io.StringIO()
    csv.writer(out).writerow([*COLUMNS[:3], column])
    export.write_text(out.getvalue(), encoding="utf-8")

    with pytest.raises(UnreadableFile, match="unknown column") as refused:
        read_lines(export)

    assert not any(ch in str(refused.value) for ch in "\x00\x1b\x07\r\n\u2028")


@given(content=st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_as_a_whole_never_a_crash(tmp_path: Path,
                                                               content: bytes) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(b"response_id,program,score\n" + content)

    try:
        lines = read_lines(export)
    except UnreadableFile:
        return
    assert all((line.response is None) != (line.refusal is None) for line in lines)


async def test_an_import_writes_the_good_lines_and_nothing_of_the_refused_ones(
        live: Kringloop, tmp_path: Path) -> None:
    prefix = uuid.uuid4().hex[:8]
    lines = [good_line(n) for n in range(4)]
    for n, cells in enumerate(lines):
        cells["response_id"] = f"{prefix}-{n}"
    lines[1]["comment"] = "Kapot\x00"
    lines[2]["name"] = "Anna\r\nBcc: iedereen@example.nl"
    lines[3]["name"] = "<script>alert(1)</script> de Vries"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows([cells[c] for c in COLUMNS] for cells in lines)
    export = tmp_path / "export.csv"
    export.write_text(out.getvalue(), encoding="utf-8")
    printed = io.StringIO()
    settings = live.settings.model_copy(update={
        "temporal_address": live.env.client.service_client.config.target_host})

    code = await run_import(export, settings=settings,
                            console=Console(file=printed, width=200, color_system=None))

    assert code == 1, printed.getvalue()
    assert "line 3: comment:" in printed.getvalue()
    assert "line 4: name:" in printed.getvalue()  # a quoted cell over two lines starts on 4
    with session_for(live.engine) as session:
        stored = {row.id: row for row in session.exec(select(SurveyResponse))}
    assert sorted(stored) == [f"{prefix}-0", f"{prefix}-3"]
    assert stored[f"{prefix}-3"].name == "<script>alert(1)</script> de Vries"
