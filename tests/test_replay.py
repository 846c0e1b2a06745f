"""Running cases must survive code changes: committed histories replay against today's workflow.

Record new histories with `uv run pytest tests/test_case_timers.py --record-histories` when a
scenario is added; never re-record to make a failing replay pass — use `workflow.patched`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from worker import WORKFLOWS

HISTORIES = {path.stem: path.read_text()
             for path in sorted((Path(__file__).parent / "histories").glob("*.json"))}


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("name", HISTORIES)
async def test_committed_history_replays_without_nondeterminism(name: str) -> None:
    history = WorkflowHistory.from_json(name, HISTORIES[name])
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(
        history, raise_on_replay_failure=True)
    assert result.replay_failure is None
