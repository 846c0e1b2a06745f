"""A loyalty team points each survey tool's webhook at Kringloop: deliveries built on the vendors'
documented examples (tests/sources/examples, each citing its page in tests/sources/tools),
signed the vendor's way, go through the real web app and worker to a case, an assignee and an
acknowledgement at the SMTP server; a repeat opens nothing new, an update reaches the open
case, an unsubscribe holds later email back, and nothing is lost on a mapping mistake."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlmodel import select

from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.responses.models import SurveyResponse
from kringloop.services import Services
from kringloop.sources.models import HookDelivery
from kringloop.sources.service import replay_unmapped
from tests.support.kringloop import Kringloop
from tests.support.pages import element
from tests.support.people import INGRID, SANNE
from tests.support.survey_tool_apis import FakeSurveyApis
from tests.support.survey_tools import EXAMPLES, SOURCE_OF, signed
from tests.support.web import signed_in

ANNA = "anna.devries@example.nl"
# The documented example each tool posts when a response is finished.
FINISHED = {"typeform": "typeform_form_response.json", "tally": "tally_form_response.json",
            "formbricks": "formbricks_response_finished.json",
            "delighted": "delighted_survey_response_created.json",
            "surveymonkey": "surveymonkey_response_completed.json",
            "qualtrics": "qualtrics_response_notification.txt"}
# What the tool's own id for that response is in the example.
DOCUMENTED_IDS = {"typeform": "b7e4c1f09a2d43e8a6c5f31d8e2b9a70", "tally": "mR4vXq",
            "formbricks": "wzq8r1k6v3m0p9x2n5t7y4ca", "delighted": "81532",
            "surveymonkey": "118052219061", "qualtrics": "R_1l9mcVuXubb4aGm"}
TOOL_IDS = dict(DOCUMENTED_IDS)  # this test's own (see fresh_ids)
SENDING_ANSWERS = ("typeform", "tally", "formbricks", "delighted")
SENDING_IDS = ("surveymonkey", "qualtrics")
JSON = {"content-type": "application/json"}


@pytest.fixture(autouse=True)
def fresh_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's responses have ids of their own: the Temporal server outlives the test, and
    a case id it has seen before would be joined, not opened."""
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setattr(sys.modules[__name__], "TOOL_IDS",
                        {kind: tool_id + suffix for kind, tool_id in DOCUMENTED_IDS.items()})


def example(name: str, **changes: Any) -> bytes:
    """A documented example, under this test's response ids, with a few values changed (keys
    as dotted paths)."""
    text = (EXAMPLES / name).read_bytes()
    for kind, documented in DOCUMENTED_IDS.items():
        text = text.replace(documented.encode(), TOOL_IDS[kind].encode())
    if not changes:
        return text
    body = json.loads(text)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        node[last] = value
    return json.dumps(body).encode()


async def deliver(live: Kringloop, kind: str, body: bytes, **signing: Any) -> httpx.Response:
    body, headers = signed(kind, body, **signing)
    return await live.api.post(f"/api/hooks/{SOURCE_OF[kind]}", content=body, headers=headers)


def serve_the_answers(apis: FakeSurveyApis, kind: str) -> None:
    """The tool's API has the notified response (the documented example)."""
    if kind == "surveymonkey":
        apis.add_response("surveymonkey", "506487016", TOOL_IDS[kind],
                          json.loads(example("surveymonkey_response_details.json")))
    else:
        apis.add_response("qualtrics", "SV_3fJ8kLm2Qp9Rt4V", TOOL_IDS[kind],
                          json.loads(example("qualtrics_response.json")))


def deliveries(live: Kringloop, source: str) -> list[HookDelivery]:
    with session_for(live.engine) as session:
        return list(session.exec(select(HookDelivery).where(HookDelivery.source == source)
                                 .order_by(HookDelivery.received_at)).all())


def responses(live: Kringloop) -> list[SurveyResponse]:
    with session_for(live.engine) as session:
        return list(session.exec(select(SurveyResponse)).all())


