"""The report's figures: NPS arithmetic, small groups hidden, each reader's own answers, eNPS one
month at a time, and how teams close the loop."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from kringloop.cases.models import TimelineEntry
from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.reports.adopted import adopted_report
from kringloop.reports.loop_health import loop_report
from kringloop.reports.nps import Tally, hidden_groups, nps_report, rounded_percent, tally
from kringloop.reports.periods import Month, ReportRefused, Window, report_grouping, report_period
from kringloop.reports.schemas import HiddenGroup, NpsGroup
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.reports import MARCH, T0, add_case, answers

NOW = T0 + timedelta(days=30)


# NPS arithmetic ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("scores", "expected"), [
    ([], None),  # no answers: no score at all, not a zero
    ([9, 10, 10, 9], 100),  # all promoters
    ([0, 3, 6], -100),  # all detractors
    ([7, 8, 7], 0),  # all passives
    ([9, 7, 7, 7, 7, 7, 7, 7], 13),  # 12.5 rounds away from zero...
    ([6, 7, 7, 7, 7, 7, 7, 7], -13),  # ...on both sides
    ([9, 7, 7], 33),  # 33.3
    ([9, 9, 7], 67),  # 66.7
    # 33% promoters and 67% detractors: the exact -33.3 gives -33, where subtracting the
    # rounded percentages would say -34.
    ([10, 2, 2], -33),
])
def test_nps_is_percent_promoters_minus_percent_detractors_in_whole_numbers(
    scores: list[int], expected: int | None,
) -> None:
    assert tally(scores).nps == expected


def test_scores_fall_into_the_three_categories_at_six_and_eight() -> None:
    assert tally([0, 6, 7, 8, 9, 10]) == Tally(promoters=2, passives=2, detractors=2)
    assert (rounded_percent(1, 0), rounded_percent(0, 5), rounded_percent(-1, 8)) == (
        None, 0, -13)


# Small groups hidden ----------------------------------------------------------------------------

def test_groups_under_the_minimum_are_hidden_and_never_just_one() -> None:
    # The worked example: 35 answers overall, shown. Hiding only "webshop" (3) is not enough:
    # its counts would be the overall minus "werkplaats" and "winkel". So the smallest other
    # group ("winkel") is hidden too, and the 15 answers can no longer be split.
    sizes = {"werkplaats": 20, "winkel": 12, "webshop": 3}
    assert hidden_groups(sizes, overall=35, min_size=5) == {"webshop", "winkel"}
    # Two small groups already hide each other.
    assert hidden_groups({"a": 20, "b": 3, "c": 4}, overall=27, min_size=5) == {"b", "c"}
    assert hidden_groups({"a": 20, "b": 9}, overall=29, min_size=5) == set()
    # An overall under the minimum hides everything, and its groups with it.
    assert hidden_groups({"a": 2, "b": 2}, overall=4, min_size=5) == {"a", "b"}
    # Ties go by name, so the report is the same every time.
    assert hidden_groups({"b": 8, "a": 8, "c": 1}, overall=17, min_size=5) == {"a", "c"}
    assert hidden_groups({"b": 8, "a": 8, "c": 1, "d": 1}, overall=18, min_size=5) == {
        "a", "c", "d"}
    # A lone small group beside one large one: both go.
    assert hidden_groups({"a": 30, "b": 1}, overall=31, min_size=5) == {"a", "b"}


def test_the_report_hides_small_segments_without_counts_and_keeps_the_overall(
    engine: Engine, org: Organisation,
) -> None:
    answers(engine, *[9] * 10, *[7] * 5, *[3] * 5, segment="werkplaats")
    answers(engine, *[10] * 6, *[4] * 6, segment="winkel")
    answers(engine, 0, 1, 2, segment="webshop")  # three angry webshop customers
    with session_for(engine) as session:
        report = nps_report(session=session, org=org, program="customer", group_by="segment")

    shown = report.model_dump()
    assert shown["overall"] == {"hidden": False, "n": 35, "promoters": 16, "passives": 5,
                                "detractors": 14, "nps": 6}
    assert shown["groups"] == [
        {"hidden": True, "key": "webshop"},
        {"hidden": False, "key": "werkplaats", "n": 20, "promoters": 10, "passives": 5,
         "detractors": 5, "nps": 25},
        {"hidden": True, "key": "winkel"},
    ]
    # What a reader can work out is the two hidden groups together (35 - 20), not either one.


def test_two_small_departments_stay_hidden_together(engine: Engine, org: Organisation) -> None:
    # Two departments of two answers each are hidden, but together they are 4: the overall (36)
    # minus the workshop (20) and the shop (12). So the shop, the smallest one shown, is hidden
    # too, and what can be worked out is 16 answers of three departments together.
    sizes = {"werkplaats": 20, "winkel": 12, "magazijn": 2, "administratie": 2}
    assert hidden_groups(sizes, overall=36, min_size=5) == {"magazijn", "administratie",
                                                            "winkel"}
    # Hidden groups that have enough answers together need no company.
    assert hidden_groups({"werkplaats": 20, "magazijn": 3, "administratie": 2}, overall=25,
                         min_size=5) == {"magazijn", "administratie"}
    # The same in a report: customers' segments.
    answers(engine, *[9] * 10, *[7] * 5, *[3] * 5, segment="werkplaats")
    answers(engine, *[10] * 6, *[4] * 6, segment="winkel")
    answers(engine, 0, 1, segment="magazijn")
    answers(engine, 9, 2, segment="administratie")
    with session_for(engine) as session:
        report = nps_report(session=session, org=org, program="customer", group_by="segment")

    assert report.overall.n == 36  # type: ignore[union-attr]
    assert [(g.key, g.hidden) for g in report.groups] == [
        ("administratie", True), ("magazijn", True), ("werkplaats", False), ("winkel", True)]


def test_no_answers_means_no_score_and_a_hidden_overall(
    engine: Engine, org: Organisation,
) -> None:
    with session_for(engine) as session:
        report = nps_report(session=session, org=org, program="customer", group_by="team")
    assert report.overall.hidden and report.groups == []
    assert report.model_dump()["overall"] == {"hidden": True}


def test_re_survey_answers_are_left_out_of_the_nps(engine: Engine, org: Organisation) -> None:
    answers(engine, 2, 3, 4, 5, 6)
    answers(engine, 10, 10, 10, 10, 10, source="resurvey")
    with session_for(engine) as session:
        report = nps_report(session=session, org=org, program="customer", group_by="week")
    assert (report.overall.n, report.overall.nps) == (5, -100)  # type: ignore[union-attr]


def test_weeks_are_iso_weeks_in_utc_and_days_are_whole(engine: Engine, org: Organisation) -> None:
    sunday_night = T0 - timedelta(hours=10, minutes=30)  # Sunday 23:30 UTC: still W44
    answers(engine, *[9] * 5, at=sunday_night)
    answers(engine, *[0] * 5, at=T0)
    answers(engine, *[8] * 5, at=T0 + timedelta(days=6, hours=13))  # Sunday 23:00: W45
    answers(engine, *[8] * 5, at=T0 + timedelta(days=7))  # W46
    with session_for(engine) as session:
        weekly = nps_report(session=session, org=org, program="customer", group_by="week")
        one_day = nps_report(session=session, org=org, program="customer", group_by="week",
                             window=Window.of_days(date(2026, 11, 2), date(2026, 11, 2)))
    assert [(g.key, g.n) for g in weekly.groups if isinstance(g, NpsGroup)] == [
        ("2026-W44", 5), ("2026-W45", 10), ("2026-W46", 5)]
    assert one_day.overall.n == 5 and one_day.overall.nps == -100  # type: ignore[union-attr]


# Which team a response belongs to ---------------------------------------------------------------

def test_each_response_counts_for_the_team_that_owns_it(engine: Engine, org: Organisation) -> None:
    answers(engine, *[9] * 5, segment="lease")  # routed to Zakelijk by segment
    answers(engine, *[10] * 5, language="en")  # to the English-speaking team
    answers(engine, *[9] * 4, language="nl")  # the catch-all: Particulieren
    # An adopted customer belongs to the adopter's team (Bram: Particulieren), English or not.
    answers(engine, 8, language="en", respondent_id="klant-20417")
    # A detractor whose case went to Zakelijk counts there, whatever the rules say today.
    answers(engine, 2, 2, 2, 2, 2, language="nl", team="zakelijk")
    with session_for(engine) as session:
        everyone = nps_report(session=session, org=org, program="customer", group_by="team")
        zakelijk = nps_report(session=session, org=org, program="customer", group_by="team",
                              visible_teams={"zakelijk"})

    sizes = {g.key: g.n for g in everyone.groups if isinstance(g, NpsGroup)}
    assert sizes == {"zakelijk": 10, "english": 5, "particulier": 5}
    assert list(sizes) == ["zakelijk", "english", "particulier"], "in the org file's order"
    # Another team's member sees their own team, and an overall of their own team's answers.
    assert [g.key for g in zakelijk.groups] == ["zakelijk"]
    assert (zakelijk.scope, everyone.scope) == (["zakelijk"], None)
    assert zakelijk.overall.model_dump() == {"hidden": False, "n": 10, "promoters": 5,
                                             "passives": 0, "detractors": 5, "nps": 0}
    assert everyone.overall.n == 20  # type: ignore[union-attr]


def test_hidden_teams_are_the_same_for_everyone_who_looks(
    engine: Engine, org: Organisation,
) -> None:
    answers(engine, *[9] * 20, segment="zakelijk")
    answers(engine, *[7] * 6, language="en")
    answers(engine, 0, 0, language="nl")
    with session_for(engine) as session:
        english = nps_report(session=session, org=org, program="customer", group_by="team",
                             visible_teams={"english"})
    # Particulieren (2) is hidden, and with it English (6), the smallest other team: were
    # English shown, Particulieren would be 28 - 20 - 6 to an admin. Hiding is decided on all
    # teams, so the English team sees the very groups hidden that an admin sees.
    assert english.groups == [HiddenGroup(key="english", hidden=True)]
    assert english.overall.hidden


# Each reader's own answers ----------------------------------------------------------------------

def three_teams_in_two_weeks(engine: Engine) -> None:
    answers(engine, *[9] * 6, 2, 2, segment="lease", at=T0 + timedelta(weeks=1))  # Zakelijk
    answers(engine, *[10] * 6, language="en", segment="webshop")  # English-speaking
    answers(engine, 9, 9, 9, 3, 3, 3, language="nl", segment="webshop")  # Particulieren
    answers(engine, *[8] * 5, language="nl", segment="winkel")


def test_a_member_grouping_by_segment_sees_only_their_teams_answers(
    engine: Engine, org: Organisation,
) -> None:
    three_teams_in_two_weeks(engine)
    with session_for(engine) as session:
        everyone = nps_report(session=session, org=org, program="customer", group_by="segment")
        ours = nps_report(session=session, org=org, program="customer", group_by="segment",
                          visible_teams={"particulier"})

    # The admin sees every team's webshop customers (12) and the lease desk's.
    assert [(g.key, g.n) for g in everyone.groups if isinstance(g, NpsGroup)] == [
        ("lease", 8), ("webshop", 12), ("winkel", 5)]
    # A member of Particulieren: their own team's webshop and shop customers only, and a
    # headline over those 11 answers, not over the organisation's 25.
    assert [g.model_dump() for g in ours.groups] == [
        {"hidden": False, "key": "webshop", "n": 6, "promoters": 3, "passives": 0,
         "detractors": 3, "nps": 0},
        {"hidden": False, "key": "winkel", "n": 5, "promoters": 0, "passives": 5,
         "detractors": 0, "nps": 0}]
    assert (ours.overall.n, ours.scope) == (11, ["particulier"])  # type: ignore[union-attr]


def test_a_member_grouping_by_week_sees_only_their_teams_weeks(
    engine: Engine, org: Organisation,
) -> None:
    three_teams_in_two_weeks(engine)
    with session_for(engine) as session:
        everyone = nps_report(session=session, org=org, program="customer", group_by="week")
        ours = nps_report(session=session, org=org, program="customer", group_by="week",
                          visible_teams={"particulier"})
        lease = nps_report(session=session, org=org, program="customer", group_by="week",
                           visible_teams={"zakelijk"})

    assert [(g.key, g.n) for g in everyone.groups if isinstance(g, NpsGroup)] == [
        ("2026-W45", 17), ("2026-W46", 8)]
    assert [(g.key, g.n) for g in ours.groups if isinstance(g, NpsGroup)] == [("2026-W45", 11)]
    assert [(g.key, g.n) for g in lease.groups if isinstance(g, NpsGroup)] == [("2026-W46", 8)]


def test_a_team_hidden_to_protect_a_smaller_one_hides_its_members_overall_in_every_grouping(
    engine: Engine, org: Organisation,
) -> None:
    answers(engine, *[9] * 20, segment="zakelijk")
    answers(engine, *[7] * 6, language="en", segment="webshop")
    answers(engine, 0, 0, language="nl", segment="webshop")
    with session_for(engine) as session:
        admin = nps_report(session=session, org=org, program="customer", group_by="team")
        english = {group_by: nps_report(session=session, org=org, program="customer",
                                        group_by=group_by, visible_teams={"english"})
                   for group_by in ("team", "segment", "week")}

    # The admin sees 28 answers and Zakelijk's 20; English (6) is hidden to protect
    # Particulieren (2). Had the English team's own overall said 6, the admin's 28 - 20 - 6
    # would be Particulieren's two answers. So it is hidden in every grouping, with its groups.
    assert admin.overall.n == 28  # type: ignore[union-attr]
    assert [(g.key, g.hidden) for g in admin.groups] == [
        ("zakelijk", False), ("english", True), ("particulier", True)]
    for group_by, report in english.items():
        assert report.overall.hidden, group_by
        assert report.groups and all(g.hidden for g in report.groups), group_by


# eNPS: one month, by department -----------------------------------------------------------------

def test_an_enps_report_covers_one_whole_calendar_month_never_a_range_of_days(
    engine: Engine, org: Organisation,
) -> None:
    answers(engine, 9, 9, 7, 3, 2, program="employee", segment="werkplaats", at=MARCH)
    answers(engine, 1, program="employee", segment="werkplaats", at=MARCH + timedelta(days=1))
    # The month's edges are UTC midnights.
    answers(engine, 10, program="employee", segment="werkplaats",
            at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    answers(engine, 10, program="employee", segment="werkplaats",
            at=datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
    two_days = Window.of_days(date(2026, 3, 11), date(2026, 3, 12))
    one_day = Window.of_days(date(2026, 3, 11), date(2026, 3, 11))
    with session_for(engine) as session:
        # (11-12 March) - (11 March) would be the one colleague who answered on the 12th; an
        # open end grows a day at a time.
        from_march = Window(since=datetime(2026, 3, 1, tzinfo=UTC))
        for window in (two_days, one_day, from_march, Window()):
            with pytest.raises(ReportRefused) as refused:
                nps_report(session=session, org=org, program="employee", group_by="segment",
                           window=window)
            assert refused.value.field == "month"
        march = nps_report(session=session, org=org, program="employee", group_by="segment",
                           window=Month(2026, 3).window)

    assert (march.month, march.overall.n) == ("2026-03", 6)  # type: ignore[union-attr]
    # What a reader asks for becomes a month, or is refused naming the field and saying why.
    for asked, field in [({"first": date(2026, 3, 11)}, "from"),
                         ({"last": date(2026, 3, 12)}, "to"),
                         ({"month": "2026-13"}, "month")]:
        with pytest.raises(ReportRefused) as refused:
            report_period(program="employee", today=date(2026, 3, 12), **asked)  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(ReportRefused, match=r"one whole calendar month.*subtracted"):
        report_period(program="employee", today=date(2026, 3, 12), first=date(2026, 3, 11))
    assert report_period(program="employee", today=date(2026, 3, 12)) == Month(2026, 2).window
    assert report_period(program="employee", today=date(2026, 3, 12), month="2026-01") == \
        Month(2026, 1).window
    # Customers keep their ranges of days.
    assert report_period(program="customer", today=date(2026, 3, 12), first=date(2026, 3, 11),
                         last=date(2026, 3, 12)) == two_days


def test_enps_is_grouped_by_department_only(engine: Engine, org: Organisation) -> None:
    answers(engine, *[9] * 5, program="employee", segment="werkplaats", at=MARCH)
    with session_for(engine) as session:
        for group_by in ("team", "week"):
            with pytest.raises(ReportRefused, match="department") as refused:
                nps_report(session=session, org=org, program="employee",
                           group_by=group_by,  # type: ignore[arg-type]
                           window=Month(2026, 3).window)
            assert refused.value.field == "group_by"
    assert report_grouping(program="employee", group_by=None) == "segment"
    assert report_grouping(program="customer", group_by=None) == "team"
    with pytest.raises(ReportRefused):
        report_grouping(program="employee", group_by="week")


def test_enps_loop_rows_follow_the_month_and_are_left_out_below_k(
    engine: Engine, org: Organisation,
) -> None:
    # October: six answers, two detractors with a case. November: four answers, two cases.
    october, november = datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)
    answers(engine, 9, 9, 8, 8, program="employee", at=october)
    answers(engine, 2, 3, program="employee", team="people", at=october)
    answers(engine, 9, 8, program="employee", at=november)
    answers(engine, 1, 4, program="employee", team="people", at=november)
    with session_for(engine) as session:
        def rows(month: Month) -> list[tuple[str, str | None, int, str | None]]:
            report = loop_report(session=session, org=org, programs=["employee"], now=NOW,
                                 window=month.window)
            return [(r.program, r.team, r.cases_opened, r.month) for r in report.rows]

        assert rows(Month(2026, 10)) == [("employee", "people", 2, "2026-10")]
        # Two cases among four answers would say that half of those four are detractors.
        assert rows(Month(2026, 11)) == []
        with pytest.raises(ReportRefused):
            loop_report(session=session, org=org, programs=["customer", "employee"], now=NOW,
                        window=Window.of_days(date(2026, 10, 1), date(2026, 11, 30)))




# Closing the loop -------------------------------------------------------------------------------

def test_loop_health_counts_callbacks_in_time_medians_recovery_and_root_causes(
    engine: Engine, org: Organisation,
) -> None:
    # Called back after 2 hours, solved, and the customer came back (3 -> 9).
    add_case(engine, "on-time", first_attempt_after=timedelta(hours=2),
             resolved_after=timedelta(hours=30), root_cause="price", resurvey_score=9)
    # Missed: escalated, then reassigned with a new deadline (48 h) that the callback (40 h)
    # made. It still missed the customer's SLA.
    add_case(engine, "escalated", due_after=timedelta(hours=48), escalations=1,
             first_attempt_after=timedelta(hours=40), resolved_after=timedelta(hours=50),
             root_cause="delivery-late", resurvey_score=5)
    add_case(engine, "on-time-2", first_attempt_after=timedelta(hours=4),
             resolved_after=timedelta(hours=10), root_cause="delivery-late", resurvey_sent=True)
    # Past its deadline, not called yet: counts against the SLA.
    add_case(engine, "overdue", due_after=timedelta(hours=1))
    # Opened just now, deadline ahead: not yet decided either way.
    add_case(engine, "fresh", opened=NOW - timedelta(hours=1))
    add_case(engine, "elsewhere", team="english", first_attempt_after=timedelta(hours=1))
    add_case(engine, "colleague", team="people", program="employee")
    with session_for(engine) as session:  # one waited on the customer twice, one reopened
        session.add_all([
            TimelineEntry(case_id="case-on-time", key=key, at=NOW, actor="Bram", kind=kind)
            for key, kind in (("paused-1", "paused"), ("paused-2", "paused"),
                              ("reopened", "reopened"))])
        session.add(TimelineEntry(case_id="case-escalated", key="paused-1", at=NOW,
                                  actor="Bram", kind="paused"))
        session.commit()
    with session_for(engine) as session:
        report = loop_report(session=session, org=org, programs=["customer"], now=NOW)
        ours = loop_report(session=session, org=org, programs=["customer"], now=NOW,
                           visible_teams={"particulier"})

    assert [(r.program, r.team) for r in report.rows] == [
        ("customer", "english"), ("customer", "particulier")]
    assert ours.rows == report.rows[1:]
    health = ours.rows[0]
    assert health.cases_opened == 5
    assert (health.contacted_within_sla, health.sla_decided, health.pct_within_sla) == (2, 4, 50)
    assert health.sla_breaches == 1
    assert (health.waited_on_respondent, health.reopened) == (2, 1)
    assert health.median_hours_to_first_contact == 4.0  # of 2, 4 and 40 hours
    assert health.median_hours_to_resolution == 30.0  # of 10, 30 and 50 hours
    assert (health.resolved, health.pct_resolved) == (3, 60)
    assert (health.resurveys_sent, health.resurveys_answered,
            health.resurvey_response_rate) == (3, 2, 67)
    assert (health.recovery_base, health.recovered, health.recovery_rate) == (2, 1, 50)
    assert [(c.root_cause, c.cases) for c in health.root_causes] == [
        ("delivery-late", 2), ("price", 1)]


def test_adopted_customers_scores_over_time_per_adopter(engine: Engine, org: Organisation) -> None:
    answers(engine, 4, respondent_id="klant-20417", at=T0)
    answers(engine, 9, respondent_id="klant-20417", at=T0 + timedelta(days=40))
    answers(engine, 10, respondent_id="klant-20417", at=T0 + timedelta(days=41),
            source="resurvey")
    answers(engine, 8, respondent_id="klant-48630", at=T0)
    answers(engine, 1, respondent_id="klant-99999", at=T0)  # nobody adopted this one
    with session_for(engine) as session:
        everyone = adopted_report(session=session, org=org)
        brams = adopted_report(session=session, org=org,
                               adopters={"bram.degroot@fietsenwinkel.example"})

    assert [a.name for a in everyone.adopters] == [
        "Bram de Groot", "Joost Bakker", "Priya Nair", "Thijs Willems"]
    [bram] = brams.adopters
    [family] = bram.customers
    assert [s.score for s in family.scores] == [4, 9]
    assert (family.latest, family.change, bram.promoters_now, bram.detractors_now) == (9, 5, 1, 0)
    assert everyone.adopters[1].customers[0].scores == []


# Time to first contact, as the case workflow records it ------------------------------------------

async def test_time_to_first_contact_is_measured_from_the_opening_in_simulated_time(
    simulated: Kringloop,
) -> None:
    quick = (await simulated.post_response("report-quick", 2))["case_id"]
    late = (await simulated.post_response("report-late", 2))["case_id"]
    case = await simulated.case_when(late, lambda c: c["callback_due_at"])
    await simulated.case_when(quick, lambda c: c["callback_due_at"])
    await simulated.env.sleep(timedelta(hours=5))
    assert (await simulated.act(quick, "callback-attempts", {"outcome": "reached"})
            ).status_code == 200
    # The other callback is missed: the lead is told at the deadline, the call comes after it.
    now = await simulated.env.get_current_time()
    await simulated.env.sleep(datetime.fromisoformat(case["callback_due_at"]) - now
                              + timedelta(hours=1))
    await simulated.case_when(late, lambda c: c["status"] == "escalated")
    assert (await simulated.act(late, "callback-attempts", {"outcome": "no_answer"})
            ).status_code == 200

    answer = await simulated.api.get("/api/reports/loop", headers=ADMIN)

    assert answer.status_code == 200, answer.text
    [row] = answer.json()["rows"]
    with session_for(simulated.engine) as session:
        steps = session.exec(select(TimelineEntry).where(
            col(TimelineEntry.kind).in_(["opened", "callback_attempt"]))).all()
    opened = {e.case_id: e.at for e in steps if e.kind == "opened"}
    called = {e.case_id: e.at for e in steps if e.kind == "callback_attempt"}
    waits = [(called[c] - opened[c]) / timedelta(hours=1) for c in (quick, late)]
    assert 5 <= waits[0] < 5.1 and waits[1] > 24
    assert abs(row["median_hours_to_first_contact"] - sum(waits) / 2) <= 0.05
    assert (row["contacted_within_sla"], row["sla_decided"], row["sla_breaches"]) == (1, 2, 1)
