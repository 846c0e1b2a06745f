"""The organisation file: the shipped example, routing, adoption, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kringloop.org.organisation import Organisation, OrgFileError, load_organisation
from kringloop.resources import CHECKOUT, EXAMPLE_ORG_FILE
from tests.support.working_days import round_the_clock, round_the_clock_org_file

EXAMPLE = CHECKOUT / "examples" / "org.toml"
CUSTOMER_TEAMS = ("zakelijk", "english", "particulier")


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(EXAMPLE)


# --- the organisation shipped with Kringloop --------------------------------------------------


def test_the_shipped_example_loads(org: Organisation) -> None:
    assert org.name == "Fietsenwinkel Kringloop B.V."
    assert set(org.programs) == {"customer", "employee", "candidate"}


def test_it_has_three_customer_loyalty_teams_of_six_to_nine_colleagues(org: Organisation) -> None:
    customer_teams = [t for t in org.teams if any("customer" in r.programs for r in t.routes)]
    assert [t.id for t in customer_teams] == list(CUSTOMER_TEAMS)
    for team in customer_teams:
        assert 6 <= len(team.members) <= 9, team.id


def test_customer_teams_mix_dutch_and_english_speakers(org: Organisation) -> None:
    languages = {m.language for team_id in CUSTOMER_TEAMS for m in org.team(team_id).members}
    assert languages == {"nl", "en"}


def test_it_has_a_recruiting_team_and_a_people_team(org: Organisation) -> None:
    recruiting = org.route(program="candidate", segment=None, language="nl")
    people = org.route(program="employee", segment=None, language="nl")
    assert recruiting.id == "werving"
    assert 3 <= len(recruiting.members) <= 5
    assert people.id == "people"
    assert 3 <= len(people.members) <= 4


def test_every_team_has_exactly_one_lead_who_carries_fewer_cases(org: Organisation) -> None:
    for team in org.teams:
        leads = [m for m in team.members if m.role == "lead"]
        assert len(leads) == 1, team.id
        others = [m.capacity for m in team.members if m.role != "lead"]
        assert leads[0].capacity < min(others), team.id


def test_member_emails_use_a_reserved_example_domain(org: Organisation) -> None:
    for team in org.teams:
        for member in team.members:
            assert member.email.endswith(".example"), member.email


def test_every_detractor_opens_a_case_and_angry_customers_are_called_back_sooner(
    org: Organisation,
) -> None:
    customer = org.programs["customer"]
    assert customer.case_threshold == 6
    assert customer.sla_hours_for(0) == customer.sla_hours_for(3) == 24
    assert customer.sla_hours_for(4) == customer.sla_hours_for(6) == 48
    for policy in org.programs.values():
        assert policy.case_threshold == 6
        assert policy.max_callback_attempts == 3
        assert policy.resurvey_after_days == 7
        assert "other" in policy.root_causes


def test_recruiters_can_give_concrete_rejection_reasons(org: Organisation) -> None:
    reasons = org.programs["candidate"].reason_codes
    assert "experience" in reasons
    assert {"skills-match", "language", "availability"} <= set(reasons)


def test_customer_root_causes_are_slugs(org: Organisation) -> None:
    causes = org.programs["customer"].root_causes
    assert {"delivery-late", "product-defect", "billing-error", "rude-or-unhelpful-staff"} <= set(
        causes
    )
    for cause in causes:
        assert cause == cause.lower() and " " not in cause, cause


# --- routing: who picks up a low score ----------------------------------------------------------


def test_a_business_customer_goes_to_the_business_team(org: Organisation) -> None:
    assert org.route(program="customer", segment="zakelijk", language="nl").id == "zakelijk"
    assert org.route(program="customer", segment="lease", language="nl").id == "zakelijk"


def test_a_business_customer_writing_in_english_still_goes_to_the_business_team(
    org: Organisation,
) -> None:
    # The first matching team in file order wins, and the business team comes first.
    assert org.route(program="customer", segment="zakelijk", language="en").id == "zakelijk"


def test_an_english_speaking_customer_goes_to_the_english_team(org: Organisation) -> None:
    assert org.route(program="customer", segment=None, language="en").id == "english"
    assert org.route(program="customer", segment="particulier", language="en").id == "english"


@pytest.mark.parametrize(
    ("segment", "language"),
    [(None, "nl"), ("particulier", "nl"), (None, None), ("onbekend", None)],
)
def test_everyone_else_goes_to_the_catch_all_team(
    org: Organisation, segment: str | None, language: str | None
) -> None:
    assert org.route(program="customer", segment=segment, language=language).id == "particulier"


def test_the_english_team_works_london_hours_and_british_holidays(org: Organisation) -> None:
    english = org.team("english")
    assert english.time_zone == "Europe/London"
    assert english.holiday_country == "GB"
    assert org.team("particulier").time_zone == "Europe/Amsterdam"


# --- adopted customers ----------------------------------------------------------------------------


def test_an_adopted_customer_belongs_to_the_colleague_who_adopted_them(org: Organisation) -> None:
    assert org.adopter_of("klant-31852") == "joost.bakker@fietsenwinkel.example"
    assert org.team_of(org.adopter_of("klant-31852")).id == "zakelijk"
    # Anyone may adopt a customer, whatever their job: here a recruiter.
    assert org.team_of(org.adopter_of("klant-55109")).id == "werving"


def test_a_customer_nobody_adopted_has_no_adopter(org: Organisation) -> None:
    assert org.adopter_of("klant-99999") is None
    assert org.adopter_of(None) is None


def test_every_adopter_is_a_known_member(org: Organisation) -> None:
    for adoption in org.adopted:
        assert org.member(adoption.member).email == adoption.member


# --- a bad file is refused with a message naming the file, the key and the problem ---------------

BASE = """\
name = "Testwinkel"