async def eventually(check: Callable[[], Any], *, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "it did not happen in time"
        await asyncio.sleep(0.1)
    return found


# --- each tool, from its documented example to a case and an acknowledgement ------------------

@pytest.mark.parametrize("kind", SENDING_ANSWERS)
async def test_a_tools_documented_delivery_opens_a_case_and_anna_is_acknowledged(
    live: Kringloop, kind: str,
) -> None:
    answer = await deliver(live, kind, example(FINISHED[kind]))

    response_id = f"{SOURCE_OF[kind]}:{TOOL_IDS[kind]}"
    assert answer.status_code == 201, answer.text
    assert answer.json() | {"status": "taken"} == {
        "response_id": response_id, "category": "detractor", "case_id": f"case-{response_id}",
        "status": "taken"}
    live.started.append(f"case-{response_id}")
    case = await live.case_when(f"case-{response_id}", lambda c: c["assignee"])
    assert (case["score"], case["source"], case["tool"]) == (3, SOURCE_OF[kind], kind)
    assert case["respondent"]["email"] == ANNA and case["respondent"]["id"] == "KL-20417"
    [acknowledgement] = await eventually(lambda: live.smtp.to(ANNA, "acknowledgement"))
    assert "Anna" in str(acknowledgement.get_body(("plain",)).get_content())


@pytest.mark.parametrize("kind", SENDING_IDS)
async def test_a_tool_that_sends_only_ids_is_answered_202_and_its_answers_are_fetched(
    live: Kringloop, survey_apis: FakeSurveyApis, kind: str,
) -> None:
    serve_the_answers(survey_apis, kind)

    answer = await deliver(live, kind, example(FINISHED[kind]))

    response_id = f"{SOURCE_OF[kind]}:{TOOL_IDS[kind]}"
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"response_id": response_id, "status": "fetching"}
    live.started.append(f"case-{response_id}")
    case = await live.case_when(f"case-{response_id}", lambda c: c["assignee"], timeout=30)
    assert (case["score"], case["tool"], case["respondent"]["email"]) == (3, kind, ANNA)
    assert "De monteur kwam twee keer niet opdagen" in case["comment"]
    await eventually(lambda: live.smtp.to(ANNA, "acknowledgement"))
    [asked] = survey_apis.requests
    assert (asked.headers.get("authorization") == f"Bearer {survey_apis.tokens[kind]}"
            if kind == "surveymonkey"
            else asked.headers.get("x-api-token") == survey_apis.tokens[kind])
    [delivery] = deliveries(live, SOURCE_OF[kind])
    assert delivery.status == "taken" and delivery.body is None, "the request is let go"

    again = await deliver(live, kind, example(FINISHED[kind]))
    assert (again.status_code, again.json()["status"]) == (200, "repeat")
    assert len(survey_apis.requests) == 1, "a response we have is not fetched again"


async def test_a_fetch_that_fails_is_shown_and_tried_again_until_the_case_opens(
    live: Kringloop, survey_apis: FakeSurveyApis,
) -> None:
    serve_the_answers(survey_apis, "surveymonkey")
    survey_apis.fail_next(1)

    answer = await deliver(live, "surveymonkey", example(FINISHED["surveymonkey"]))

    assert answer.status_code == 202
    failing = await eventually(lambda: [d for d in deliveries(live, "nps-verhuur")
                                        if d.status == "failing"])
    assert failing[0].attempts == 1 and "503" in (failing[0].error or "")
    shown = element((await (await signed_in(live, INGRID)).get("/sources")).text,
                    "source-nps-verhuur")
    assert "ophalen mislukt" in shown and "503 Service Unavailable" in shown, "the admin sees it"
    case_id = f"case-nps-verhuur:{TOOL_IDS['surveymonkey']}"
    live.started.append(case_id)
    await live.case_when(case_id, lambda c: c["assignee"], timeout=40)
    assert [d.status for d in deliveries(live, "nps-verhuur")] == ["taken"]
    assert len(survey_apis.requests) == 2


# --- signatures ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", SENDING_ANSWERS + SENDING_IDS)
async def test_a_delivery_signed_with_another_secret_is_refused_and_nothing_kept(
    live: Kringloop, kind: str,
) -> None:
    wrong = ("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
             if kind == "formbricks" else "not-the-secret&at-all")

    answer = await deliver(live, kind, example(FINISHED[kind]), secret=wrong)

    assert answer.status_code == 401, answer.text
    assert answer.json()["field"] == "signature"
    assert not responses(live) and not deliveries(live, SOURCE_OF[kind])


async def test_a_formbricks_delivery_sent_again_ten_minutes_later_is_refused(
    live: Kringloop,
) -> None:
    answer = await deliver(live, "formbricks", example(FINISHED["formbricks"]),
                           sent_at=int(time.time()) - 600)

    assert answer.status_code == 401
    assert "webhook-timestamp" in answer.json()["message"]
    assert not responses(live)


