"""The reports in the workspace and the JSON API: who sees which figures, eNPS one month at a
time, the trend chart, the CSV files, and the page in the reader's language."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

from kringloop.database import session_for
from kringloop.security.credentials import create_api_token
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.pages import element
from tests.support.people import BRAM, ESTHER, INGRID, JOOST, PRIYA, WENDY
from tests.support.reports import MARCH, T0, add_case, answers
from tests.support.web import signed_in

RACHID = "rachid.aziz@fietsenwinkel.example"  # People & Cultuur


def token_of(live: Kringloop, email: str) -> dict[str, str]:
    with session_for(live.engine) as session:
        _, secret = create_api_token(session=session, email=email, label="reports test")
    return {"Authorization": f"Bearer {secret}"}


async def api(live: Kringloop, path: str, headers: dict[str, str], **params: str) -> Any:
    answer = await live.api.get(path, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def three_teams_answer(live: Kringloop) -> None:
    answers(live.engine, 9, 9, 9, 7, 2, 2, segment="lease")  # Zakelijk & Lease
    answers(live.engine, 10, 10, 8, 8, 8, 3, 3, language="en")  # English-speaking
    answers(live.engine, 9, 9, 9, 9, 6, 6, 5, 0, language="nl")  # Particulieren


# Who sees what ----------------------------------------------------------------------------------

async def test_members_see_their_own_teams_nps_and_admins_every_team(live: Kringloop) -> None:
    three_teams_answer(live)
    bram = token_of(live, BRAM)

    own = await api(live, "/api/reports/nps", bram, group_by="team")
    every = await api(live, "/api/reports/nps", ADMIN, group_by="team")

    assert [g["key"] for g in own["groups"]] == ["particulier"]
    assert [g["key"] for g in every["groups"]] == ["zakelijk", "english", "particulier"]
    assert every["overall"] == {
        "hidden": False, "n": 21, "promoters": 9, "passives": 4, "detractors": 8, "nps": 5}
    assert own["groups"][0] == {"hidden": False, "key": "particulier", "n": 8, "promoters": 4,
                                "passives": 0, "detractors": 4, "nps": 0}
    # Bram's overall is his own team's answers, and says so.
    assert own["overall"] == {k: v for k, v in own["groups"][0].items() if k != "key"}
    assert (own["scope"], every["scope"]) == (["particulier"], None)


async def test_a_member_grouping_by_segment_sees_only_their_teams_answers(
    live: Kringloop,
) -> None:
    three_teams_answer(live)  # only Zakelijk's six have a segment: "lease"
    answers(live.engine, 9, 9, 9, 9, 9, language="nl", segment="lease",
            team="particulier")  # called back by Particulieren
    bram = token_of(live, BRAM)

    segments = await api(live, "/api/reports/nps", bram, group_by="segment")
    weeks = await api(live, "/api/reports/nps", bram, group_by="week")
    everyone = await api(live, "/api/reports/nps", ADMIN, group_by="segment")

    # The admin sees 11 lease customers; Bram only the five his team owns, and his team's
    # eight without a segment. Nothing of Zakelijk's or the English-speaking team's answers.
    assert [(g["key"], g["n"]) for g in everyone["groups"]] == [("lease", 11), (None, 15)]
    assert [(g["key"], g["n"]) for g in segments["groups"]] == [("lease", 5), (None, 8)]
    assert segments["overall"]["n"] == weeks["overall"]["n"] == 13
    assert [(g["key"], g["n"]) for g in weeks["groups"]] == [("2026-W45", 13)]


async def test_enps_is_for_admins_and_the_people_team_only(live: Kringloop) -> None:
    answers(live.engine, 9, 9, 7, 7, program="employee", segment="werkplaats")
    answers(live.engine, 3, 2, program="employee", segment="werkplaats", team="people")
    add_case(live.engine, "customer-1", team="particulier")
    november = {"month": "2026-11"}

    for person in (BRAM, ESTHER, PRIYA):
        refused = await live.api.get("/api/reports/nps", params={"program": "employee"},
                                     headers=token_of(live, person))
        assert (refused.status_code, refused.json()["field"]) == (403, "program"), person
        loop = await api(live, "/api/reports/loop", token_of(live, person), **november)
        assert all(row["program"] != "employee" for row in loop["rows"]), person
    for reader in (token_of(live, WENDY), token_of(live, RACHID), ADMIN):
        enps = await api(live, "/api/reports/nps", reader, program="employee", group_by="segment",
                         **november)
        assert enps["overall"]["nps"] == 0
        assert enps["groups"] == [{"hidden": False, "key": "werkplaats", "n": 6, "promoters": 2,
                                   "passives": 2, "detractors": 2, "nps": 0}]
    people = await api(live, "/api/reports/loop", token_of(live, WENDY), **november)
    assert [(r["program"], r["team"]) for r in people["rows"]] == [("employee", "people")]

    bram, wendy = await signed_in(live, BRAM), await signed_in(live, WENDY)
    assert (await bram.get("/reports", program="employee")).status_code == 404
    assert (await bram.get("/reports/nps.csv", program="employee")).status_code == 404
    assert (await bram.get("/reports/members.csv")).status_code == 404  # no such table
    assert 'value="employee"' not in (await bram.get("/reports")).text
    # The people team's own program comes first for them.
    assert '<option value="employee" selected>' in (await wendy.get("/reports")).text


async def test_loop_health_and_adopted_customers_are_scoped_to_the_reader(
    live: Kringloop,
) -> None:
    add_case(live.engine, "p-1", team="particulier", first_attempt_after=timedelta(hours=3))
    add_case(live.engine, "e-1", team="english", first_attempt_after=timedelta(hours=30))
    answers(live.engine, 4, respondent_id="klant-20417")  # adopted by Bram
    answers(live.engine, 10, respondent_id="klant-31852")  # adopted by Joost

    def teams(report: dict[str, Any]) -> list[str]:
        return [row["team"] for row in report["rows"]]

    def adopters(report: dict[str, Any]) -> list[str]:
        return [a["email"] for a in report["adopters"]]

    assert teams(await api(live, "/api/reports/loop", token_of(live, BRAM))) == ["particulier"]
    assert teams(await api(live, "/api/reports/loop", token_of(live, PRIYA))) == ["english"]
    assert teams(await api(live, "/api/reports/loop", ADMIN)) == ["english", "particulier"]
    assert adopters(await api(live, "/api/reports/adopted", token_of(live, BRAM))) == [BRAM]
    assert adopters(await api(live, "/api/reports/adopted", token_of(live, ESTHER))) == [BRAM]
    joost = await api(live, "/api/reports/adopted", token_of(live, JOOST))
    assert adopters(joost) == [JOOST]
    assert [s["score"] for s in joost["adopters"][0]["customers"][0]["scores"]] == [10]
    assert len(adopters(await api(live, "/api/reports/adopted", ADMIN))) == 4


async def test_bad_filters_are_refused_naming_the_field(live: Kringloop) -> None:
    for params, field in [({"from": "2026-12-01", "to": "2026-11-01"}, "from"),
                          ({"program": "partners"}, "program"),
                          ({"group_by": "month"}, "group_by"),
                          ({"from": "1 november"}, "from")]:
        answer = await live.api.get("/api/reports/nps", params=params, headers=ADMIN)
        assert (answer.status_code, answer.json()["field"]) == (422, field), params
    assert (await live.api.get("/api/reports/nps")).status_code == 401


# eNPS: one month, by department -----------------------------------------------------------------

async def test_two_overlapping_periods_of_enps_cannot_be_requested(live: Kringloop) -> None:
    # Five colleagues of the workshop answered on 11 March, one more on the 12th.
    answers(live.engine, 9, 9, 7, 3, 2, program="employee", segment="werkplaats", at=MARCH)
    answers(live.engine, 0, program="employee", segment="werkplaats",
            at=MARCH + timedelta(days=1))
    wendy = token_of(live, WENDY)

    # (11-12 March) - (11 March) would be the one colleague of the 12th: no range of days.
    for params, field in [({"from": "2026-03-11", "to": "2026-03-12"}, "from"),
                          ({"from": "2026-03-11"}, "from"), ({"to": "2026-03-11"}, "to"),
                          ({"month": "2026-03", "to": "2026-03-11"}, "to"),
                          ({"month": "maart"}, "month")]:
        for path in ("/api/reports/nps", "/api/reports/loop"):
            answer = await live.api.get(path, params={"program": "employee", **params},
                                        headers=wendy)
            assert (answer.status_code, answer.json()["field"]) == (422, field), (path, params)
            if field != "month":
                assert "one whole calendar month" in answer.json()["message"]
                assert "subtracted" in answer.json()["message"]
    march = await api(live, "/api/reports/nps", wendy, program="employee", month="2026-03")
    assert (march["month"], march["group_by"], march["overall"]["n"]) == ("2026-03", "segment", 6)

    # The page's CSV files keep to the month, whatever the address asks for.
    wendys = await signed_in(live, WENDY)
    two_days = await wendys.get("/reports/nps.csv", program="employee", month="2026-03",
                                group_by="week", **{"from": "2026-03-11", "to": "2026-03-12"})
    one_day = await wendys.get("/reports/nps.csv", program="employee", month="2026-03",
                               **{"from": "2026-03-11", "to": "2026-03-11"})
    assert rows_of(two_days) == rows_of(one_day)
    overall, *groups = rows_of(one_day)
    assert (overall["n"], [g["key"] for g in groups]) == ("6", ["werkplaats"])
    assert 'filename="nps-employee-2026-03-by-segment.csv"' in \
        one_day.headers["content-disposition"]


async def test_enps_is_grouped_by_department_only(live: Kringloop) -> None:
    answers(live.engine, 9, 9, 7, 3, 2, program="employee", segment="werkplaats", at=MARCH)

    for group_by in ("team", "week"):
        answer = await live.api.get("/api/reports/nps", headers=ADMIN, params={
            "program": "employee", "month": "2026-03", "group_by": group_by})
        assert (answer.status_code, answer.json()["field"]) == (422, "group_by"), group_by
        assert "by department" in answer.json()["message"]
        assert "second" in answer.json()["message"], "the message says why"
    by_default = await api(live, "/api/reports/nps", ADMIN, program="employee", month="2026-03")
    assert [g["key"] for g in by_default["groups"]] == ["werkplaats"]
    # Customers keep every grouping and their ranges of days.
    weekly = await api(live, "/api/reports/nps", ADMIN, group_by="week",
                       **{"from": "2026-03-11", "to": "2026-03-12"})
    assert weekly["group_by"] == "week" and weekly["month"] is None


async def test_enps_is_read_for_a_month_that_has_ended_the_last_one_unless_asked(
    live: Kringloop,
) -> None:
    """A month still running grows as answers come in: read on Monday and again on Tuesday, it
    would show what Tuesday's few colleagues answered."""
    now = datetime.now(UTC)
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(day=15)
    answers(live.engine, 9, 9, 9, 9, 9, program="employee", segment="werkplaats", at=last_month)
    answers(live.engine, *[0] * 5, program="employee", segment="werkplaats", at=now)

    enps = await api(live, "/api/reports/nps", ADMIN, program="employee")
    running = await live.api.get("/api/reports/nps", headers=ADMIN,
                                 params={"program": "employee", "month": f"{now:%Y-%m}"})
    loop = await live.api.get("/api/reports/loop", headers=ADMIN,
                              params={"program": "employee", "month": f"{now:%Y-%m}"})

    assert enps["month"] == f"{last_month:%Y-%m}"
    assert (enps["overall"]["n"], enps["overall"]["nps"]) == (5, 100)
    for refused in (running, loop):
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "month"
        assert "has not ended yet" in refused.json()["message"]


