"""`kringloop demo` runs the whole loop on its own and closes every case it opens."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_cli import KRINGLOOP


def _figure(output: str, label: str) -> int:
    found = re.search(rf"│ {re.escape(label)}\s+│\s+(\d+) │", output)
    assert found, f"no {label!r} in the summary:\n{output}"
    return int(found.group(1))


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
    assert _figure(output, "emails sent") > 0
    assert _figure(output, "re-surveyed (new score given)") > 0
    assert "stuck" not in output
    assert list(tmp_path.iterdir()) == [], "the demo keeps its files in a temporary home"
    assert took < 90, f"the demo took {took:.0f} s"
