"""Adopting a customer from their case page (seed 004's "adoptieklanten"): their next case goes
straight to the colleague who adopted them, and the adopters report follows their scores."""

from __future__ import annotations

from typing import Any

from tests.support.intake import unique
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.pages import element
from tests.support.people import BRAM, ESTHER, PRIYA
from tests.support.web import signed_in

LOTTE = {"name": "Lotte Smit", "email": "lotte@example.nl", "language": "nl"}


async def assigned(live: Kringloop, customer_id: str, score: int) -> dict[str, Any]:
    posted = await live.post_response(unique("adopt"), score,
                                      respondent={**LOTTE, "id": customer_id})
    return await live.case_when(posted["case_id"], lambda c: c["assignee"])


async def test_a_member_adopts_a_customer_on_the_case_page_and_gets_their_next_case(
    live: Kringloop,
) -> None:
    customer = unique("klant")
    first = await assigned(live, customer, 4)
    page = f"/cases/{first['case_id']}"
    bram = await signed_in(live, BRAM)
    assert first["team"] == "particulier" and 'id="adopt"' in (await bram.get(page)).text

    adopted = await bram.submit(page, f"{page}/adopt", {})

    assert (adopted.status_code, adopted.headers["location"]) == (303, page)
    shown = (await bram.get(page)).text
    assert "Bram de Groot" in element(shown, "adopted-by") and 'id="adopt"' not in shown
    # Others on the team are busier or not: the adopted customer's next case is Bram's.
    for _ in range(2):
        await assigned(live, unique("klant"), 5)
    second = await assigned(live, customer, 3)
    assert second["assignee"]["email"] == BRAM
    assert ("routed", "to Particulieren (adopted by Bram de Groot)") in live.timeline(
        second["case_id"])

    report = await live.api.get("/api/reports/adopted", headers=ADMIN)
    [mine] = [a for a in report.json()["adopters"] if a["email"] == BRAM]
    customers = {c["respondent_id"]: c for c in mine["customers"]}
    assert [s["score"] for s in customers[customer]["scores"]] == [4, 3]
    assert customers[customer]["name"] == "Lotte Smit"
    assert "klant-20417" in customers, "adoptions in the organisation file still count"


async def test_only_the_cases_team_adopts_and_nobody_adopts_twice(live: Kringloop) -> None:
    customer = unique("klant")
    case = await assigned(live, customer, 4)
    page = f"/cases/{case['case_id']}"
    bram, priya = await signed_in(live, BRAM), await signed_in(live, PRIYA)
    token = await bram.token(page)

    outsider = await priya.submit("/queue", f"{page}/adopt", {})
    forged = await bram.client.post(f"{page}/adopt", data={"csrf_token": "forged"})
    assert (outsider.status_code, forged.status_code) == (404, 403)
    assert (await bram.client.post(f"{page}/adopt", data={"csrf_token": token})
            ).status_code == 303
    esther = await signed_in(live, ESTHER)
    twice = await esther.submit(page, f"{page}/adopt", {})
    assert twice.status_code == 409
    assert "Bram de Groot heeft deze klant al geadopteerd" in twice.text
    admin = await live.api.post(f"/api/cases/{case['case_id']}/adopt", headers=ADMIN)
    assert admin.status_code == 403, "the admin token is no member: it adopts nobody"

    enps = await live.post_response(unique("enps"), 3, program="employee")
    employee_case = await live.case_when(enps["case_id"], lambda c: c["assignee"])
    lead = await signed_in(live, "wendy.vanleeuwen@fietsenwinkel.example")
    employee_page = f"/cases/{employee_case['case_id']}"
    assert 'id="adopt"' not in (await lead.get(employee_page)).text
    refused = await lead.submit(employee_page, f"{employee_page}/adopt", {})
    assert refused.status_code == 422 and "kan geadopteerd worden" in refused.text