async def test_enps_loop_rows_follow_the_month_and_are_left_out_below_k(
    live: Kringloop,
) -> None:
    october, november = datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)
    answers(live.engine, 9, 9, 8, 8, program="employee", at=october)
    answers(live.engine, 2, 3, program="employee", team="people", at=october)
    answers(live.engine, 9, 8, program="employee", at=november)
    answers(live.engine, 1, 4, program="employee", team="people", at=november)
    add_case(live.engine, "customer-1", team="particulier", opened=october)
    wendy = token_of(live, WENDY)

    def rows(report: dict[str, Any]) -> list[tuple[str, str, int, str | None]]:
        return [(r["program"], r["team"], r["cases_opened"], r["month"]) for r in report["rows"]]

    in_october = await api(live, "/api/reports/loop", wendy, program="employee", month="2026-10")
    # Two cases among November's four answers would say half of those four are detractors.
    in_november = await api(live, "/api/reports/loop", wendy, program="employee",
                            month="2026-11")
    # Without a program: a month is every program's; a range of days leaves employee rows out.
    everything = await api(live, "/api/reports/loop", ADMIN, month="2026-10")
    ranged = await api(live, "/api/reports/loop", ADMIN, **{"from": "2026-10-01",
                                                           "to": "2026-11-30"})

    assert rows(in_october) == [("employee", "people", 2, "2026-10")]
    assert rows(in_november) == []
    assert rows(everything) == [("customer", "particulier", 1, "2026-10"),
                                ("employee", "people", 2, "2026-10")]
    assert rows(ranged) == [("customer", "particulier", 1, None)]


