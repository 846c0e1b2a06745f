"""The intake contract as a survey tool meets it: categories, idempotency, refusals, health."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import SQLModel
from temporalio.service import RPCError

from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.mail.models import OutboxMessage
from kringloop.responses.models import SurveyResponse
from tests.support.enps import colleague
from tests.support.intake import api_with, detractor, settled, stored_counts, unique
from tests.support.kringloop import ADMIN, Kringloop, readable


def cases_for(engine: Engine, response_id: str) -> list[Case]:
    with session_for(engine) as session:
        return list(session.execute(
            select(Case).where(Case.response_id == response_id)).scalars())  # type: ignore[arg-type]


def everything_stored(engine: Engine) -> str:
    """Every row of every table, as text: what an attacker with the database file would read."""
    with engine.connect() as connection:
        return "\n".join(
            f"{table.name}: {tuple(row)}" for table in SQLModel.metadata.sorted_tables
            for row in connection.execute(table.select()))


# --- what a survey tool gets back -----------------------------------------------------------

async def test_a_detractor_is_taken_in_and_a_case_is_opened(live: Kringloop) -> None:
    response_id = unique("detractor")

    answer = await live.api.post("/api/responses", json=detractor(response_id))

    assert answer.status_code == 201, answer.text
    assert answer.json() == {"response_id": response_id, "category": "detractor",
                             "case_id": f"case-{response_id}"}
    case = await live.case_when(f"case-{response_id}", lambda c: c["assignee"])
    assert case["score"] == 3
    assert [c.id for c in cases_for(live.engine, response_id)] == [f"case-{response_id}"]


@pytest.mark.parametrize(("score", "category"), [(7, "passive"), (8, "passive"),
                                                 (9, "promoter"), (10, "promoter")])
async def test_passives_and_promoters_are_thanked_but_open_no_case(
    live: Kringloop, score: int, category: str,
) -> None:
    response_id = unique(category)

    answer = await live.api.post("/api/responses",
                                 json=detractor(response_id, score=score))

    assert answer.status_code == 201, answer.text
    assert answer.json() == {"response_id": response_id, "category": category, "case_id": None}
    assert cases_for(live.engine, response_id) == []
    with session_for(live.engine) as session:
        stored = session.get(SurveyResponse, response_id)
    assert stored is not None and stored.case_id is None and stored.category == category
    with pytest.raises(RPCError):
        await live.env.client.get_workflow_handle(f"case-{response_id}").describe()


@pytest.mark.parametrize("score", [0, 6])
async def test_scores_up_to_six_are_detractors(live: Kringloop, score: int) -> None:
    response_id = unique(f"score{score}")

    body = await live.post_response(response_id, score)

    assert body == {"response_id": response_id, "category": "detractor",
                    "case_id": f"case-{response_id}"}
    await live.case_when(f"case-{response_id}", lambda c: c["assignee"])


async def test_the_same_response_twice_opens_one_case_and_sends_one_acknowledgement(
    live: Kringloop,
) -> None:
    response_id = unique("twice")

    first = await live.api.post("/api/responses", json=detractor(response_id))
    again = await live.api.post("/api/responses", json=detractor(response_id))

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    await settled(live, f"case-{response_id}")
    third = await live.api.post("/api/responses", json=detractor(response_id))
    assert (third.status_code, third.json()) == (200, first.json())
    await settled(live, f"case-{response_id}")
    assert len(cases_for(live.engine, response_id)) == 1
    assert len(live.smtp.to("anna@example.nl", "acknowledgement")) == 1


# --- refusals ----------------------------------------------------------------------------------

def with_respondent(**respondent: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["respondent"] = {**body["respondent"], **respondent}
    return change


def setting(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body[name] = value
    return change


def dropping(name: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        del body[name]
    return change


INVALID = {
    "score as a string": (setting("score", "3"), "score"),
    "score as a float": (setting("score", 3.0), "score"),
    "score as a boolean": (setting("score", True), "score"),
    "score above 10": (setting("score", 11), "score"),
    "score below 0": (setting("score", -1), "score"),
    "no response id": (dropping("response_id"), "response_id"),
    "unknown program": (setting("program", "partner"), "program"),
    "unknown field": (setting("colour", "blue"), "colour"),
    "bad email": (with_respondent(email="anna-at-example.nl"), "respondent.email"),
    "line break in name": (with_respondent(name="Anna\r\nBcc: all@example.nl"),
                           "respondent.name"),
    "NUL in name": (with_respondent(name="Anna\x00de Vries"), "respondent.name"),
    "German": (with_respondent(language="de"), "respondent.language"),
    "slash in response id": (setting("response_id", "abc/def"), "response_id"),
    "space in response id": (setting("response_id", "abc def"), "response_id"),
}


@pytest.mark.parametrize(("change", "field"), INVALID.values(), ids=INVALID.keys())
async def test_an_invalid_response_is_refused_naming_the_field_and_nothing_is_stored(
    live: Kringloop, change: Callable[[dict[str, Any]], None], field: str,
) -> None:
    body = detractor(unique("invalid"))
    change(body)
    before = stored_counts(live.engine)

    answer = await live.api.post("/api/responses", json=body)

    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["field"] == field
    assert field in error["message"]
    assert stored_counts(live.engine) == before
    assert live.smtp.received == []


# --- tokens ------------------------------------------------------------------------------------

@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "intake-secret"],
                         ids=["no token", "wrong token", "token without Bearer"])
async def test_with_an_intake_token_set_a_sender_without_it_is_turned_away(
    live: Kringloop, authorization: str | None,
) -> None:
    guarded = live.settings.model_copy(update={"intake_token": "intake-secret"})
    headers = {"Authorization": authorization} if authorization else {}
    before = stored_counts(live.engine)

    async with api_with(live, guarded) as api:
        answer = await api.post("/api/responses", json=detractor(unique("guarded")),
                                headers=headers)

    assert answer.status_code == 401, answer.text
    assert stored_counts(live.engine) == before


@pytest.mark.parametrize("token", ["intake-secret", ADMIN["Authorization"].split()[1]])
async def test_with_an_intake_token_set_the_intake_or_admin_token_gets_in(
    live: Kringloop, token: str,
) -> None:
    guarded = live.settings.model_copy(update={"intake_token": "intake-secret"})
    response_id = unique("token")

    async with api_with(live, guarded) as api:
        answer = await api.post("/api/responses", json=detractor(response_id),
                                headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 201, answer.text
    assert answer.json()["case_id"] == f"case-{response_id}"
    await live.case_when(f"case-{response_id}", lambda c: c["assignee"])


async def test_the_case_api_needs_the_admin_token(live: Kringloop) -> None:
    case_id = (await live.post_response(unique("private"), 2))["case_id"]
    await live.case_when(case_id, lambda c: c["assignee"])

    anonymous = await live.api.get(f"/api/cases/{case_id}")
    wrong = await live.api.get(f"/api/cases/{case_id}",
                               headers={"Authorization": "Bearer guess"})
    note = await live.api.post(f"/api/cases/{case_id}/notes", json={"text": "hello"})

    assert anonymous.status_code == 401, anonymous.text
    assert wrong.status_code == 401, wrong.text
    assert note.status_code == 401, note.text
    assert (await live.api.get(f"/api/cases/{case_id}", headers=ADMIN)).status_code == 200
    assert "note" not in [kind for kind, _ in live.timeline(case_id)]


# --- anonymous employees -----------------------------------------------------------------------

async def test_an_anonymous_employee_leaves_no_trace_of_who_they_are(live: Kringloop) -> None:
    employee = colleague()
    response_id = unique("enps")

    answer = await live.api.post("/api/responses", json={
        "response_id": response_id, "program": "employee", "score": 2,
        "comment": "Te veel overwerk.", "respondent": employee})

    assert answer.status_code == 201, answer.text
    case = await settled(live, answer.json()["case_id"])
    assert case["team"] == "people"
    assert live.smtp.to(case["assignee"]["email"], "assignment"), "the people team was told"
    assert live.smtp.to(employee["email"]) == []
    stored = everything_stored(live.engine)
    assert answer.json()["response_id"] in stored, "the response itself is kept"
    assert response_id not in stored, "under a keyed hash of the survey tool's id"
    history = readable((await live.env.client.get_workflow_handle(case["case_id"])
                        .fetch_history()).to_json())  # payloads decoded: base64 hides nothing
    for identity in ("id", "name", "email", "phone"):
        assert employee[identity] not in stored, identity
        assert employee[identity] not in history, identity


async def test_an_employee_who_asks_to_be_contacted_is_known_and_acknowledged(
    live: Kringloop,
) -> None:
    employee = colleague()
    response_id = unique("enps-consent")

    answer = await live.api.post("/api/responses", json={
        "response_id": response_id, "program": "employee", "score": 2,
        "respondent": employee, "meta": {"contact_consent": True}})

    assert answer.status_code == 201, answer.text
    case = await settled(live, answer.json()["case_id"])
    assert {k: case["respondent"][k] for k in ("id", "name", "email", "phone")} == {
        k: employee[k] for k in ("id", "name", "email", "phone")}
    assert len(live.smtp.to(employee["email"], "acknowledgement")) == 1


@pytest.mark.parametrize(("respondent", "meta"), [
    ({"name": "Anna de Vries", "phone": "+31 6 1234 5678", "language": "nl"}, {}),
    ({"name": "Anna de Vries", "email": "anna.nee@example.nl", "language": "nl"},
     {"contact_consent": False}),
], ids=["no-email-address", "no-consent"])
async def test_a_detractor_without_address_or_consent_gets_a_callback_but_no_email(
    live: Kringloop, respondent: dict[str, str], meta: dict[str, object],
) -> None:
    response_id = unique("no-ack")
    answer = await live.api.post("/api/responses", json={
        "response_id": response_id, "program": "customer", "score": 2,
        "respondent": respondent, "meta": meta})

    assert answer.status_code == 201, answer.text
    case = await settled(live, answer.json()["case_id"])  # the assignee's email went out
    assert case["assignee"] and case["callback_due_at"]
    with session_for(live.engine) as session:
        kinds = set(session.execute(select(OutboxMessage.kind).where(
            OutboxMessage.case_id == case["case_id"])).scalars())  # type: ignore[arg-type]
    assert kinds == {"assignment"}
    assert not [m for m in live.smtp.received if "anna" in str(m["To"]).lower()]


# --- health ------------------------------------------------------------------------------------

async def test_health_is_good_while_a_worker_polls_the_task_queue(live: Kringloop) -> None:
    deadline = asyncio.get_running_loop().time() + 15
    while (answer := await live.api.get("/health")).status_code != 200:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never healthy: {answer.text}")
        await asyncio.sleep(0.1)
    assert answer.json() == {"status": "ok", "database": True, "database_writable": True,
                             "temporal": True, "worker": True}


async def test_health_is_unavailable_when_no_worker_polls_the_task_queue(
    live: Kringloop,
) -> None:
    orphaned = live.settings.model_copy(update={"task_queue": unique("nobody-polls")})

    async with api_with(live, orphaned) as api:
        answer = await api.get("/health")

    assert answer.status_code == 503, answer.text
    assert answer.json() == {"status": "unavailable", "database": True,
                             "database_writable": True, "temporal": True, "worker": False}
