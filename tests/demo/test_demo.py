"""`kringloop demo` runs the whole loop on its own and closes every case it opens."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from kringloop.demo.people import sample_responses
from kringloop.org.organisation import Organisation
from tests.support.command import KRINGLOOP


def _figure(output: str, label: str) -> int:
    found = re.search(rf"│ {re.escape(label)}\s+│\s+(\d+) │", output)
    assert found, f"no {label!r} in the summary:\n{output}"
    return int(found.group(1))


def _per_team(output: str) -> dict[str, int]:
    return {team: int(count) for team, count
            in re.findall(r"│   assigned to (.+?)\s+│\s+(\d+) │", output)}


def _nps_before_after(output: str) -> tuple[int, int]:
    found = re.search(r"before → after\s+│\s+([+-]?\d+) → ([+-]?\d+) │", output)
    assert found, f"no NPS before → after of the re-surveyed in the summary:\n{output}"
    return int(found.group(1)), int(found.group(2))


def test_the_demo_samples_cover_every_program_in_dutch_and_english(
        org: Organisation) -> None:
    samples = sample_responses(org, 200)
    assert len({s.response_id for s in samples}) == 200
    assert {s.body["program"] for s in samples} == {"customer", "employee", "candidate"}
    assert {s.language for s in samples} == {"nl", "en"}
    assert any(s.score <= 6 for s in samples) and any(s.score >= 9 for s in samples)
    again = sample_responses(org, 200)
    assert [(s.response_id, s.score, s.language) for s in samples] == [
        (s.response_id, s.score, s.language) for s in again], "the same demo every time"


@pytest.mark.slow  # about 50 s: the compressed SLAs and re-survey delay still take real time
def test_demo_closes_the_loop_for_every_sample_detractor(tmp_path: Path) -> None:
    started = time.monotonic()
    demo = subprocess.run(
        [str(KRINGLOOP), "demo", "--responses", "40"],
        cwd=tmp_path, env=os.environ | {"COLUMNS": "120"}, capture_output=True, text=True,
        timeout=150)
    took = time.monotonic() - started

    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output
    opened = _figure(output, "cases opened")
    assert opened > 0
    assert _figure(output, "responses posted") == 40
    assert _figure(output, "resolved") == opened
    assert _figure(output, "closed") == opened
    per_team = _per_team(output)
    assert len(per_team) >= 3 and sum(per_team.values()) == opened, per_team
    on_time, late = _figure(output, "callbacks on time"), _figure(output, "callbacks late")
    assert 0 < on_time + late <= opened
    for program in ("customer", "employee", "candidate"):
        assert re.search(rf"{program}: \d+ responses, NPS", output), f"no {program} line"
    assert _figure(output, "emails sent") > 0
    assert _figure(output, "re-surveyed (new score given)") > 0
    before, after = _nps_before_after(output)
    assert before == -100, "only detractors are re-surveyed"
    assert after > before, "the demo's closed loops win some detractors back"
    assert "stuck" not in output
    assert list(tmp_path.iterdir()) == [], "the demo keeps its files in a temporary home"
    assert took < 90, f"the demo took {took:.0f} s"
