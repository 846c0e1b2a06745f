"""The import figures' own parts: the survey export they import is one a survey tool could have
written (and the import takes every line of it), and a small run gives both figures a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.survey_import import survey_import, write_export
from kringloop.intake.csv_import import read_lines
from kringloop.settings import Settings


def test_the_export_is_a_realistic_survey_export_the_import_takes_whole(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", lines=5_000)

    responses = [line.response for line in read_lines(export.path)]

    assert None not in responses, "every line is one the import takes"
    assert len(responses) == export.lines == 5_000
    detractors = [r for r in responses if r is not None and r.score <= 6]
    assert len(detractors) == export.detractors
    assert 0.10 <= export.detractors / export.lines <= 0.20
    assert {r.program for r in responses if r} == {"customer", "employee", "candidate"}
    comments = [r.comment for r in responses if r and r.comment]
    assert any(not comment.isascii() for comment in comments), "Dutch has é, ë, ï and €"
    assert any("\n" in comment for comment in comments), "a cell over two lines, as Excel has"
    assert write_export(tmp_path / "again.csv", lines=5_000).path.read_bytes() == \
        export.path.read_bytes(), "the same export every run"


@pytest.mark.slow  # a stack, an import process and 300 cases started: about 20 s
async def test_a_small_import_gives_both_figures_a_value() -> None:
    speed, memory = await survey_import(Settings(), lines=2_000)

    assert speed.name == "import_lines_per_s" and speed.value and speed.value > 0
    assert "reading alone" in speed.versus
    assert memory.name == "import_rss_mb" and memory.value and memory.value > 0
    assert "25%" in memory.details["RSS by share of the file"]
    assert "case workflows started" in memory.details["cases opened"]