async def test_the_people_team_reads_enps_per_month_with_a_trend_of_months(
    live: Kringloop,
) -> None:
    answers(live.engine, 9, 9, 9, 7, 7, 3, program="employee", segment="werkplaats",
            at=datetime(2026, 9, 10, tzinfo=UTC))
    answers(live.engine, 2, 2, 9, program="employee", segment="werkplaats",
            at=datetime(2026, 10, 10, tzinfo=UTC))  # three: hidden
    answers(live.engine, 10, 10, 10, 8, 8, 8, 1, program="employee", segment="werkplaats",
            at=datetime(2026, 11, 10, tzinfo=UTC))
    answers(live.engine, 6, program="employee", segment="winkel",
            at=datetime(2026, 11, 11, tzinfo=UTC))
    wendy = await signed_in(live, WENDY)

    # A range of days and a grouping by week in the address are not taken.
    page = await wendy.get("/reports", program="employee", month="2026-11", group_by="week",
                           **{"from": "2026-11-11", "to": "2026-11-11"})

    html = page.text
    assert page.status_code == 200
    assert '<input type="month" name="month" id="report-month" value="2026-11"' in html
    assert 'name="from"' not in html and 'name="to"' not in html
    assert re.findall(r'<option value="([^"]*)"', element(html, "report-group-by")) == [
        "segment"]
    assert "alleen per afdeling" in element(html, "enps-rules")
    assert "Hele organisatie" not in html and "Jouw team: People &amp; Cultuur" in html
    assert "8 antwoorden" in element(html, "nps-overall")  # the whole of November
    assert re.findall(r'<tr data-key="([^"]*)"', element(html, "nps").split("<details>")[0]) == [
        "werkplaats", "winkel"]
    chart = svg_of(html)
    assert chart.findtext("title") == "NPS per maand"
    points = [c.get("data-month") for c in chart.iter("circle") if c.get("class") == "point"]
    gaps = [g.get("data-month") for g in chart.iter("g") if g.get("class") == "gap"]
    assert (points, gaps) == (["2026-09", "2026-11"], ["2026-10"])
    assert [t.text for t in chart.iter("text")][-2:] == ["Maand", "NPS"]
    assert 'href="/reports/nps.csv?program=employee&amp;month=2026-11&amp;group_by=segment"' \
        in html


