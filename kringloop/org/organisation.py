"""The organisation as code: programs, loyalty teams and adopted customers from a TOML file."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kringloop.shapes import control_characters_in

Program = Literal["customer", "employee", "candidate"]
Language = Literal["nl", "en"]
Role = Literal["member", "lead", "recruiter"]
# Addresses compare case-insensitively: an adoption of Mo@x.example is member mo@x.example.
Email = Annotated[EmailStr, AfterValidator(str.lower)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Sentences that say nothing about the person: a reason made only of these is refused.
STOCK_PHRASES = (
    "we received many applications",
    "we hebben veel sollicitaties ontvangen",
    "we hebben veel reacties ontvangen",
    "other candidates matched better",
    "andere kandidaten sloten beter aan",
    "we have decided not to proceed",
    "we hebben besloten niet verder te gaan",
    "unfortunately",
    "helaas",
)


class SlaBand(Strict):
    """Scores from `low` to `high` (inclusive) must be called back within `business_hours`."""

    low: int = Field(ge=0, le=10)
    high: int = Field(ge=0, le=10)
    business_hours: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> SlaBand:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not be above high ({self.high})")
        return self


class ProgramPolicy(Strict):
    case_threshold: int = Field(ge=0, le=10, description="scores at or below open a case")
    sla: list[SlaBand] = Field(min_length=1)
    reminder_before_hours: float = Field(default=4, ge=0)
    escalation_grace_hours: float = Field(default=8, gt=0)
    max_callback_attempts: int = Field(default=3, ge=1)
    resurvey_after_days: float = Field(default=7, gt=0)
    resurvey_wait_days: float = Field(default=14, gt=0)
    root_causes: list[str] = Field(min_length=1)
    reason_codes: list[str] = []
    # Considerate rejections (candidate program): see kringloop/rejections.py.
    rejection_hold_hours: float = Field(default=24, ge=0)
    cnps_after_days: float = Field(default=2, gt=0)
    stock_phrases: list[str] = Field(default_factory=lambda: list(STOCK_PHRASES))
    min_reason_words: int = Field(default=6, ge=1)
    feedback_call_business_hours: float = Field(default=16, gt=0)

    @model_validator(mode="after")
    def _bands_cover_case_scores(self) -> ProgramPolicy:
        for score in range(self.case_threshold + 1):
            if not any(band.low <= score <= band.high for band in self.sla):
                raise ValueError(f"no sla band covers score {score}")
        return self

    def sla_hours_for(self, score: int) -> float:
        return next(b.business_hours for b in self.sla if b.low <= score <= b.high)


class Member(Strict):
    name: str = Field(min_length=1)
    email: Email
    role: Role = "member"
    capacity: int = Field(default=10, ge=0)
    language: Language = "nl"


class Route(Strict):
    """A routing rule: every listed condition must match; an omitted one matches anything."""

    programs: list[Program] = Field(min_length=1)
    segments: list[str] | None = None
    languages: list[Language] | None = None

    def matches(self, *, program: str, segment: str | None, language: str | None) -> bool:
        return (
            program in self.programs
            and (self.segments is None or segment in self.segments)
            and (self.languages is None or language in self.languages)
        )


class LoyaltyTeam(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    time_zone: str = "Europe/Amsterdam"
    working_hours: tuple[time, time] = (time(9), time(17))
    working_days: list[int] = Field(default=[1, 2, 3, 4, 5], min_length=1)
    holiday_country: str = "NL"  # "": the team works on public holidays (a round-the-clock desk)
    holiday_subdivision: str | None = None
    routes: list[Route] = []
    members: list[Member] = Field(min_length=1)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("holiday_country")
    @classmethod
    def _known_country(cls, country: str) -> str:
        if country and country not in holidays.list_supported_countries():
            raise ValueError(f"unknown holiday country {country!r}")
        return country

    @model_validator(mode="after")
    def _calendar_is_real(self) -> LoyaltyTeam:
        subdivisions = holidays.list_supported_countries().get(self.holiday_country, [])
        if self.holiday_subdivision and self.holiday_subdivision not in subdivisions:
            raise ValueError(f"unknown holiday_subdivision {self.holiday_subdivision!r} for "
                             f"{self.holiday_country}; one of {', '.join(subdivisions)}")
        if not self.working_hours[0] < self.working_hours[1]:
            raise ValueError("working_hours must start before they end")
        if any(day not in range(1, 8) for day in self.working_days):
            raise ValueError("working_days are ISO weekdays 1 (Monday) to 7 (Sunday)")
        if not any(m.role == "lead" for m in self.members):
            raise ValueError(f"team {self.id!r} has no member with role 'lead'")
        return self

    @property
    def lead(self) -> Member:
        return next(m for m in self.members if m.role == "lead")


class Admin(Strict):
    """Someone with every right in the workspace (not on a loyalty team)."""

    name: str = Field(min_length=1)
    email: Email
    language: Language = "nl"


class Adoption(Strict):
    """Seed 004's "adoptieklant": this customer's cases go to the member who adopted them."""

    respondent_id: str = Field(min_length=1)
    member: Email


SourceKind = Literal["typeform", "delighted", "tally", "formbricks", "surveymonkey", "qualtrics"]
TOOL_NAMES = {"typeform": "Typeform", "delighted": "Delighted", "tally": "Tally",
              "formbricks": "Formbricks", "surveymonkey": "SurveyMonkey", "qualtrics": "Qualtrics"}
# Tools whose webhook names a response without its answers: Kringloop fetches them.
FETCHING_KINDS = ("surveymonkey", "qualtrics")
# What a source's `fields` may map: a response's parts as POST /api/responses names them.
SOURCE_FIELDS = ("score", "comment", "answered_at", "respondent.id", "respondent.email",
                 "respondent.name", "respondent.phone", "respondent.language",
                 "respondent.segment")
ENVIRONMENT_VARIABLE = r"^[A-Z][A-Z0-9_]*$"


class SurveySource(Strict):
    """A survey tool that posts its own webhooks to /api/hooks/NAME (kringloop/sources)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)
    kind: SourceKind
    program: Program
    # The tool's signing secret is read from this environment variable, never from the file.
    secret_env: str | None = Field(default=None, pattern=ENVIRONMENT_VARIABLE)
    # Our field (`score`, `respondent.email`, …) to the tool's own identifier for it.
    fields: dict[str, str] = {}
    # SurveyMonkey and Qualtrics: where their API is, and the variable holding its token.
    api_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    api_token_env: str | None = Field(default=None, pattern=ENVIRONMENT_VARIABLE)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        for ours, theirs in fields.items():
            if ours not in SOURCE_FIELDS:
                raise ValueError(f"unknown field {ours!r}; one of {', '.join(SOURCE_FIELDS)}")
            if not theirs.strip():
                raise ValueError(f"fields.{ours} must name the tool's identifier")
        return fields

    @model_validator(mode="after")
    def _can_fetch(self) -> SurveySource:
        if self.kind in FETCHING_KINDS and self.api_token_env is None:
            raise ValueError(f"a {self.kind} source needs api_token_env: its webhook names a "
                             "response without the answers, which Kringloop fetches")
        if self.kind == "qualtrics" and self.api_url is None:
            raise ValueError("a qualtrics source needs api_url, with your data center: "
                             "https://<datacenter>.qualtrics.com/API/v3")
        return self


