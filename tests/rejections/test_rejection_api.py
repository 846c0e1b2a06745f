"""The rejection API as a recruiter meets it: refusals that say what to fix, one email per
applicant and vacancy, batches answered item by item, and who may do what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from kringloop.database import session_for
from kringloop.mail.models import OutboxMessage
from kringloop.security.credentials import create_api_token
from tests.support.mail import body_of
from tests.support.people import THIJS
from tests.support.rejections import REASON, Recruiting, applicant, rejection

CONCRETE = "Je hebt nog geen ervaring met het afstellen van e-bike motoren."


def reasons(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "sentence": sentence} for code, sentence in pairs]


def without(key: str) -> dict[str, Any]:
    body = rejection(applicant("refused"))
    del body[key]
    return body


@pytest.mark.parametrize(("body", "field", "says"), [
    (without("reasons"), "reasons", "needs a reason"),
    (rejection(reasons=[]), "reasons", "needs a reason"),
    (rejection(reasons=[REASON] * 3), "reasons", "not 3"),
    (rejection(reasons=reasons(("experience", "   "))), "reasons.0.sentence", "is empty"),
    (rejection(reasons=reasons(("culture-fit", CONCRETE))), "reasons.0.code",
     "unknown reason code 'culture-fit'"),
    (rejection(reasons=reasons(("experience", CONCRETE),
                               ("other-candidate-stronger",
                                "Helaas, we hebben veel sollicitaties ontvangen."))),
     "reasons.1.sentence", "stock phrase"),
    (rejection(reasons=reasons(("experience", "Unfortunately we received many applications"))),
     "reasons.0.sentence", "stock phrase"),
    (rejection(reasons=reasons(("experience", "Te weinig ervaring."))), "reasons.0.sentence",
     "has 3 words; write at least 6"),
    (rejection({**applicant("mail"), "email": "lisa@"}), "applicant.email", "email"),
    (rejection({**applicant("lang"), "language": "de"}), "applicant.language", "'nl' or 'en'"),
    (rejection({**applicant("crlf"), "name": "Lisa\r\nBcc: iedereen@example.nl"}),
     "applicant.name", "line breaks"),
    (rejection(vacancy="v-1") | {"vacancy": {"id": "v-1", "title": "Monteur\nBcc: x@y.z"}},
     "vacancy.title", "line breaks"),
    (rejection(recruiter="esther.mulder@fietsenwinkel.example"), "recruiter",
     "not a member of the recruiting team"),
    (rejection(send_at="2020-01-06T09:00:00+01:00"), "send_at", "lies in the past"),
    (rejection(send_at="2030-01-06T09:00:00"), "send_at", "timezone"),
    (rejection(stage="hired"), "stage", "screening"),
])
async def test_a_rejection_without_a_concrete_honest_reason_is_refused(
    recruiting: Recruiting, body: dict[str, Any], field: str, says: str,
) -> None:
    answer = await recruiting.reject(body)

    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert says in answer.json()["message"]
    assert recruiting.stored() == [], "nothing is kept of a refused rejection"


async def test_the_same_applicant_and_vacancy_twice_is_one_rejection_and_one_email(
    recruiting: Recruiting,
) -> None:
    body = rejection(applicant("twice"), send_at=(await recruiting.now()).isoformat())

    first = await recruiting.reject(body)
    again = await recruiting.reject(body)

    assert first.status_code == 202, first.text
    assert again.status_code == 200, again.text
    assert again.json()["rejection_id"] == first.json()["rejection_id"]
    assert again.json()["send_at"] == first.json()["send_at"]
    await recruiting.kringloop.smtp.wait_for(1)
    await recruiting.rejection_when(first.json()["rejection_id"], lambda r: r["status"] == "sent")
    third = await recruiting.reject(body)
    assert (third.status_code, third.json()["status"]) == (200, "sent")
    await recruiting.sleep(timedelta(hours=1))
    assert len(recruiting.kringloop.smtp.to(body["applicant"]["email"], "rejection")) == 1
    assert len(recruiting.stored()) == 1


async def test_other_reasons_for_a_scheduled_rejection_are_refused_until_it_is_cancelled(
    recruiting: Recruiting,
) -> None:
    lisa = applicant("correct")
    first = await recruiting.reject(rejection(lisa))
    rejection_id = first.json()["rejection_id"]
    corrected = rejection(lisa, reasons=reasons(("experience", CONCRETE)))

    conflict = await recruiting.reject(corrected)

    assert conflict.status_code == 409, conflict.text
    assert "cancel it first" in conflict.json()["message"]
    assert (await recruiting.cancel(rejection_id)).status_code == 200
    resent = await recruiting.reject(corrected | {"send_at": (await recruiting.now()).isoformat()})
    assert resent.status_code == 202, resent.text
    assert resent.json()["rejection_id"] == rejection_id
    [email] = await recruiting.kringloop.smtp.wait_for(1)
    assert CONCRETE in body_of(email) and REASON["sentence"] not in body_of(email)
    found = await recruiting.rejection_when(rejection_id, lambda r: r["status"] == "sent")
    kinds = [e["kind"] for e in found["timeline"]]
    assert kinds[:5] == ["received", "scheduled", "cancelled", "resubmitted", "scheduled"]


async def test_a_batch_answers_per_applicant_and_the_accepted_ones_go_out(
    recruiting: Recruiting,
) -> None:
    now = (await recruiting.now()).isoformat()
    good = [{"applicant": applicant(f"batch-{n}"), "stage": "screening",
             "reasons": reasons(("experience", f"{CONCRETE} (sollicitant {n})")),
             "send_at": now} for n in range(3)]
    bad_email = {**good[0], "applicant": {**applicant("batch-x"), "email": "geen-adres"}}
    vague = {**good[0], "applicant": applicant("batch-y"),
             "reasons": reasons(("experience", "Helaas."))}
    elsewhere = {**good[0], "applicant": applicant("batch-z"),
                 "vacancy": {"id": "v-other", "title": "Verkoper"}}

    answer = await recruiting.batch("v-monteur", {
        "vacancy_title": "Monteur", "items": [good[0], bad_email, good[1], vague, good[2],
                                              elsewhere, good[0]]})

    assert answer.status_code == 202, answer.text
    result = answer.json()
    assert (result["accepted"], result["refused"]) == (4, 3)
    by_index = {r["index"]: r for r in result["results"]}
    assert [by_index[i]["accepted"] for i in range(7)] == [True, False, True, False, True,
                                                           False, True]
    assert by_index[1]["field"] == "applicant.email"
    assert by_index[1]["applicant_id"] == "sol-batch-x"
    assert by_index[3]["field"] == "reasons.0.sentence" and "stock phrase" in by_index[3]["message"]
    assert by_index[5]["field"] == "vacancy.id"
    assert by_index[6]["rejection_id"] == by_index[0]["rejection_id"], "listed twice: one"
    await recruiting.kringloop.smtp.wait_for(3)
    await recruiting.sleep(timedelta(hours=1))
    for n, item in enumerate(good):
        [email] = recruiting.kringloop.smtp.to(item["applicant"]["email"], "rejection")
        assert f"(sollicitant {n})" in body_of(email) and "Monteur" in email["Subject"]
    assert len(recruiting.kringloop.smtp.received) == 3


async def test_a_batch_in_which_nothing_is_accepted_is_refused_as_a_whole(
    recruiting: Recruiting,
) -> None:
    answer = await recruiting.batch("v-monteur", {"vacancy_title": "Monteur", "items": [
        {"applicant": applicant("none-1"), "stage": "screening", "reasons": []}]})

    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "items"
    assert answer.json()["results"][0]["field"] == "reasons"


def token_for(recruiting: Recruiting, email: str) -> dict[str, str]:
    with session_for(recruiting.kringloop.engine) as session:
        _, secret = create_api_token(session=session, email=email)
    return {"Authorization": f"Bearer {secret}"}


async def test_recruiters_and_the_recruiting_lead_reject_and_nobody_else(
    recruiting: Recruiting,
) -> None:
    thijs = token_for(recruiting, THIJS)
    mila = token_for(recruiting, "mila.koster@fietsenwinkel.example")  # recruiting, member
    esther = token_for(recruiting, "esther.mulder@fietsenwinkel.example")  # another team's lead

    mine = await recruiting.reject(rejection(applicant("auth-1")), headers=thijs)
    assert mine.status_code == 202, mine.text
    rejection_id = mine.json()["rejection_id"]
    found = await recruiting.rejection(rejection_id)
    assert found["recruiter"]["email"] == THIJS, "a recruiter signs their own rejections"
    for outsider in (mila, esther):
        refused = await recruiting.reject(rejection(applicant("auth-2")), headers=outsider)
        assert refused.status_code == 403, refused.text
    assert (await recruiting.cancel(rejection_id, headers=mila)).status_code == 403
    read = await recruiting.api.get(f"/api/rejections/{rejection_id}", headers=mila)
    assert read.status_code == 200, "the recruiting team sees its rejections"
    hidden = await recruiting.api.get(f"/api/rejections/{rejection_id}", headers=esther)
    assert hidden.status_code == 404
    assert (await recruiting.api.post("/api/rejections", json=rejection())).status_code == 401

    by_admin = await recruiting.reject(rejection(applicant("auth-3")))
    lead = (await recruiting.rejection(by_admin.json()["rejection_id"]))["recruiter"]
    assert lead == {"name": "Anouk Peters", "email": "anouk.peters@fietsenwinkel.example"}


async def test_the_email_goes_out_once_even_if_its_activity_runs_again(
    recruiting: Recruiting,
) -> None:
    answer = await recruiting.reject(rejection(applicant("once"),
                                               send_at=(await recruiting.now()).isoformat()))
    await recruiting.kringloop.smtp.wait_for(1)
    await recruiting.rejection_when(answer.json()["rejection_id"],
                                    lambda r: r["status"] == "sent")
    with session_for(recruiting.kringloop.engine) as session:
        [row] = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "rejection")).all()
    assert row.status == "sent" and row.key == f"{answer.json()['rejection_id']}:rejection:1"
