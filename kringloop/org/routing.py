"""Routing and assignment rules: which team gets a case, and which member works it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from kringloop.org.organisation import LoyaltyTeam, Member, Organisation


def team_for(
    org: Organisation, *, program: str, segment: str | None, language: str | None,
    adopter_email: str | None,
) -> LoyaltyTeam:
    """An adopted customer's case goes to the adopter's team; everyone else by the rules."""
    if adopter_email is not None:
        return org.team_of(adopter_email)
    return org.route(program=program, segment=segment, language=language)


def choose_member(
    team: LoyaltyTeam, *, open_cases: Mapping[str, int], last_assigned: Mapping[str, datetime],
    exclude: str | None = None, absent: Collection[str] = (),
) -> Member:
    """Fewest open cases among members under capacity; ties go to who waited longest, then email.

    When everyone is at capacity the least-loaded member still gets the case: a low score is
    never left unassigned. Absent members are passed over in the same way: when everyone is
    away, someone still gets it.
    """
    candidates = [m for m in team.members if m.capacity > 0 and m.email != exclude]
    if not candidates:
        candidates = [m for m in team.members if m.email != exclude] or list(team.members)
    candidates = [m for m in candidates if m.email not in absent] or candidates
    under_capacity = [m for m in candidates if open_cases.get(m.email, 0) < m.capacity]
    never = datetime.min.replace(tzinfo=None)

    def fairness(member: Member) -> tuple[int, datetime, str]:
        waited = last_assigned.get(member.email)
        return (open_cases.get(member.email, 0),
                waited.replace(tzinfo=None) if waited else never, member.email)

    return min(under_capacity or candidates, key=fairness)