# CSV files --------------------------------------------------------------------------------------

def rows_of(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(StringIO(answer.text)))


def as_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


async def test_the_csv_files_hold_the_same_figures_as_the_json(live: Kringloop) -> None:
    answers(live.engine, *[9] * 6, *[2] * 4, segment="werkplaats", at=T0)
    answers(live.engine, 10, 10, 8, 8, 7, 1, segment="winkel", at=T0 + timedelta(days=8))
    answers(live.engine, 3, segment="=HYPERLINK(\"http://evil.example\")", at=T0)
    answers(live.engine, 9, at=T0 + timedelta(days=40))  # after the period
    add_case(live.engine, "c-1", first_attempt_after=timedelta(hours=2),
             resolved_after=timedelta(hours=20), root_cause="price", resurvey_score=9)
    add_case(live.engine, "c-2", first_attempt_after=timedelta(hours=30), escalations=1,
             resolved_after=timedelta(hours=40), root_cause="price")
    add_case(live.engine, "c-3", team="english", root_cause=None)
    period = {"program": "customer", "from": "2026-11-01", "to": "2026-11-30"}
    ingrid = await signed_in(live, INGRID)

    nps = await api(live, "/api/reports/nps", ADMIN, **period, group_by="segment")
    loop = await api(live, "/api/reports/loop", ADMIN, **period)
    nps_csv = rows_of(await ingrid.get("/reports/nps.csv", **period, group_by="segment"))
    loop_csv = rows_of(await ingrid.get("/reports/loop.csv", **period, group_by="segment"))

    overall, *groups = nps_csv
    assert overall == {"row": "overall", "key": "", **{
        k: as_cell(nps["overall"].get(k)) for k in
        ("hidden", "n", "promoters", "passives", "detractors", "nps")}}
    assert len(groups) == len(nps["groups"]) == 3
    for line, group in zip(groups, nps["groups"], strict=True):
        key = group["key"]
        # A cell a spreadsheet would run as a formula is written as plain text.
        assert line["key"] == ("'" + key if key.startswith("=") else key)
        assert {k: v for k, v in line.items() if k not in ("row", "key")} == {
            k: as_cell(group.get(k)) for k in
            ("hidden", "n", "promoters", "passives", "detractors", "nps")}
    assert [line["hidden"] for line in groups] == ["true", "false", "true"]
    assert len(loop_csv) == len(loop["rows"]) == 2
    for line, row in zip(loop_csv, loop["rows"], strict=True):
        expected = {k: as_cell(v) for k, v in row.items() if k != "root_causes"}
        expected["root_causes"] = "; ".join(
            f"{c['root_cause']}={c['cases']}" for c in row["root_causes"])
        assert line == expected
    assert loop_csv[1]["root_causes"] == "price=2"