class Organisation(Strict):
    name: str = "Kringloop"
    # The address emails come from ("Bram de Groot via <name> <email>"); KRINGLOOP_MAIL_FROM
    # overrides it. Unset: loop@kringloop.local, for a file that is only tried out.
    email: Email | None = None
    # Where respondents' replies go: the case's opaque token is added as a plus-address
    # (antwoord+<token>@...); KRINGLOOP_REPLY_ADDRESS overrides it. Unset: replies go nowhere.
    reply_address: Email | None = None
    default_language: Language = "nl"
    programs: dict[Program, ProgramPolicy]
    teams: list[LoyaltyTeam] = Field(min_length=1)
    admins: list[Admin] = []
    adopted: list[Adoption] = []
    sources: list[SurveySource] = []
    # Reports never show a group with fewer answers than this (kringloop/reports/nps.py).
    report_min_group_size: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> Organisation:
        ids = [t.id for t in self.teams]
        if len(ids) != len(set(ids)):
            raise ValueError("team ids must be unique")
        emails = [m.email for m in self.members] + [a.email for a in self.admins]
        if len(emails) != len(set(emails)):
            dup = next(e for e in emails if emails.count(e) > 1)
            raise ValueError(f"member {dup} is listed twice (emails are sign-in names)")
        for program in self.programs:
            catch_all = [
                t for t in self.teams for r in t.routes
                if r.matches(program=program, segment=None, language=None)
                and r.segments is None and r.languages is None
            ]
            if not catch_all:
                raise ValueError(f"programs.{program}: no team has a route for it without "
                                 "conditions, so some of its cases could not be routed")
        names = [s.name for s in self.sources]
        if len(names) != len(set(names)):
            raise ValueError("sources: each source needs its own name (it is in its URL)")
        for index, source in enumerate(self.sources):
            if source.program not in self.programs:
                raise ValueError(f"sources[{index}].program: {source.program!r} is not a "
                                 "program of this organisation")
        for index, adoption in enumerate(self.adopted):
            if adoption.member not in self.member_emails:
                raise ValueError(f"adopted[{index}].member: unknown member {adoption.member}")
        return self

    def source(self, name: str) -> SurveySource | None:
        return next((s for s in self.sources if s.name == name), None)

    def team(self, team_id: str) -> LoyaltyTeam:
        return next(t for t in self.teams if t.id == team_id)

    def team_of(self, email: str) -> LoyaltyTeam:
        return next(t for t in self.teams if any(m.email == email for m in t.members))

    @property
    def members(self) -> list[Member]:
        """Everyone in a team (admins are not members)."""
        return [m for t in self.teams for m in t.members]

    @property
    def member_emails(self) -> set[str]:
        return {m.email for m in self.members}

    def member(self, email: str) -> Member:
        return next(m for m in self.members if m.email == email)

    def member_or_none(self, email: str) -> Member | None:
        """None for someone no longer in the organisation file."""
        return next((m for m in self.members if m.email == email), None)

    def adopter_of(self, respondent_id: str | None) -> str | None:
        return next((a.member for a in self.adopted if a.respondent_id == respondent_id), None)

    def route(self, *, program: str, segment: str | None, language: str | None) -> LoyaltyTeam:
        """The first team, in file order, with a rule that matches."""
        for team in self.teams:
            if any(r.matches(program=program, segment=segment, language=language)
                   for r in team.routes):
                return team
        raise LookupError(f"no team routes program {program!r}")


