"""The restart benchmark end to end on a few cases: `kringloop up` stopped with Ctrl-C and started
again on its on-disk Temporal still answers every open case."""

from __future__ import annotations

import pytest

from bench.restart_recovery import restart_recovery
from kringloop.settings import Settings

CASES = 20


@pytest.mark.slow
async def test_every_open_case_answers_an_action_after_kringloop_up_is_restarted() -> None:
    figure = await restart_recovery(Settings(), cases=CASES)

    assert figure.name == "restart_recovery_s"
    assert figure.value is not None, figure.note
    assert figure.details["answered"].startswith(f"{CASES} of {CASES} cases")
    assert "worker RSS" in figure.versus
    # When the first, half and last case answered: a slow start shows apart from a slow pace.
    first, half, last = (float(part.split(" at ")[1].split(" s")[0]) for part in
                         figure.details["answered"].split(": ")[1].split(" (warm")[0].split(", "))
    assert first <= half <= last == round(figure.value, 1)