# The page ---------------------------------------------------------------------------------------

def svg_of(html: str) -> ET.Element:
    found = re.search(r"<svg id=\"nps-trend\".*?</svg>", html, re.S)
    assert found, "no trend chart on the page"
    return ET.fromstring(found.group(0))


async def test_the_trend_chart_has_a_point_per_shown_week_and_a_gap_for_a_hidden_one(
    live: Kringloop,
) -> None:
    for week, scores in enumerate([[10] * 8, [9, 8] * 4 + [1], [3, 3], [9, 2, 7], [8] * 7,
                                   [9, 9, 0, 0, 7, 7]]):
        answers(live.engine, *scores, at=T0 + timedelta(weeks=week))  # 2026-W45 to W50
    esther = await signed_in(live, ESTHER)

    weekly = await api(live, "/api/reports/nps", ADMIN, group_by="week")
    page = await esther.get("/reports", group_by="week")

    chart = svg_of(page.text)
    shown = [g["key"] for g in weekly["groups"] if not g["hidden"]]
    hidden = [g["key"] for g in weekly["groups"] if g["hidden"]]
    assert shown == ["2026-W45", "2026-W46", "2026-W49", "2026-W50"]
    assert hidden == ["2026-W47", "2026-W48"]
    points = [c for c in chart.iter("circle") if c.get("class") == "point"]
    assert [p.get("data-week") for p in points] == shown
    gaps = [g for g in chart.iter("g") if g.get("class") == "gap"]
    assert [g.get("data-week") for g in gaps] == hidden
    assert all(g.find("rect") is not None for g in gaps), "a hidden week is marked, not blank"
    # The line stops at the hidden weeks and starts again after them.
    lines = [line.get("points", "").split() for line in chart.iter("polyline")]
    assert [len(line) for line in lines] == [2, 2]
    # +100 (week 45: all promoters) is the top of the scale.
    assert points[0].get("cy") == "16.0" and "+100" in (points[0].findtext("title") or "")
    assert chart.get("role") == "img"
    assert chart.get("aria-labelledby") == "nps-trend-title nps-trend-desc"
    assert chart.findtext("title") == "NPS per week"
    assert "2026-W45" in (chart.findtext("desc") or "")
    assert [t.text for t in chart.iter("text")][-2:] == ["Week", "NPS"]