async def test_a_source_whose_secret_is_not_set_asks_the_tool_to_try_later(
    live: Kringloop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KRINGLOOP_HOOK_NPS_WEBSHOP")

    answer = await deliver(live, "typeform", example(FINISHED["typeform"]))

    assert answer.status_code == 503
    assert "KRINGLOOP_HOOK_NPS_WEBSHOP" in answer.json()["message"]
    assert not responses(live)


async def test_a_source_without_a_secret_takes_the_intake_token(
    live: Kringloop, org: Organisation,
) -> None:
    unsigned = org.model_copy(update={"sources": [
        s.model_copy(update={"secret_env": None}) for s in org.sources]})
    services: Services = live.api._transport.app.state.services  # type: ignore[attr-defined]
    live.api._transport.app.state.services = services.__class__(  # type: ignore[attr-defined]
        **{**services.__dict__, "org": unsigned,
           "settings": services.settings.model_copy(update={"intake_token": "tok-intake"})})
    body = example(FINISHED["typeform"])

    refused = await live.api.post("/api/hooks/nps-webshop", content=body, headers=JSON)
    taken = await live.api.post("/api/hooks/nps-webshop", content=body,
                                headers=JSON | {"Authorization": "Bearer tok-intake"})

    assert refused.status_code == 401
    assert taken.status_code == 201, taken.text
    live.started.append(taken.json()["case_id"])


# --- repeats, updates, ignored events -------------------------------------------------------------

@pytest.mark.parametrize("kind", SENDING_ANSWERS)
async def test_a_repeated_delivery_opens_nothing_new(live: Kringloop, kind: str) -> None:
    first = await deliver(live, kind, example(FINISHED[kind]))
    again = await deliver(live, kind, example(FINISHED[kind]))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["case_id"] == first.json()["case_id"]
    assert again.json()["status"] == "repeat"
    live.started.append(first.json()["case_id"])
    assert len(responses(live)) == 1


async def test_delighteds_later_comment_lands_on_the_open_case_and_the_assignee_hears(
    live: Kringloop,
) -> None:
    created = await deliver(live, "delighted", example(FINISHED["delighted"]))
    case_id = created.json()["case_id"]
    live.started.append(case_id)
    case = await live.case_when(case_id, lambda c: c["assignee"])
    assignee = case["assignee"]["email"]
    await eventually(lambda: live.smtp.to(assignee, "assignment"))

    updated = await deliver(live, "delighted", example(
        "delighted_survey_response_updated.json"))

    assert updated.status_code == 200, updated.text
    assert (updated.json()["status"], updated.json()["case_id"]) == ("updated", case_id)
    case = await live.case_when(case_id, lambda c: any(
        e["kind"] == "respondent_update" for e in c["timeline"]))
    comment = json.loads(example("delighted_survey_response_updated.json"))[
        "event_data"]["comment"]
    assert case["comment"] == comment
    [step] = [e for e in case["timeline"] if e["kind"] == "respondent_update"]
    assert comment in step["detail"] and step["actor"] == "respondent"
    [told] = await eventually(lambda: live.smtp.to(assignee, "respondent_update"))
    assert comment[:30] in str(told.get_body(("plain",)).get_content())
    assert len(responses(live)) == 1

    again = await deliver(live, "delighted", example("delighted_survey_response_updated.json"))
    assert again.json()["status"] == "repeat", "the same update twice is told once"


async def test_a_changed_score_is_recorded_on_the_timeline(live: Kringloop) -> None:
    created = await deliver(live, "delighted", example(FINISHED["delighted"]))
    case_id = created.json()["case_id"]
    live.started.append(case_id)
    await live.case_when(case_id, lambda c: c["assignee"])

    await deliver(live, "delighted", example("delighted_survey_response_updated.json",
                                             **{"event_data.score": 5}))

    case = await live.case_when(case_id, lambda c: any(
        e["kind"] == "respondent_update" for e in c["timeline"]))
    [step] = [e for e in case["timeline"] if e["kind"] == "respondent_update"]
    assert "score changed from 3 to 5" in step["detail"]
    assert case["score"] == 3, "the case stays the one the low score opened"


async def test_an_update_that_outruns_its_creation_opens_the_case(live: Kringloop) -> None:
    updated = await deliver(live, "formbricks", example("formbricks_response_updated.json"))
    finished = await deliver(live, "formbricks", example(FINISHED["formbricks"]))

    assert updated.status_code == 201, updated.text
    assert finished.status_code == 200 and finished.json()["status"] == "repeat"
    live.started.append(updated.json()["case_id"])
    assert len(responses(live)) == 1


async def test_an_unfinished_formbricks_response_is_acknowledged_and_ignored(
    live: Kringloop,
) -> None:
    answer = await deliver(live, "formbricks", example("formbricks_response_created.json"))

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ignored"
    assert not responses(live)
    assert [d.status for d in deliveries(live, "nps-lease")] == ["ignored"]


# --- unsubscribes ---------------------------------------------------------------------------------

async def test_after_an_unsubscribe_no_email_reaches_the_person_and_the_case_says_why(
    live: Kringloop,
) -> None:
    answer = await deliver(live, "delighted", example("delighted_unsubscribe_created.json"))
    assert (answer.status_code, answer.json()["status"]) == (200, "unsubscribed")

    created = await deliver(live, "typeform", example(FINISHED["typeform"]))

    case_id = created.json()["case_id"]
    live.started.append(case_id)
    await eventually(lambda: [e for e in live.timeline(case_id) if e[0] == "email_failed"])
    [(_, why)] = [e for e in live.timeline(case_id) if e[0] == "email_failed"]
    assert "unsubscribed through nps-winkels" in why
    case = await live.case(case_id)
    assert not live.smtp.to(ANNA), "the acknowledgement is held back"
    # The team still hears (its email goes after the working-hours check, so it may come last).
    await live.smtp.wait_for_kind(case["assignee"]["email"], "assignment", 1)


# --- nothing lost on a mapping mistake ------------------------------------------------------------

async def test_an_unmappable_delivery_is_kept_and_replayed_once_the_file_is_mended(
    live: Kringloop, org: Organisation,
) -> None:
    body = example(FINISHED["typeform"])
    wrongly_mapped = org.source("nps-webshop")
    assert wrongly_mapped is not None
    services: Services = live.api._transport.app.state.services  # type: ignore[attr-defined]
    mistaken = org.model_copy(update={"sources": [
        s.model_copy(update={"fields": {**s.fields, "score": "aanbeveling_nps"}})
        if s.name == "nps-webshop" else s for s in org.sources]})
    live.api._transport.app.state.services = services.__class__(  # type: ignore[attr-defined]
        **{**services.__dict__, "org": mistaken})

    answer = await deliver(live, "typeform", body)

    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "score"
    assert "'aanbeveling_nps'" in answer.json()["message"]
    [kept] = deliveries(live, "nps-webshop")
    assert kept.status == "unmapped" and kept.body == signed("typeform", body)[0]
    assert not responses(live)

    replayed = await replay_unmapped(wrongly_mapped, services=services)

    [(row, outcome)] = replayed
    assert (row.id, outcome.status) == (kept.id, 201)
    live.started.append(outcome.body["case_id"])
    await live.case_when(outcome.body["case_id"], lambda c: c["assignee"])
    [settled] = deliveries(live, "nps-webshop")
    assert settled.status == "taken" and settled.body is None


async def test_a_delivery_to_an_unknown_source_is_not_found(live: Kringloop) -> None:
    answer = await live.api.post("/api/hooks/nps-nergens", json={})

    assert answer.status_code == 404
    assert "nps-nergens" in answer.json()["message"]


async def test_a_case_told_of_a_later_comment_runs_to_its_close(
    simulated: Kringloop, keep_history: Any,
) -> None:
    created = await deliver(simulated, "delighted", example(FINISHED["delighted"]))
    case_id = created.json()["case_id"]
    simulated.started.append(case_id)
    await simulated.case_when(case_id, lambda c: c["callback_due_at"])
    await deliver(simulated, "delighted", example("delighted_survey_response_updated.json"))
    await simulated.case_when(case_id, lambda c: any(
        e["kind"] == "respondent_update" for e in c["timeline"]))

    answer = await simulated.act(case_id, "resolve", {
        "root_cause": "repair-turnaround", "action_taken": "Monteur ingepland en excuses gemaakt",
        "message": "Sorry voor de gemiste afspraken."})

    assert answer.status_code == 200, answer.text
    assert await simulated.finished(case_id) == "closed"
    await keep_history(simulated, case_id, "case_respondent_update_then_resolved")


async def test_the_sources_page_shows_each_source_its_address_and_what_became_of_deliveries(
    live: Kringloop,
) -> None:
    await deliver(live, "formbricks", example("formbricks_response_created.json"))

    page = (await (await signed_in(live, INGRID)).get("/sources")).text

    lease = element(page, "source-nps-lease")
    assert "Formbricks" in lease and "/api/hooks/nps-lease" in lease
    assert 'data-status="ignored">genegeerd: 1<' in lease, "in Ingrid's language"
    assert "KRINGLOOP_HOOK_NPS_LEASE" in lease
    assert "/api/hooks/nps-zakelijk" in element(page, "source-nps-zakelijk")
    member = await (await signed_in(live, SANNE)).get("/sources")
    assert member.status_code == 403, "a member does not see the sources"
