"""The embedded Temporal kept on disk (KRINGLOOP_TEMPORAL_DB_FILE): an open case outlives a
restart of `kringloop up`, and the team can go on working it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from kringloop.running_stack import running_stack
from tests.test_end_to_end import ADMIN_TOKEN, case_when, kringloop_up, post_detractor

pytestmark = pytest.mark.slow  # two starts of the whole stack: 10 to 12 s


async def test_an_open_case_outlives_a_restart_of_kringloop_up_with_temporal_on_disk(
    tmp_path: Path,
) -> None:
    on_disk = {"KRINGLOOP_TEMPORAL_DB_FILE": str(tmp_path / "temporal.db")}
    async with kringloop_up(tmp_path, **on_disk) as stack:
        await stack.healthy()
        case_id, _ = await post_detractor(stack.web_url)
        await case_when(stack.web_url, case_id, {"assigned", "callback_scheduled"})
        assert await stack.terminate() == 0, stack.output()

    async with kringloop_up(tmp_path, **on_disk) as stack:
        await stack.healthy()
        await stack.printed(r"web app")  # and `up` has written where its parts are
        where = running_stack(home=tmp_path / "home")
        assert where is not None
        temporal = await Client.connect(where.temporal_address,
                                        namespace=where.temporal_namespace)
        described = await temporal.get_workflow_handle(case_id).describe()
        async with httpx.AsyncClient(base_url=stack.web_url, timeout=10, headers={
                "Authorization": f"Bearer {ADMIN_TOKEN}"}) as web:
            noted = await web.post(f"/api/cases/{case_id}/notes",
                                   json={"text": "Na de herstart: Anna morgen bellen."})
        case = await case_when(stack.web_url, case_id, {"note"})
        assert await stack.terminate() == 0, stack.output()

    assert described.status == WorkflowExecutionStatus.RUNNING
    assert noted.status_code == 200, noted.text
    assert any("Na de herstart" in entry["detail"] for entry in case["timeline"])
