"""A lead runs her team from its list of open cases: filtered from the board, one case or all of
a member's reassigned, a colleague marked absent. Members see today's callbacks to lend a hand
but move nothing; other teams do not learn the list exists."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kringloop.database import session_for
from kringloop.security.credentials import create_api_token
from tests.support.cases import add_case, case_for, move_callback
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.pages import element, problems_of, row
from tests.support.people import BRAM, ESTHER, INGRID, JOOST, SANNE
from tests.support.web import signed_in

MARIEKE = "marieke.devries@fietsenwinkel.example"  # lead of Zakelijk & Lease
NOOR = "noor.hendriks@fietsenwinkel.example"  # Particulieren
LIST = "/teams/zakelijk/cases"


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-case-id="([^"]+)"', html)


def bearer(live: Kringloop, email: str) -> dict[str, str]:
    with session_for(live.engine) as session:
        _, secret = create_api_token(session=session, email=email)
    return {"Authorization": f"Bearer {secret}"}


def zakelijk_cases(live: Kringloop) -> dict[str, str]:
    """Sanne's and Joost's open cases, by what their callback is: overdue, due in days, made."""
    now = datetime.now(UTC)
    cases = {"sanne late": add_case(live.engine, 1), "sanne later": add_case(live.engine, 2),
             "joost late": add_case(live.engine, 3, assignee=JOOST),
             "joost called": add_case(live.engine, 4, assignee=JOOST, attempted=True),
             "employee": add_case(live.engine, 5, program="employee")}
    add_case(live.engine, 6, status="resolved")
    for name, due in [("sanne late", now - timedelta(hours=2)), ("joost late", now - timedelta(
            minutes=30)), ("employee", now - timedelta(minutes=10))]:
        move_callback(live, cases[name], due)
    for name in ("sanne later", "joost called"):
        move_callback(live, cases[name], now + timedelta(days=3))
    return cases


async def test_the_lead_opens_a_members_cases_from_the_board_and_filters_them(
    live: Kringloop,
) -> None:
    cases = zakelijk_cases(live)
    marieke = await signed_in(live, MARIEKE)

    board = (await marieke.get("/teams/zakelijk")).text
    link = re.search(r'<a href="(/teams/zakelijk/cases\?assignee=joost[^"]+)">Joost Bakker</a>',
                     board)
    assert link, element(board, "workload")
    joosts = (await marieke.get(link.group(1).replace("&#64;", "@").replace("%40", "@"))).text

    assert rows(joosts) == [cases["joost late"], cases["joost called"]]
    assert f'<option value="{JOOST}" selected>Joost Bakker</option>' in joosts
    late = row(joosts, cases["joost late"])
    assert 'class="overdue"' in late and "te laat" in late
    assert "Joost Bakker — 2 open" in joosts and "Sanne Jansen — 3 open" in joosts
    assert f'id="reassign-{cases["joost late"]}"' in late  # a control per row
    reassign_all = element(joosts, "reassign-all")
    assert "Alle open cases van Joost Bakker overdragen" in reassign_all
    from_member, to_member = re.findall(r"<select [^>]*>(.*?)</select>", reassign_all, re.S)
    assert f'<option value="{JOOST}" selected>' in from_member
    assert "selected" not in to_member and JOOST not in to_member  # the lead chooses
    assert 'name="to_member" id="to-member" required' in reassign_all
    assert problems_of(joosts) == []

    overdue = (await marieke.get(LIST, overdue="yes")).text
    assert rows(overdue) == [cases["sanne late"], cases["joost late"], cases["employee"]]
    assert '<option value="yes" selected>' in overdue
    staff = (await marieke.get(LIST, program="employee", status="assigned")).text
    assert rows(staff) == [cases["employee"]]
    assert '<option value="employee" selected>' in staff
    nonsense = await marieke.get(LIST, status="<all>", overdue="maybe", assignee="x@y.z")
    assert nonsense.status_code == 200 and len(rows(nonsense.text)) == 5
    nothing = (await marieke.get(LIST, assignee=MARIEKE)).text
    assert "Geen open cases die bij deze filters passen." in nothing


async def test_a_member_sees_todays_callbacks_to_lend_a_hand_but_reassigns_nothing(
    live: Kringloop,
) -> None:
    cases = zakelijk_cases(live)
    joost = await signed_in(live, JOOST)

    listing = await joost.get(LIST, due="")
    reassign = await joost.submit(LIST, "/teams/zakelijk/reassignments",
                                  {"from_member": SANNE, "to_member": JOOST})
    one = await joost.submit(LIST, "/teams/zakelijk/reassignments",
                             {"case_id": cases["sanne late"], "to_member": JOOST})
    absent = await joost.submit(LIST, "/teams/zakelijk/absences",
                                {"member": SANNE, "until": "2099-01-01"})
    api = await live.api.post("/api/teams/zakelijk/reassignments", headers=bearer(live, JOOST),
                              json={"from_member": SANNE, "to_member": JOOST})
    as_json = await live.api.get("/api/teams/zakelijk/cases", headers=bearer(live, JOOST))

    assert listing.status_code == 200
    assert rows(listing.text) == [cases["sanne late"], cases["joost late"], cases["employee"]]
    assert "Vandaag terugbellen: Zakelijk &amp; Lease" in listing.text
    for control in ('name="to_member"', 'action="/teams/zakelijk/absences"', "Overdragen"):
        assert control not in listing.text
    assert [r.status_code for r in (reassign, one, absent, api)] == [403, 403, 403, 403]
    assert "alleen de teamleider" in element(reassign.text, "team-refusal")
    assert problems_of(listing.text) == [] and problems_of(reassign.text) == []
    assert [i["case_id"] for i in as_json.json()["items"]] == rows(listing.text)
    after = await live.api.get("/api/teams/zakelijk/cases", headers=ADMIN,
                               params={"assignee": SANNE})
    assert {i["case_id"] for i in after.json()["items"]} == {
        cases["sanne late"], cases["sanne later"], cases["employee"]}  # nothing moved


async def test_other_teams_do_not_learn_the_list_exists(live: Kringloop) -> None:
    bram, ingrid = await signed_in(live, BRAM), await signed_in(live, INGRID)

    assert (await bram.get(LIST)).status_code == 404
    assert (await bram.submit("/queue", "/teams/zakelijk/reassignments",
                              {"from_member": SANNE, "to_member": JOOST})).status_code == 404
    assert (await live.api.get("/api/teams/zakelijk/cases",
                               headers=bearer(live, BRAM))).status_code == 404
    assert (await live.api.put(f"/api/teams/zakelijk/members/{SANNE}/absence",
                               json={"until": "2099-01-01"},
                               headers=bearer(live, BRAM))).status_code == 404
    assert (await ingrid.get("/teams/no-such-team/cases")).status_code == 404
    assert (await ingrid.get(LIST)).status_code == 200  # an admin leads every team


async def test_the_api_refuses_unknown_members_naming_the_field(live: Kringloop) -> None:
    nobody = "nobody@fietsenwinkel.example"
    yesterday = datetime.now(ZoneInfo("Europe/Amsterdam")).date() - timedelta(days=1)
    calls = [
        ("post", "/api/teams/zakelijk/reassignments", {"from_member": nobody,
                                                       "to_member": JOOST}, "from_member"),
        ("post", "/api/teams/zakelijk/reassignments", {"from_member": SANNE,
                                                       "to_member": BRAM}, "to_member"),
        ("post", "/api/teams/zakelijk/reassignments", {"from_member": SANNE,
                                                       "to_member": SANNE}, "to_member"),
        ("post", "/api/teams/zakelijk/reassignments", {"from_member": SANNE}, "to_member"),
        ("put", f"/api/teams/zakelijk/members/{nobody}/absence", {"until": "2099-01-01"},
         "member"),
        ("put", f"/api/teams/zakelijk/members/{SANNE}/absence", {"until": str(yesterday)},
         "until"),
        ("put", f"/api/teams/zakelijk/members/{SANNE}/absence", {"until": "soon"}, "until"),
    ]
    for method, path, body, field in calls:
        answer = await live.api.request(method.upper(), path, json=body, headers=ADMIN)
        assert (answer.status_code, answer.json()["field"]) == (422, field), answer.text
    assert (await live.api.get("/api/teams/zakelijk/cases", headers=ADMIN,
                               params={"status": "resolved"})).status_code == 422


async def test_reassigning_all_of_a_members_cases_moves_them_and_reports_the_refused_one(
    live: Kringloop,
) -> None:
    first, second, closed = [await case_for(live, BRAM) for _ in range(3)]
    await live.env.client.get_workflow_handle(closed["case_id"]).terminate("closed meanwhile")
    esther = await signed_in(live, ESTHER)
    bram_list = f"/teams/particulier/cases?assignee={BRAM}"

    answer = await esther.submit(bram_list, "/teams/particulier/reassignments", {
        "from_member": BRAM, "to_member": NOOR, "back": bram_list})

    assert answer.status_code == 200, answer.text
    outcome = element(answer.text, "team-outcome")
    assert "2 cases overgedragen aan collega's" in outcome
    assert "1 case is niet overgedragen:" in outcome
    assert f'<a href="/cases/{closed["case_id"]}">' in element(answer.text, "not-moved")
    for case in (first, second):
        assert (await live.case(case["case_id"]))["assignee"]["email"] == NOOR
    assert (await live.case(closed["case_id"]))["assignee"]["email"] == BRAM

    back = await live.api.post("/api/teams/particulier/reassignments", headers=ADMIN,
                               json={"from_member": NOOR, "to_member": BRAM})
    assert back.status_code == 200, back.text
    assert sorted(back.json()["moved"]) == sorted([first["case_id"], second["case_id"]])
    assert back.json()["refused"] == []

    one = await esther.submit(bram_list, "/teams/particulier/reassignments", {
        "case_id": first["case_id"], "to_member": NOOR, "back": bram_list})
    assert (one.status_code, one.headers["location"]) == (303, bram_list)
    shown = (await esther.get(bram_list)).text
    assert "1 case overgedragen aan een collega" in element(shown, "team-outcome")
    assert first["case_id"] not in rows(shown)
    refused = await esther.submit(bram_list, "/teams/particulier/reassignments", {
        "case_id": second["case_id"], "to_member": "", "back": bram_list})
    assert refused.status_code == 422 and "Geef ze aan: kies een collega" in element(
        refused.text, "team-refusal")
    assert problems_of(answer.text) == [] and problems_of(refused.text) == []


async def test_the_lead_marks_a_colleague_absent_and_back_from_the_list(
    live: Kringloop,
) -> None:
    due = await case_for(live, BRAM)
    move_callback(live, due["case_id"], datetime.now(UTC) - timedelta(minutes=5))
    esther = await signed_in(live, ESTHER)
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    bram_list = f"/teams/particulier/cases?assignee={BRAM}"

    marked = await esther.submit(bram_list, "/teams/particulier/absences", {
        "member": BRAM, "until": str(today + timedelta(days=2)), "back": bram_list})

    assert (marked.status_code, marked.headers["location"]) == (303, bram_list)
    shown = (await esther.get(bram_list)).text
    outcome = element(shown, "team-outcome")
    assert "Bram de Groot is afwezig tot en met" in outcome
    assert "1 case overgedragen aan een collega" in outcome
    assert "afwezig tot en met" in element(shown, "absent-now")
    assert problems_of(shown) == []
    assert (await live.case(due["case_id"]))["assignee"]["email"] != BRAM
    board = (await esther.get("/teams/particulier")).text
    assert re.search(r"Bram de Groot</a> <span class=\"absent\">afwezig tot en met", board)

    back = await esther.submit(bram_list, "/teams/particulier/absences/end",
                               {"member": BRAM, "back": bram_list})
    assert back.status_code == 303
    shown = (await esther.get(bram_list)).text
    assert "Bram de Groot is terug" in element(shown, "team-outcome")
    assert 'id="absent-now"' not in shown
    gone = await live.api.delete(f"/api/teams/particulier/members/{BRAM}/absence",
                                 headers=ADMIN)
    assert gone.status_code == 204