async def test_a_members_trend_chart_shows_only_their_teams_weeks(live: Kringloop) -> None:
    answers(live.engine, *[9] * 6, at=T0)  # Particulieren, week 45
    answers(live.engine, *[2] * 6, segment="lease", at=T0 + timedelta(weeks=1))  # Zakelijk
    bram, ingrid = await signed_in(live, BRAM), await signed_in(live, INGRID)

    mine = (await bram.get("/reports", group_by="segment")).text
    everyone = (await ingrid.get("/reports", group_by="segment")).text

    def weeks(html: str) -> list[str | None]:
        return [c.get("data-week") for c in svg_of(html).iter("circle")
                if c.get("class") == "point"]

    assert weeks(mine) == ["2026-W45"]
    assert element(mine, "nps-scope") == "Jouw team: Particulieren"
    assert "NPS +100" in element(mine, "nps-overall")
    assert weeks(everyone) == ["2026-W45", "2026-W46"]
    assert element(everyone, "nps-scope") == "Hele organisatie"


async def test_a_dutch_lead_reads_the_report_in_dutch(live: Kringloop) -> None:
    three_teams_answer(live)
    answers(live.engine, 6, respondent_id="klant-20417", at=T0)
    answers(live.engine, 9, respondent_id="klant-20417", at=T0 + timedelta(days=30))
    add_case(live.engine, "nl-1", first_attempt_after=timedelta(hours=5, minutes=30),
             resolved_after=timedelta(days=2), root_cause="delivery-late", resurvey_score=8)
    esther = await signed_in(live, ESTHER)

    page = await esther.get("/reports", group_by="team", **{"from": "2026-10-01"})

    html = page.text
    assert page.status_code == 200
    assert '<html lang="nl">' in html and "<h1>Rapportages</h1>" in html
    assert '<a href="/reports" aria-current="page">Rapportages</a>' in html
    assert "nooit per persoon" in html
    # The headline is her team's: its eight answers and the adopted family's two.
    assert element(html, "nps-scope") == "Jouw team: Particulieren"
    overall = element(html, "nps-overall")
    assert "NPS 0" in overall
    assert "10 antwoorden: 5 promotors, 0 passieven, 5 critici." in overall
    # Her own team's row only; the English team's and Zakelijk's are not hers to compare.
    assert re.findall(r'<tr data-key="([^"]*)"', element(html, "nps").split("<details>")[0]) == [
        "particulier"]
    loop = element(html, "loop")
    assert "De kringloop sluiten" in loop and "Critici teruggewonnen" in loop
    assert "100% <span class=\"hint\">(1 van 1)</span>" in loop
    assert "5,5 u" in loop and "te late levering (1)" in loop
    adopted = element(html, "adopted")
    assert "Adoptieklanten" in adopted and "Bram de Groot" in adopted
    assert "6 (criticus) → " in adopted and "9 (promotor)" in adopted and "+3" in adopted
    assert 'href="/reports/nps.csv?program=customer&amp;from=2026-10-01&amp;group_by=team"' \
        in html
    for english in ("Called back within the SLA", "Detractors", "Download as CSV"):
        assert english not in html
    for blame in ("worst", "slechtst", "laatste plaats"):
        assert blame not in html.lower()


async def test_a_member_reads_their_teams_figures_in_english(live: Kringloop) -> None:
    three_teams_answer(live)
    add_case(live.engine, "en-1", team="english", first_attempt_after=timedelta(hours=1))
    add_case(live.engine, "nl-2", team="particulier")
    priya = await signed_in(live, PRIYA)

    page = await priya.get("/reports")

    assert '<html lang="en">' in page.text and "<h1>Reports</h1>" in page.text
    assert element(page.text, "nps-scope") == "Your team: English-speaking customers"
    assert re.findall(r'<tr data-team="([^"]*)"', page.text) == ["english"]
    assert "English-speaking customers" in element(page.text, "nps")
    assert "Particulieren" not in page.text
