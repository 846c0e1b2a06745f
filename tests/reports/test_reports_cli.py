"""`kringloop report`: the report's figures in the terminal, read from the configured database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from tests.support.command import kringloop, the_one_error_line
from tests.support.reports import MARCH, T0, add_case, answers


def test_report_prints_nps_per_team_and_the_loop_health(
    engine: Engine, database_url: str, tmp_path: Path,
) -> None:
    answers(engine, 9, 9, 9, 7, 2, 2, segment="lease")
    answers(engine, 10, 8, language="en")  # too few: hidden, and so the smallest other team
    answers(engine, 9, 9, 9, 9, 6, 6, 5, 0, language="nl")
    answers(engine, 0, 0, 0, 0, 0, language="nl", at=T0 + timedelta(days=60))  # after --to
    add_case(engine, "cli-1", first_attempt_after=timedelta(hours=3),
             resolved_after=timedelta(hours=26), root_cause="price", resurvey_score=9)

    result = kringloop("report", "--program", "customer", "--group-by", "team",
                       "--from", "2026-11-01", "--to", "2026-11-30", cwd=tmp_path,
                       KRINGLOOP_DATABASE_URL=database_url, COLUMNS="120")

    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert "NPS customer by team (groups under 5 answers hidden)" in lines
    assert "all 16 8 2 6 +13" in lines  # 12.5 rounds away from zero
    assert "English-speaking customers hidden" in lines
    assert "Zakelijk & Lease hidden" in lines  # 6 answers, but the smallest beside English
    assert "Particulieren 8 4 0 4 0" in lines
    assert "cases opened 1" in lines
    assert "called back within SLA 100% (1/1)" in lines
    assert "median time to first contact 3.0 h" in lines
    assert "detractors won back 100% (1/1)" in lines
    assert "root causes price 1" in lines


def test_report_refuses_an_unknown_grouping_in_one_line(
    engine: Engine, database_url: str, tmp_path: Path,
) -> None:
    result = kringloop("report", "--group-by", "month", cwd=tmp_path,
                       KRINGLOOP_DATABASE_URL=database_url)

    assert result.returncode == 2
    assert result.stderr.strip() == "kringloop: --group-by: month is not one of team, segment, week"


def test_report_gives_enps_for_one_month_and_refuses_a_range_of_days(
    engine: Engine, database_url: str, tmp_path: Path,
) -> None:
    answers(engine, 9, 9, 7, 3, 2, program="employee", segment="werkplaats", at=MARCH)
    answers(engine, 0, program="employee", segment="werkplaats", at=MARCH + timedelta(days=1))
    env = {"KRINGLOOP_DATABASE_URL": database_url, "COLUMNS": "120"}

    # (11-12 March) - (11 March) would be the one colleague who answered on the 12th.
    for options, option, why in [
        (("--from", "2026-03-11", "--to", "2026-03-12"), "--from", "one whole calendar month"),
        (("--month", "2026-03", "--group-by", "team"), "--group-by", "by department"),
        (("--month", "March"), "--month", "YYYY-MM"),
    ]:
        result = kringloop("report", "--program", "employee", *options, cwd=tmp_path, **env)
        line = the_one_error_line(result)
        assert line.startswith(f"kringloop: {option}: ") and why in line, line
    result = kringloop("report", "--program", "employee", "--month", "2026-03", cwd=tmp_path,
                       **env)

    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert "NPS employee by segment in 2026-03 (groups under 5 answers hidden)" in lines
    assert "all 6 2 1 3 -17" in lines
    assert "werkplaats 6 2 1 3 -17" in lines