[programs.customer]
case_threshold = 6
root_causes = ["other"]

[[programs.customer.sla]]
low = 0
high = 3
business_hours = 24

[[programs.customer.sla]]
low = 4
high = 6
business_hours = 48

[[teams]]
id = "support"
name = "Support"
time_zone = "Europe/Amsterdam"
holiday_country = "NL"

[[teams.routes]]
programs = ["customer"]

[[teams.members]]
name = "Lea Lead"
email = "lea@winkel.example"
role = "lead"

[[teams.members]]
name = "Max Member"
email = "max@winkel.example"

[[teams.members]]
name = "Mo Member"
email = "mo@winkel.example"

[[adopted]]
respondent_id = "r-1"
member = "mo@winkel.example"
"""


def mutate(old: str, new: str) -> str:
    """The small valid base file with exactly one passage changed."""
    assert BASE.count(old) == 1, f"{old!r} must occur exactly once in BASE"
    return BASE.replace(old, new)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "org.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(OrgFileError) as caught:
        load_organisation(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


def test_the_small_base_file_is_valid(tmp_path: Path) -> None:
    org = load_organisation(write(tmp_path, BASE))
    assert org.route(program="customer", segment=None, language=None).id == "support"
    assert org.adopter_of("r-1") == "mo@winkel.example"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(OrgFileError, match="cannot read"):
        load_organisation(path)


def test_a_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    problem = load_error(tmp_path, mutate('name = "Support"', 'name = "Support'))
    assert problem.startswith("not valid TOML")
    assert "line 19" in problem


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    problem = load_error(
        tmp_path, mutate('holiday_country = "NL"', 'holiday_country = "NL"\nworkinghours = []')
    )
    assert problem.startswith("teams[0].workinghours: ")
    assert "not permitted" in problem


def test_a_misspelled_top_level_key_is_refused(tmp_path: Path) -> None:
    problem = load_error(tmp_path, mutate('name = "Testwinkel"', 'naam = "Testwinkel"'))
    assert problem.startswith("naam: ")


def test_a_bad_member_email_names_the_member(tmp_path: Path) -> None:
    problem = load_error(
        tmp_path, mutate('email = "mo@winkel.example"', 'email = "mo.winkel.example"')
    )
    assert problem.startswith("teams[0].members[2].email: ")
    assert "not a valid email address" in problem


def test_a_team_without_a_lead_is_refused(tmp_path: Path) -> None:
    problem = load_error(tmp_path, mutate('role = "lead"', 'role = "member"'))
    assert problem == "teams[0]: team 'support' has no member with role 'lead'"


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    problem = load_error(tmp_path, mutate('"Europe/Amsterdam"', '"Europe/Atlantis"'))
    assert problem == "teams[0].time_zone: unknown time zone 'Europe/Atlantis'"


def test_an_unknown_holiday_country_is_refused(tmp_path: Path) -> None:
    problem = load_error(tmp_path, mutate('holiday_country = "NL"', 'holiday_country = "XX"'))
    assert problem == "teams[0].holiday_country: unknown holiday country 'XX'"


def test_a_program_without_a_catch_all_route_is_refused(tmp_path: Path) -> None:
    problem = load_error(
        tmp_path, mutate('programs = ["customer"]', 'programs = ["customer"]\nlanguages = ["nl"]')
    )
    assert "programs.customer: no team has a route for it without conditions" in problem
    assert "could not be routed" in problem


def test_an_adoption_by_an_unknown_member_is_refused(tmp_path: Path) -> None:
    problem = load_error(
        tmp_path, mutate('member = "mo@winkel.example"', 'member = "nobody@winkel.example"')
    )
    assert problem == "adopted[0].member: unknown member nobody@winkel.example"


def test_an_sla_gap_is_refused(tmp_path: Path) -> None:
    # Bands 0-4 and 6-6: a customer who scores 5 would have no callback deadline.
    text = mutate("low = 0\nhigh = 3", "low = 0\nhigh = 4")
    text = text.replace("low = 4\nhigh = 6", "low = 6\nhigh = 6")
    problem = load_error(tmp_path, text)
    assert problem == "programs.customer: no sla band covers score 5"


def test_an_sla_band_upside_down_is_refused(tmp_path: Path) -> None:
    problem = load_error(tmp_path, mutate("low = 0", "low = 9"))
    assert "programs.customer.sla[0]" in problem and "must not be above high" in problem


def test_member_emails_match_whatever_their_case(tmp_path: Path) -> None:
    path = tmp_path / "org.toml"
    path.write_text(mutate('member = "mo@winkel.example"', 'member = "Mo@Winkel.example"'))
    assert load_organisation(path).adopter_of("r-1") == "mo@winkel.example"


def test_a_team_can_follow_a_regions_holidays(tmp_path: Path) -> None:
    problem = load_error(tmp_path, mutate('holiday_country = "NL"',
                                          'holiday_country = "NL"\nholiday_subdivision = "XX"'))
    assert "unknown holiday_subdivision 'XX'" in problem


def test_the_round_the_clock_file_tests_start_kringloop_with_matches_the_fixture(
    tmp_path: Path,
) -> None:
    """Kringloop started as a process by a test gets the same teams as the in-process tests."""
    from_file = load_organisation(round_the_clock_org_file(tmp_path))
    assert from_file.teams == round_the_clock(load_organisation(EXAMPLE_ORG_FILE)).teams
