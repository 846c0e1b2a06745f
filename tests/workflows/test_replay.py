"""Running cases must survive code changes: committed histories replay against today's workflow.

Record new histories with `uv run pytest tests/cases/test_case_timers.py --record-histories`
when a scenario is added; never re-record to make a failing replay pass — use `workflow.patched`.
"""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.kringloop import HISTORIES
from worker import WORKFLOWS

RECORDED = {path.stem: path.read_text() for path in sorted(HISTORIES.glob("*.json"))}


def test_there_are_histories_to_replay() -> None:
    assert len(RECORDED) >= 3


@pytest.mark.parametrize("name", RECORDED)
async def test_committed_history_replays_without_nondeterminism(name: str) -> None:
    history = WorkflowHistory.from_json(name, RECORDED[name])
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(
        history, raise_on_replay_failure=True)
    assert result.replay_failure is None
