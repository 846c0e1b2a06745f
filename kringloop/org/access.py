"""Who is asking, and what they may see and do: members see their team's cases, leads also
reassign and see the team board, admins see everything; eNPS reports only admins and the
people team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kringloop.org.organisation import Organisation

Role = Literal["member", "lead", "recruiter", "admin"]


@dataclass(frozen=True)
class Principal:
    email: str
    name: str
    role: Role
    team_ids: frozenset[str]
    language: str = "nl"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees_team(self, team_id: str | None) -> bool:
        return self.is_admin or (team_id is not None and team_id in self.team_ids)

    def leads(self, team_id: str | None) -> bool:
        return self.is_admin or (self.role == "lead" and self.sees_team(team_id))

    @property
    def standing(self) -> str:
        """Role and teams, as a signed-in session remembers them: when the organisation file
        changes either, the session ends (a lead made member keeps no lead's page open)."""
        return ":".join([self.role, *sorted(self.team_ids)])


ADMIN_TOKEN_HOLDER = Principal(email="admin", name="admin", role="admin", team_ids=frozenset())


def principal_for(org: Organisation, email: str) -> Principal | None:
    """The person behind an email address, as the organisation file knows them today."""
    email = email.strip().lower()
    for admin in org.admins:
        if admin.email == email:
            return Principal(email=email, name=admin.name, role="admin", team_ids=frozenset(),
                             language=admin.language)
    for team in org.teams:
        for member in team.members:
            if member.email == email:
                return Principal(email=email, name=member.name, role=member.role,
                                 team_ids=frozenset({team.id}), language=member.language)
    return None


# What reports they may read ----------------------------------------------------------------------

def people_teams(org: Organisation) -> frozenset[str]:
    """The teams that take the employee program: with admins, the only readers of eNPS."""
    return frozenset(t.id for t in org.teams for r in t.routes if "employee" in r.programs)


def may_report_on(org: Organisation, principal: Principal, program: str) -> bool:
    """Whether the principal may read a program's reports: eNPS only admins and people teams."""
    if program not in org.programs:
        return False
    return program != "employee" or principal.is_admin or bool(
        principal.team_ids & people_teams(org))


def team_scope(principal: Principal) -> frozenset[str] | None:
    """The teams whose own figures the principal sees; None for all (admins)."""
    return None if principal.is_admin else principal.team_ids


def adopter_scope(org: Organisation, principal: Principal) -> frozenset[str] | None:
    """Whose adopted customers the principal sees: a lead their team's, anyone else their own."""
    if principal.is_admin:
        return None
    led = [t for t in org.teams if t.id in principal.team_ids and principal.leads(t.id)]
    return frozenset({principal.email} | {m.email for t in led for m in t.members})
