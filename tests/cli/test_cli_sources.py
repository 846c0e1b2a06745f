"""`kringloop sources test`: an admin tries a sample delivery against a source's mapping before
pointing the tool at Kringloop, and sees what it maps to, or the field the mapping misses;
`kringloop hooks replay`: what was kept unmapped is taken in once the mapping is mended."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from kringloop.database import make_engine, session_for
from kringloop.migrations import upgrade_to_head
from kringloop.responses.models import SurveyResponse
from kringloop.sources.models import HookDelivery
from tests.support.command import kringloop, the_one_error_line
from tests.support.survey_tools import EXAMPLES


def test_a_sample_shows_the_response_it_maps_to_and_nothing_is_stored(tmp_path: Path) -> None:
    result = kringloop("sources", "test", "nps-webshop",
                       str(EXAMPLES / "typeform_form_response.json"), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    mapped = json.loads(result.stdout)
    assert mapped["event"] == "created"
    assert mapped["response"] | {"answered_at": None} == {
        "response_id": "nps-webshop:b7e4c1f09a2d43e8a6c5f31d8e2b9a70", "program": "customer",
        "score": 3, "comment": mapped["response"]["comment"], "answered_at": None,
        "respondent": {"id": "KL-20417", "name": "Anna de Vries",
                       "email": "anna.devries@example.nl", "language": "nl",
                       "segment": "zakelijk"}}
    assert not (tmp_path / ".kringloop").exists(), "nothing was stored"


def test_a_notification_sample_says_the_answers_are_fetched(tmp_path: Path) -> None:
    result = kringloop("sources", "test", "nps-zakelijk",
                       str(EXAMPLES / "qualtrics_response_notification.txt"), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["fetch"] == {"survey_id": "SV_3fJ8kLm2Qp9Rt4V",
                                                  "response_id": "R_1l9mcVuXubb4aGm"}


def test_a_sample_the_mapping_misses_names_the_field(tmp_path: Path) -> None:
    sample = json.loads((EXAMPLES / "typeform_form_response.json").read_text())
    for field in sample["form_response"]["definition"]["fields"]:
        field["ref"] = field["ref"].replace("aanbeveling", "nps")
    (tmp_path / "renamed.json").write_text(json.dumps(sample))

    result = kringloop("sources", "test", "nps-webshop", "renamed.json", cwd=tmp_path)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "renamed.json: score:" in line and "'aanbeveling'" in line
    assert "'nps'" in line, "it says what the sample has instead"


def test_an_unknown_source_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")

    result = kringloop("sources", "test", "nps-nergens", "x.json", cwd=tmp_path)

    assert result.returncode == 2
    assert "nps-webshop" in the_one_error_line(result)


async def test_replay_takes_in_the_kept_deliveries_once_the_mapping_is_mended(
    tmp_path: Path, database_url: str, dev_server: WorkflowEnvironment,
) -> None:
    tool_id = f"replayed{uuid.uuid4().hex[:8]}"
    body = (EXAMPLES / "typeform_form_response.json").read_bytes().replace(
        b"b7e4c1f09a2d43e8a6c5f31d8e2b9a70", tool_id.encode())
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    with session_for(engine) as session:
        session.add(HookDelivery(
            id="d-1", source="nps-webshop", received_at=datetime(2026, 12, 1, tzinfo=UTC),
            status="unmapped", error="score: the delivery has no 'nps'", body=body,
            headers={"content-type": "application/json"}))
        session.commit()

    result = kringloop("hooks", "replay", "nps-webshop", cwd=tmp_path, database_url=database_url,
                       KRINGLOOP_TEMPORAL_ADDRESS=dev_server.client.service_client.config
                       .target_host)

    assert result.returncode == 0, result.stderr
    case_id = f"case-nps-webshop:{tool_id}"
    assert f"d-1: taken {case_id}" in result.stdout
    assert "1 replayed, 0 still unmapped" in result.stdout
    with session_for(engine) as session:
        delivery = session.get(HookDelivery, "d-1")
        assert delivery is not None and delivery.status == "taken" and delivery.body is None
        assert session.get(SurveyResponse, f"nps-webshop:{tool_id}") is not None
    engine.dispose()
    handle = dev_server.client.get_workflow_handle(case_id)
    assert (await handle.describe()).status is not None, "the case was started"
    await handle.terminate("test over")
