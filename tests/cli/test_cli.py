"""The `kringloop` command as an operator meets it: clear refusals of bad settings, and its help."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kringloop.org.organisation import load_organisation
from kringloop.runtime.running_stack import RunningStack, record_running_stack
from tests.support.command import kringloop, the_one_error_line

BAD_SETTINGS = {
    "KRINGLOOP_TIME_SCALE": "fast",
    "KRINGLOOP_WEB_PORT": "99999",
    "KRINGLOOP_DATABASE_URL": "mysql://x",
    "KRINGLOOP_ORG_FILE": "/nonexistent",
}


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS.items(), ids=BAD_SETTINGS.keys())
def test_a_bad_setting_stops_kringloop_with_one_line_naming_it(
    tmp_path: Path, name: str, value: str,
) -> None:
    result = kringloop("up", cwd=tmp_path, **{name: value})

    line = the_one_error_line(result)
    assert name in line
    assert not (tmp_path / ".kringloop").exists(), "nothing was started or created"


ORG_WITHOUT_PROBLEMS = """
name = "Testfietsen"

[programs.customer]
case_threshold = 6
root_causes = ["other"]
sla = [{ low = 0, high = 6, business_hours = 48 }]

[[teams]]
id = "klantenteam"
name = "Klantenteam"
time_zone = "Europe/Amsterdam"
routes = [{ programs = ["customer"] }]
members = [{ name = "Lea Leider", email = "lea@fietsen.example", role = "lead" }]
"""

BROKEN_ORGS = {
    "unknown time zone": ('time_zone = "Europe/Amsterdam"', 'time_zone = "Europe/Atlantis"',
                          "teams[0].time_zone", "Europe/Atlantis"),
    "bad member email": ('"lea@fietsen.example"', '"lea-at-fietsen"',
                         "teams[0].members[0].email", "email"),
    "unknown key": ('name = "Klantenteam"', 'name = "Klantenteam"\ncolour = "blauw"',
                    "teams[0].colour", "not permitted"),
}


@pytest.mark.parametrize(("good", "bad", "key", "problem"), BROKEN_ORGS.values(),
                         ids=BROKEN_ORGS.keys())
def test_a_broken_organisation_file_is_refused_naming_file_key_and_problem(
    tmp_path: Path, good: str, bad: str, key: str, problem: str,
) -> None:
    fine, broken = tmp_path / "fine.toml", tmp_path / "org.toml"
    fine.write_text(ORG_WITHOUT_PROBLEMS)
    broken.write_text(ORG_WITHOUT_PROBLEMS.replace(good, bad))
    load_organisation(fine)  # the file is sound but for the one change

    result = kringloop("up", cwd=tmp_path, KRINGLOOP_ORG_FILE=str(broken))

    line = the_one_error_line(result)
    assert str(broken) in line
    assert f": {key}:" in line
    assert problem in line


@pytest.mark.parametrize("part", ["worker", "web"])
def test_a_part_run_alone_needs_an_external_temporal(tmp_path: Path, part: str) -> None:
    result = kringloop(part, cwd=tmp_path, KRINGLOOP_SMTP_HOST="127.0.0.1")

    line = the_one_error_line(result)
    assert "KRINGLOOP_TEMPORAL_ADDRESS" in line


def test_an_import_without_temporal_says_to_start_kringloop_up_and_ignores_a_stale_one(
    tmp_path: Path,
) -> None:
    crashed = subprocess.Popen(["true"])  # an `up` killed outright: its file stays behind
    crashed.wait()
    home = tmp_path / ".kringloop"
    home.mkdir()
    record_running_stack(RunningStack(
        pid=crashed.pid, temporal_address="127.0.0.1:1", temporal_namespace="default",
        task_queue="kringloop-cases", database_url="sqlite:///.kringloop/kringloop.db"),
        home=home)
    export = tmp_path / "responses.csv"
    export.write_text("response_id,program,score\nr-1,customer,3\n", encoding="utf-8")

    result = kringloop("import", str(export), cwd=tmp_path)

    line = the_one_error_line(result)
    assert "start `kringloop up`" in line and "KRINGLOOP_TEMPORAL_ADDRESS" in line


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = kringloop("--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    first_words = {line.strip("│ ").split(" ")[0] for line in result.stdout.splitlines()}
    assert {"up", "worker", "web", "import", "demo"} <= first_words, result.stdout