class OrgFileError(Exception):
    """An organisation file that cannot be used; the message names file, key and problem."""


def _key(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts)


Location = tuple[int | str, ...]


def _unprintable_at(node: object, loc: Location = ()) -> Location | None:
    """Where a text (or a key) holds a control character, a line break or NUL, if anywhere:
    names and words from this file go into pages, email subjects and headers, and the
    database."""
    if isinstance(node, str):
        return loc if control_characters_in(node) else None
    if isinstance(node, dict):
        items: list[tuple[int | str, object]] = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return None
    for key, value in items:
        if isinstance(key, str) and control_characters_in(key):
            return (*loc, key.encode("unicode_escape").decode())
        found = _unprintable_at(value, (*loc, key))
        if found is not None:
            return found
    return None


def load_organisation(path: Path) -> Organisation:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        where = _unprintable_at(raw)
    except OSError as error:
        raise OrgFileError(f"{path}: cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise OrgFileError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:  # an organisation is a few levels deep, never thousands
        raise OrgFileError(f"{path}: nested too deeply") from None
    if where is not None:
        raise OrgFileError(f"{path}: {_key(where)}: must not contain control characters "
                           "(such as line breaks)")
    try:
        return Organisation.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        where = f"{_key(first['loc'])}: " if first["loc"] else ""
        raise OrgFileError(f"{path}: {where}{message}") from None
