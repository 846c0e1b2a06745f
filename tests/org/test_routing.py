"""Routing and assignment: the right team, the least-loaded colleague, the adopter first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kringloop.org.organisation import Organisation
from kringloop.org.routing import choose_member
from tests.support.kringloop import Kringloop

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_the_member_with_fewest_open_cases_under_capacity_gets_the_case(
    org: Organisation,
) -> None:
    team = org.team("particulier")
    everyone_busy = {m.email: 5 for m in team.members}
    quiet = team.members[3]
    chosen = choose_member(team, open_cases=everyone_busy | {quiet.email: 1}, last_assigned={})
    assert chosen == quiet


def test_a_member_at_capacity_is_passed_over(org: Organisation) -> None:
    team = org.team("particulier")
    loads = {m.email: m.capacity for m in team.members}  # everybody full...
    spare = next(m for m in team.members if m.capacity > 3)
    loads[spare.email] = spare.capacity - 1  # ...but one, who has more cases than some others
    chosen = choose_member(team, open_cases=loads, last_assigned={})
    assert chosen == spare


def test_when_everyone_is_full_the_case_is_still_assigned(org: Organisation) -> None:
    team = org.team("particulier")
    loads = {m.email: m.capacity + 2 for m in team.members}
    assert choose_member(team, open_cases=loads, last_assigned={}) in team.members


def test_ties_go_to_whoever_waited_longest_for_a_case(org: Organisation) -> None:
    team = org.team("particulier")
    waited = {m.email: T0 + timedelta(minutes=i) for i, m in enumerate(team.members)}
    longest = team.members[0]
    assert choose_member(team, open_cases={}, last_assigned=waited) == longest
    waited[longest.email] = T0 + timedelta(days=1)
    assert choose_member(team, open_cases={}, last_assigned=waited) == team.members[1]


def test_the_same_situation_always_gives_the_same_member(org: Organisation) -> None:
    team = org.team("zakelijk")
    choices = {choose_member(team, open_cases={}, last_assigned={}).email for _ in range(20)}
    assert len(choices) == 1


def test_reassignment_never_picks_the_current_assignee(org: Organisation) -> None:
    team = org.team("people")
    for member in team.members:
        assert choose_member(team, open_cases={}, last_assigned={},
                             exclude=member.email) != member


@pytest.mark.parametrize(("response", "team"), [
    ({"program": "customer", "respondent": {"segment": "zakelijk", "email": "x@bedrijf.nl"}},
     "zakelijk"),
    ({"program": "customer", "respondent": {"language": "en", "email": "sam@example.com"}},
     "english"),
    ({"program": "customer", "respondent": {"language": "nl", "email": "kees@example.nl"}},
     "particulier"),
    ({"program": "candidate", "respondent": {"email": "sollicitant@example.nl"}}, "werving"),
    ({"program": "employee", "meta": {"contact_consent": True},
      "respondent": {"email": "collega@fietsenwinkel.example"}}, "people"),
])
async def test_a_case_is_routed_by_program_segment_and_language(
    live: Kringloop, response: dict[str, object], team: str,
) -> None:
    posted = await live.post_response(f"route-{team}", 3, **response)
    case = await live.case_when(posted["case_id"], lambda c: c["assignee"])
    assert case["team"] == team
    assert case["assignee"]["email"] in [m.email for m in live.org.team(team).members]


async def test_an_adopted_customer_goes_to_the_colleague_who_adopted_them(
    live: Kringloop,
) -> None:
    posted = await live.post_response("adopted-1", 2, respondent={
        "id": "klant-20417", "name": "Familie Peeters", "email": "peeters@example.nl"})
    case = await live.case_when(posted["case_id"], lambda c: c["assignee"])
    assert case["assignee"]["email"] == "bram.degroot@fietsenwinkel.example"
    routed = next(e for e in case["timeline"] if e["kind"] == "routed")
    assert "adopted by Bram de Groot" in routed["detail"]
