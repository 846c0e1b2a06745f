"""Who may do what, on every route the web app has: an anonymous visitor, a member of another
team, a member of the resource's team, its lead, a recruiter and an admin (the admin token on
the JSON API, a signed-in admin on the pages). Outside your scope a case is 404, never 403, so
nobody learns that it exists; a refused call leaves no trace on the case, and on the JSON API
says why ({message, field}). Every form refuses a missing or wrong CSRF token.

`ROUTES` is the matrix. A route the app gains without an entry (in the matrix, or public with
the reason why anyone may call it) fails `test_every_route_is_in_the_matrix_or_public_for_a_reason`.
"""

from __future__ import annotations

import asyncio
import os
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts
from sqlmodel import select

from kringloop.database import session_for
from kringloop.rejections.models import Rejection
from kringloop.security.credentials import create_api_token, set_password
from kringloop.security.signed_links import conversation_form_token
from kringloop.services import Services
from kringloop.web.app import create_app
from tests.support.enps import anonymous_case
from tests.support.intake import settled, unique
from tests.support.kringloop import ADMIN, Kringloop
from tests.support.people import INGRID
from tests.support.rejections import rejection
from tests.support.survey_tools import EXAMPLES, SECRET_OF, SECRETS, SOURCE_OF, signed
from tests.support.web import Browser, sign_in_link

WHO = ("anonymous", "other team", "team member", "team lead", "recruiter", "admin")
PEOPLE = {  # the team's member and lead, per team a route is about
    "zakelijk": ("joost.bakker@fietsenwinkel.example", "marieke.devries@fietsenwinkel.example"),
    "people": ("rachid.aziz@fietsenwinkel.example", "wendy.vanleeuwen@fietsenwinkel.example"),
    "werving": ("mila.koster@fietsenwinkel.example", "anouk.peters@fietsenwinkel.example"),
}
JOOST, SANNE = PEOPLE["zakelijk"][0], "sanne.jansen@fietsenwinkel.example"  # colleagues
OTHER_TEAM = "bram.degroot@fietsenwinkel.example"  # Particulieren
RECRUITER = "thijs.willems@fietsenwinkel.example"  # Werving & Selectie
VACANCY_TITLE = "Fietsenmaker"
# What a case action writes on the timeline: a refused call must have written none of it.
TRACES = {"note", "callback_attempt", "resolution", "reassigned", "relay_reply"}
MAIL = "20260105T090000-0123456789ab.eml"
PASSWORD = "fietsbel-rinkelt-2x"


@dataclass
class World:
    """One matrix row's Kringloop: a web app with an outbox that only admins may read, a
    caller per role, and the resources a route needs, made on first use (or fresh per call)."""

    live: Kringloop
    app: FastAPI
    team: str
    emails: dict[str, str]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    browsers: dict[str, Browser] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)
    fresh_cases: list[str] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)  # who -> the case their call was about
    forged_csrf: str | None = None  # what form() sends instead of the session's token ("": none)

    # callers ----------------------------------------------------------------------------------
    def api(self, who: str) -> tuple[httpx.AsyncClient, dict[str, str]]:
        if not self.headers:
            self.headers = {"anonymous": {}, "admin": ADMIN}
            with session_for(self.live.engine) as session:
                for role, email in self.emails.items():
                    if role not in self.headers:
                        _, secret = create_api_token(session=session, email=email)
                        self.headers[role] = {"Authorization": f"Bearer {secret}"}
        return self.client(), self.headers[who]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://kringloop.test")

    def give_password(self, who: str) -> None:
        """Their password, set once and before they sign in: a new password ends sessions."""
        email = self.email(who)
        if who != "anonymous" and email not in self.shared.setdefault("passwords", set()):
            with session_for(self.live.engine) as session:
                set_password(session=session, email=email, password=PASSWORD)
            self.shared["passwords"].add(email)

    async def browser(self, who: str) -> Browser:
        """The person's browser, signed in the way they do it: by the emailed link."""
        if who not in self.browsers:
            person = Browser(self.app)
            self.give_password(who)
            if who != "anonymous":
                email = INGRID if who == "admin" else self.emails[who]
                known = len(self.live.smtp.to(email, "sign_in"))
                await person.submit("/login", "/login/link", {"email": email})
                answer = await person.follow_sign_in_link(
                    await sign_in_link(self.live, email, known=known))
                assert answer.status_code == 303, answer.text
            self.browsers[who] = person
        return self.browsers[who]

    # resources --------------------------------------------------------------------------------
    async def new_case(self) -> str:
        if self.team == "people":
            posted = await anonymous_case(self.live)
            self.shared.setdefault("conversation", posted["conversation_url"].split("/")[-1])
        else:
            posted = await self.live.post_response(unique("matrix"), 3, respondent={
                "id": unique("klant"), "name": "Bedrijf BV", "email": "inkoop@bedrijf.example",
                "segment": "zakelijk"})
        await settled(self.live, posted["case_id"])
        return str(posted["case_id"])

    async def case(self, who: str) -> str:
        if "case" not in self.shared:
            self.shared["case"] = await self.new_case()
        self.used[who] = self.shared["case"]
        return str(self.shared["case"])

    async def fresh_case(self, who: str) -> str:
        """A case of its own per caller: what one caller did must not decide the next one."""
        if not self.fresh_cases:
            self.fresh_cases = list(await asyncio.gather(*(self.new_case() for _ in WHO)))
        self.used[who] = self.fresh_cases.pop()
        return self.used[who]

    async def conversation(self, who: str) -> str:
        await self.case(who)
        return str(self.shared["conversation"])

    async def respondent(self, who: str) -> str:
        case = await self.live.case(await self.case(who))
        return str(case["respondent"]["id"])

    async def assignee_colleague(self, case_id: str) -> str:
        current = (await self.live.case(case_id))["assignee"]["email"]
        team = self.live.org.team(self.team)
        return next(m.email for m in team.members if m.email != current and m.role != "lead")

    def vacancy(self, who: str) -> str:
        return str(self.shared.setdefault("vacancy", unique("v-matrix")))

    async def _new_rejection(self) -> str:
        answer = await self.live.api.post("/api/rejections", headers=ADMIN,
                                          json=rejection(vacancy=self.vacancy("")))
        assert answer.status_code == 202, answer.text
        self.live.started.append(answer.json()["rejection_id"])
        return str(answer.json()["rejection_id"])

    async def rejection(self, who: str) -> str:
        if "rejection" not in self.shared:
            self.shared["rejection"] = await self._new_rejection()
        return str(self.shared["rejection"])

    async def fresh_rejection(self, who: str) -> str:
        return await self._new_rejection()

    def team_id(self, who: str) -> str:
        return self.team

    def mail(self, who: str) -> str:
        return MAIL

    def email(self, who: str) -> str:
        return INGRID if who == "admin" else self.emails.get(who, "niemand@example.nl")

    async def healthy(self) -> None:
        """Health counts a polling worker: give the test's worker its first poll."""
        async with self.client() as client:
            for _ in range(200):
                if (await client.get("/health")).status_code == 200:
                    return
                await asyncio.sleep(0.05)


Call = Callable[[World, str], Awaitable[httpx.Response]]
Body = dict[str, Any] | Callable[[World, str], Awaitable[dict[str, Any]]] | None


async def _path(world: World, who: str, template: str) -> str:
    """`{case}` → a resource made by the world's method of that name, for this caller."""
    values = {}
    for _, name, _, _ in string.Formatter().parse(template):
        if name:
            made = getattr(world, name)(who)
            values[name] = await made if asyncio.iscoroutine(made) else made
    return template.format(**values)


async def _body(world: World, who: str, body: Body) -> dict[str, Any] | None:
    return await body(world, who) if callable(body) else body


def api(method: str, template: str, body: Body = None, **params: str) -> Call:
    async def call(world: World, who: str) -> httpx.Response:
        client, headers = world.api(who)
        path = await _path(world, who, template)
        async with client:
            return await client.request(method, path, headers=headers, params=params or None,
                                        json=await _body(world, who, body))
    return call


def page(template: str, **params: str) -> Call:
    async def call(world: World, who: str) -> httpx.Response:
        person = await world.browser(who)
        return await person.client.get(await _path(world, who, template), params=params or None)
    return call


def form(template: str, fields: Body = None) -> Call:
    """A form posted with the CSRF token of the caller's session (or the world's forged one):
    from the sign-in page for an anonymous visitor, so what refuses them is the missing
    sign-in, not the token."""
    async def call(world: World, who: str) -> httpx.Response:
        person = await world.browser(who)
        path = await _path(world, who, template)
        token = world.forged_csrf
        if token is None:
            token = await person.token("/login" if who == "anonymous" else "/queue")
        data = await _body(world, who, fields) or {}
        return await person.client.post(path, data={**data, "csrf_token": token} if token
                                        else data)
    return call


async def _reassign(world: World, who: str) -> dict[str, Any]:
    return {"member": await world.assignee_colleague(world.used[who])}


async def _applicant(world: World, who: str) -> dict[str, Any]:
    return rejection(vacancy=world.vacancy(who))


async def _batch(world: World, who: str) -> dict[str, Any]:
    return {"vacancy_title": VACANCY_TITLE, "items": [
        {key: value for key, value in rejection().items() if key != "vacancy"}]}


async def _cancel_form(world: World, who: str) -> dict[str, Any]:
    return {"vacancy_id": world.vacancy(who), "vacancy_title": VACANCY_TITLE,
            "do": f"cancel-confirmed:{await world.fresh_rejection(who)}"}


async def _employee_writes(world: World, who: str) -> dict[str, Any]:
    token = await world.conversation(who)
    return {"text": "Nog iets", "form_token": conversation_form_token(
        world.live.settings.signing_key, token)}


def public_form(template: str, fields: Body) -> Call:
    """A form on a signed link's page: its own form token, no session's CSRF token."""
    async def call(world: World, who: str) -> httpx.Response:
        person = await world.browser(who)
        return await person.client.post(await _path(world, who, template),
                                        data=await _body(world, who, fields) or {})
    return call


# Each uses their own address: sign-in tries are counted (and limited) per person.
async def _own_address(world: World, who: str) -> dict[str, Any]:
    return {"email": world.email(who)}


async def _password(world: World, who: str) -> dict[str, Any]:
    """Their own password: anyone but the anonymous visitor has one."""
    world.give_password(who)
    return {"email": world.email(who), "password": PASSWORD}


def after_first_poll(call: Call) -> Call:
    async def healthy_call(world: World, who: str) -> httpx.Response:
        await world.healthy()
        return await call(world, who)
    return healthy_call


async def _responses(world: World, who: str) -> httpx.Response:
    client, headers = world.api(who)
    async with client:
        answer = await client.post("/api/responses", headers=headers, json={
            "response_id": unique("public"), "program": "customer", "score": 9})
    return answer


async def _hook(world: World, who: str) -> httpx.Response:
    """A survey tool's signed delivery (Formbricks' unfinished response: acknowledged, ignored),
    sent with the caller's token: the tool's signature is what counts, not who holds a token."""
    client, headers = world.api(who)
    body = (EXAMPLES / "formbricks_response_created.json").read_bytes()
    with mock.patch.dict(os.environ, {SECRET_OF["formbricks"]: SECRETS[SECRET_OF["formbricks"]]}):
        body, signature = signed("formbricks", body)
        async with client:
            return await client.post(f"/api/hooks/{SOURCE_OF['formbricks']}", content=body,
                                     headers=headers | signature)


@dataclass(frozen=True)
class Entry:
    method: str
    path: str  # the route as the app lists it
    call: Call
    expected: tuple[int, int, int, int, int, int]  # per WHO
    team: str = "zakelijk"
    public: str | None = None  # why anyone may call it

    def __post_init__(self) -> None:
        assert len(self.expected) == len(WHO)


CASE_ACTION = "/cases/{case_id}/{action}"
SIGNED_LINK = "a signed link: its token is the key, the same for everyone (test_signed_links)"
DOCS = "API documentation: describes the routes, holds no data"
#          anonymous, other team, team member, team lead, recruiter, admin
ROUTES: dict[str, Entry] = {
    # the JSON API: bearer tokens
    "case": Entry("GET", "/api/cases/{case_id}", api("GET", "/api/cases/{case}"),
                  (401, 404, 200, 200, 404, 200)),
    "log callback attempt": Entry(
        "POST", "/api/cases/{case_id}/callback-attempts",
        api("POST", "/api/cases/{fresh_case}/callback-attempts", {"outcome": "no_answer"}),
        (401, 404, 200, 200, 404, 200)),
    "add note": Entry("POST", "/api/cases/{case_id}/notes",
                      api("POST", "/api/cases/{case}/notes", {"text": "hoi"}),
                      (401, 404, 200, 200, 404, 200)),
    "answer the respondent": Entry("POST", "/api/cases/{case_id}/answers",
                                   api("POST", "/api/cases/{case}/answers", {"text": "hoi"}),
                                   (401, 404, 200, 200, 404, 200)),
    "reassign": Entry("POST", "/api/cases/{case_id}/reassign",
                      api("POST", "/api/cases/{fresh_case}/reassign", _reassign),
                      (401, 404, 403, 200, 404, 200)),
    "resolve": Entry("POST", "/api/cases/{case_id}/resolve", api(
        "POST", "/api/cases/{fresh_case}/resolve", {
            "root_cause": "communication", "action_taken": "Gebeld", "message": "Opgelost."}),
        (401, 404, 200, 200, 404, 200)),
    "wait on the respondent": Entry(
        "POST", "/api/cases/{case_id}/pause",
        api("POST", "/api/cases/{fresh_case}/pause", {"reason": "Gevraagd wanneer het past"}),
        (401, 404, 200, 200, 404, 200)),
    # A fresh case is not waiting: whoever may act on it hears so (422), the others not even
    # that the case exists.
    "resume the clock": Entry("POST", "/api/cases/{case_id}/resume",
                              api("POST", "/api/cases/{fresh_case}/resume"),
                              (401, 404, 422, 422, 404, 422)),
    "reply to an anonymous employee": Entry(
        "POST", "/api/cases/{case_id}/relay-replies",
        api("POST", "/api/cases/{case}/relay-replies", {"text": "Dank je, we kijken ernaar."}),
        (401, 404, 200, 200, 404, 200), team="people"),
    # The admin is in no team, so adopts nobody.
    "adopt the customer": Entry("POST", "/api/cases/{case_id}/adopt",
                                api("POST", "/api/cases/{fresh_case}/adopt"),
                                (401, 404, 200, 200, 404, 403)),
    "me": Entry("GET", "/api/me", api("GET", "/api/me"), (401, 200, 200, 200, 200, 200)),
    "my queue": Entry("GET", "/api/queue", api("GET", "/api/queue"),
                      (401, 200, 200, 200, 200, 200)),
    "team board": Entry("GET", "/api/teams/{team_id}/board",
                        api("GET", "/api/teams/{team_id}/board"),
                        (401, 404, 403, 200, 404, 200)),
    "send a rejection": Entry("POST", "/api/rejections", api("POST", "/api/rejections",
                                                             _applicant),
                              (401, 403, 403, 202, 202, 202), team="werving"),
    "send a vacancy's rejections": Entry(
        "POST", "/api/vacancies/{vacancy_id}/rejections",
        api("POST", "/api/vacancies/{vacancy}/rejections", _batch),
        (401, 403, 403, 202, 202, 202), team="werving"),
    "read a rejection": Entry("GET", "/api/rejections/{rejection_id}",
                              api("GET", "/api/rejections/{rejection}"),
                              (401, 404, 200, 200, 200, 200), team="werving"),
    "cancel a rejection": Entry("DELETE", "/api/rejections/{rejection_id}",
                                api("DELETE", "/api/rejections/{fresh_rejection}"),
                                (401, 404, 403, 200, 200, 200), team="werving"),
    "NPS report": Entry("GET", "/api/reports/nps", api("GET", "/api/reports/nps"),
                        (401, 200, 200, 200, 200, 200)),
    "loop report": Entry("GET", "/api/reports/loop", api("GET", "/api/reports/loop"),
                         (401, 200, 200, 200, 200, 200)),
    "adopted report": Entry("GET", "/api/reports/adopted", api("GET", "/api/reports/adopted"),
                            (401, 200, 200, 200, 200, 200)),
    # Last in WHO, the admin erases; to everyone else the person does not exist.
    "erase a person": Entry("DELETE", "/api/respondents/{respondent_id}",
                            api("DELETE", "/api/respondents/{respondent}"),
                            (401, 404, 404, 404, 404, 200)),
    # the workspace pages: a signed-in session, a CSRF token on every form
    "queue page": Entry("GET", "/queue", page("/queue"), (303, 200, 200, 200, 200, 200)),
    "case page": Entry("GET", "/cases/{case_id}", page("/cases/{case}"),
                       (303, 404, 200, 200, 404, 200)),
    "closing preview": Entry("POST", "/cases/{case_id}/closing-preview",
                             form("/cases/{case}/closing-preview",
                                  {"action_taken": "x", "message": "y"}),
                             (303, 404, 200, 200, 404, 200)),
    "note form": Entry("POST", CASE_ACTION, form("/cases/{case}/notes", {"text": "hoi"}),
                       (303, 404, 303, 303, 404, 303)),
    "callback form": Entry("POST", CASE_ACTION, form(
        "/cases/{fresh_case}/callback-attempts", {"outcome": "reached", "note": ""}),
        (303, 404, 303, 303, 404, 303)),
    "reassign form": Entry("POST", CASE_ACTION, form("/cases/{fresh_case}/reassign",
                                                     _reassign),
                           (303, 404, 403, 303, 404, 303)),
    "resolve form": Entry("POST", CASE_ACTION, form("/cases/{fresh_case}/resolve", {
        "root_cause": "communication", "action_taken": "Gebeld", "message": "Opgelost."}),
        (303, 404, 303, 303, 404, 303)),
    "relay reply form": Entry("POST", CASE_ACTION, form("/cases/{case}/relay-replies",
                                                        {"text": "Dank je."}),
                              (303, 404, 303, 303, 404, 303), team="people"),
    "adopt form": Entry("POST", CASE_ACTION, form("/cases/{fresh_case}/adopt"),
                        (303, 404, 303, 303, 404, 403)),
    "my team": Entry("GET", "/team", page("/team"), (303, 403, 403, 303, 403, 200)),
    "team board page": Entry("GET", "/teams/{team_id}", page("/teams/{team_id}"),
                             (303, 404, 403, 200, 404, 200)),
    "reports page": Entry("GET", "/reports", page("/reports"), (303, 200, 200, 200, 200, 200)),
    "NPS CSV": Entry("GET", "/reports/{table}.csv", page("/reports/nps.csv"),
                     (303, 200, 200, 200, 200, 200)),
    "loop CSV": Entry("GET", "/reports/{table}.csv", page("/reports/loop.csv"),
                      (303, 200, 200, 200, 200, 200)),
    "vacancies page": Entry("GET", "/rejections", page("/rejections"),
                            (303, 404, 404, 200, 200, 200), team="werving"),
    "vacancy page": Entry("GET", "/rejections/vacancy", page(
        "/rejections/vacancy", vacancy_id="v-fietsenmaker", vacancy_title=VACANCY_TITLE),
        (303, 404, 404, 200, 200, 200), team="werving"),
    "vacancy form (cancel)": Entry("POST", "/rejections/vacancy",
                                   form("/rejections/vacancy", _cancel_form),
                                   (303, 404, 404, 303, 303, 303), team="werving"),
    # Only admins read the embedded outbox (an anonymous visitor may be one: sign in first).
    "outbox": Entry("GET", "/outbox", page("/outbox"), (303, 403, 403, 403, 403, 200)),
    "outbox message": Entry("GET", "/outbox/{name}", page("/outbox/{mail}"),
                            (303, 403, 403, 403, 403, 200)),
    "outbox message HTML": Entry("GET", "/outbox/{name}/html", page("/outbox/{mail}/html"),
                                 (303, 403, 403, 403, 403, 200)),
    # Only admins see the survey tools' sources and their deliveries.
    "sources": Entry("GET", "/sources", page("/sources"), (303, 403, 403, 403, 403, 200)),
    # the team's list of open cases: its lead moves cases and marks absences, its members
    # see today's callbacks only (tests/web/test_team_cases_pages.py)
    "team cases page": Entry("GET", "/teams/{team_id}/cases", page("/teams/{team_id}/cases"),
                             (303, 404, 200, 200, 404, 200)),
    "team reassign form": Entry("POST", "/teams/{team_id}/reassignments", form(
        "/teams/{team_id}/reassignments", {"from_member": JOOST, "to_member": SANNE}),
        (303, 404, 403, 303, 404, 303)),
    "absence form": Entry("POST", "/teams/{team_id}/absences", form(
        "/teams/{team_id}/absences", {"member": JOOST, "until": "2099-12-31"}),
        (303, 404, 403, 303, 404, 303)),
    "absence end form": Entry("POST", "/teams/{team_id}/absences/end", form(
        "/teams/{team_id}/absences/end", {"member": JOOST}), (303, 404, 403, 303, 404, 303)),
    "team cases": Entry("GET", "/api/teams/{team_id}/cases",
                        api("GET", "/api/teams/{team_id}/cases"),
                        (401, 404, 200, 200, 404, 200)),
    "reassign a member's cases": Entry(
        "POST", "/api/teams/{team_id}/reassignments",
        api("POST", "/api/teams/{team_id}/reassignments",
            {"from_member": JOOST, "to_member": SANNE}), (401, 404, 403, 200, 404, 200)),
    "mark a member absent": Entry(
        "PUT", "/api/teams/{team_id}/members/{member}/absence",
        api("PUT", f"/api/teams/{{team_id}}/members/{JOOST}/absence", {"until": "2099-12-31"}),
        (401, 404, 403, 200, 404, 200)),
    "end an absence": Entry(
        "DELETE", "/api/teams/{team_id}/members/{member}/absence",
        api("DELETE", f"/api/teams/{{team_id}}/members/{JOOST}/absence"),
        (401, 404, 403, 204, 404, 204)),
    # public: anyone may call these, and for the reason given
    "survey tool webhook": Entry(
        "POST", "/api/hooks/{name}", _hook, (200,) * 6,
        public="survey tools post here, each source signed the tool's way with its secret, or "
               "the intake token without one (tests/sources/test_hooks.py)"),
    "mailgun inbound": Entry(
        "POST", "/api/inbound/mailgun",
        public_form("/api/inbound/mailgun", {"timestamp": "1", "token": "t", "signature": "s"}),
        (503,) * 6,
        public="Mailgun posts replies here, signed with KRINGLOOP_MAILGUN_SIGNING_KEY (503 "
               "without one, 401 with a wrong signature: tests/inbound/test_mailgun.py)"),
    "mailgun inbound, raw MIME": Entry(
        "POST", "/api/inbound/mailgun/mime",
        public_form("/api/inbound/mailgun/mime",
                    {"timestamp": "1", "token": "t", "signature": "s"}),
        (503,) * 6, public="the same, for Mailgun's store-and-forward with the raw MIME"),
    "intake": Entry("POST", "/api/responses", _responses, (201, 201, 201, 201, 201, 201),
                    public="survey tools post here; INTAKE_TOKEN or webhook signatures guard "
                           "it when set (test_intake_api, test_webhook_signatures)"),
    "home": Entry("GET", "/", page("/"), (303, 303, 303, 303, 303, 303),
                  public="only sends you on to /queue"),
    "sign-in page": Entry("GET", "/login", page("/login"), (200, 303, 303, 303, 303, 303),
                          public="signing in (a signed-in visitor goes on to the queue)"),
    "ask for a sign-in link": Entry(
        "POST", "/login/link", form("/login/link", _own_address), (200,) * 6,
        public="signing in: answers alike for known and unknown addresses (CSRF-guarded)"),
    "sign in with a password": Entry(
        "POST", "/login/password",
        form("/login/password", _password), (401, 303, 303, 303, 303, 303),
        public="signing in (CSRF-guarded, rate limited)"),
    "follow a sign-in link": Entry("GET", "/login/magic/{secret}", page("/login/magic/forged"),
                                   (400,) * 6, public=SIGNED_LINK),  # a live one: its button
    "press a sign-in link's button": Entry(
        "POST", "/login/magic/{secret}", form("/login/magic/forged"), (400,) * 6,
        public="signing in: the link's one-time secret is the key (CSRF-guarded)"),
    "sign out": Entry("POST", "/logout", form("/logout"), (303,) * 6,
                      public="ends one's own session (CSRF-guarded)"),
    "re-survey score page": Entry("GET", "/r/{token}", page("/r/forged"),
                                  (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "re-survey answer": Entry("POST", "/r/{token}",
                              public_form("/r/forged", {"score": "7", "comment": "Beter"}),
                              (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "feedback-call page": Entry("GET", "/f/{token}", page("/f/forged"),
                                (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "ask for a feedback call": Entry("POST", "/f/{token}",
                                     public_form("/f/forged", {"phone": "0612345678"}),
                                     (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "candidate score page": Entry("GET", "/c/{token}", page("/c/forged"),
                                  (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "candidate answer": Entry("POST", "/c/{token}",
                              public_form("/c/forged", {"score": "3", "comment": "Stil"}),
                              (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "callback booking page": Entry("GET", "/b/{token}", page("/b/forged"),
                                   (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "book the callback": Entry("POST", "/b/{token}",
                               public_form("/b/forged", {"slot": "2026-12-08T09:00Z"}),
                               (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "unsubscribe page": Entry("GET", "/u/{token}", page("/u/forged"),
                              (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "unsubscribe": Entry("POST", "/u/{token}",
                         public_form("/u/forged", {"List-Unsubscribe": "One-Click"}),
                         (400, 400, 400, 400, 400, 400), public=SIGNED_LINK),
    "employee conversation": Entry("GET", "/e/{token}", page("/e/{conversation}"),
                                   (200, 200, 200, 200, 200, 200), team="people",
                                   public=SIGNED_LINK),
    "employee writes": Entry("POST", "/e/{token}",
                             public_form("/e/{conversation}", _employee_writes),
                             (303, 303, 303, 303, 303, 303), team="people",
                             public=SIGNED_LINK),
    "favicon": Entry("GET", "/favicon.ico", page("/favicon.ico"), (200,) * 6,
                     public="the site's icon: an image of our own, no data"),
    "health": Entry("GET", "/health", after_first_poll(page("/health")), (200,) * 6,
                    public="for load balancers: up or not, no data"),
    "ready": Entry("GET", "/ready", after_first_poll(page("/ready")), (200,) * 6,
                   public="for orchestrators: ready or not, no data"),
    # Prometheus: the metrics token or the admin token; a member's own token is not enough.
    "metrics": Entry("GET", "/metrics", api("GET", "/metrics"), (401, 401, 401, 401, 401, 200)),
    "API docs": Entry("GET", "/docs", page("/docs"), (200,) * 6, public=DOCS),
    "API docs sign-in redirect": Entry("GET", "/docs/oauth2-redirect",
                                       page("/docs/oauth2-redirect"), (200,) * 6, public=DOCS),
    "ReDoc": Entry("GET", "/redoc", page("/redoc"), (200,) * 6, public=DOCS),
    "OpenAPI schema": Entry("GET", "/openapi.json", page("/openapi.json"), (200,) * 6,
                            public=DOCS),
    "Swagger UI files": Entry("MOUNT", "/static-offline-docs",
                              page("/static-offline-docs/swagger-ui.css"), (200,) * 6,
                              public=DOCS),
}


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers; a mounted folder is ("MOUNT", path)."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        methods = route.methods
        if not methods:
            found.add(("MOUNT", str(route.path)))
            continue
        found.update((m, str(route.path)) for m in methods if not (m == "HEAD" and "GET"
                                                                   in methods))
    return found


def _world(live: Kringloop, tmp_path: Path, team: str) -> World:
    outbox = tmp_path / "outbox"
    outbox.mkdir(exist_ok=True)
    (outbox / MAIL).write_text(
        "From: loop@kringloop.local\nTo: anna@example.nl\nSubject: Hallo\n"
        "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n<p>Hallo Anna</p>\n")
    beyond_loopback = live.settings.model_copy(update={"web_host": "0.0.0.0"})
    app = create_app(Services(settings=beyond_loopback, org=live.org, engine=live.engine,
                              temporal=live.env.client, outbox=outbox))
    member, lead = PEOPLE[team]
    return World(live=live, app=app, team=team, emails={
        "other team": OTHER_TEAM, "team member": member, "team lead": lead,
        "recruiter": RECRUITER})


COVERED = {(entry.method, entry.path) for entry in ROUTES.values()}


def test_every_route_is_in_the_matrix_or_public_for_a_reason(
    live: Kringloop, tmp_path: Path,
) -> None:
    app_routes = _app_routes(_world(live, tmp_path, "zakelijk").app)

    missing = sorted(app_routes - COVERED)
    assert not missing, ("routes without an entry in ROUTES: give each the answers per role, "
                         f"or mark it public with the reason why: {missing}")
    assert not sorted(COVERED - app_routes), "entries for routes the app no longer has"
    assert all(entry.public.strip() for entry in ROUTES.values() if entry.public)


def test_a_route_added_without_an_entry_is_noticed(live: Kringloop, tmp_path: Path) -> None:
    app = _world(live, tmp_path, "zakelijk").app
    router = APIRouter(prefix="/api/cases")

    @router.post("/{case_id}/escalate")
    async def escalate(case_id: str) -> None: ...

    app.include_router(router)

    assert _app_routes(app) - COVERED == {("POST", "/api/cases/{case_id}/escalate")}


def says_why(answer: httpx.Response) -> None:
    """A refused API call answers in JSON: a message, and the field it is about (or null); a
    missing or wrong token also names the scheme to use."""
    assert answer.headers["content-type"].startswith("application/json"), answer.text[:300]
    refusal = answer.json()
    assert isinstance(refusal.get("message"), str) and refusal["message"], refusal
    assert "field" in refusal, refusal
    if answer.status_code == 401:
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("route", ROUTES)
async def test_authorization_matrix(live: Kringloop, tmp_path: Path, route: str) -> None:
    entry = ROUTES[route]
    world = _world(live, tmp_path, entry.team)
    answers = {who: await entry.call(world, who) for who in WHO}
    seen = {who: answer.status_code for who, answer in answers.items()}

    assert seen == dict(zip(WHO, entry.expected, strict=True))
    if entry.path.startswith("/api/"):
        for answer in answers.values():
            if answer.status_code >= 400:
                says_why(answer)
    for who, case_id in world.used.items():
        if who == "anonymous" or seen[who] in (401, 403, 404):
            if case_id != world.shared.get("case"):  # a shared case has others' steps
                kinds = {kind for kind, _ in live.timeline(case_id)}
                assert not TRACES & kinds, f"{who}'s refused call left {TRACES & kinds}"


async def test_a_revoked_or_forged_token_is_refused(live: Kringloop) -> None:
    from kringloop.security.credentials import revoke_api_token

    member = live.org.team("zakelijk").members[1].email
    with session_for(live.engine) as session:
        token_id, secret = create_api_token(session=session, email=member)
    assert (await live.api.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
            ).status_code == 200
    with session_for(live.engine) as session:
        assert revoke_api_token(session=session, token_id=token_id)
    for forged in (secret, secret[:-1] + "x", "kl_deadbeef_nothing"):
        answer = await live.api.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401
        says_why(answer)


async def test_a_member_queue_holds_only_their_own_cases(live: Kringloop, tmp_path: Path
                                                        ) -> None:
    world = _world(live, tmp_path, "zakelijk")
    client, headers = world.api("team member")
    async with client:
        me = (await client.get("/api/me", headers=headers)).json()["email"]
    case_ids = [await world.new_case() for _ in range(4)]
    if (await live.case(case_ids[0]))["assignee"]["email"] != me:
        await live.act(case_ids[0], "reassign", {"member": me})
    owners: dict[str, Any] = {c: (await live.case(c))["assignee"]["email"] for c in case_ids}
    assert me in owners.values() and len(set(owners.values())) > 1
    client, headers = world.api("team member")
    async with client:
        queue = (await client.get("/api/queue", headers=headers)).json()
    assert {item["case_id"] for item in queue["items"]} == {
        c for c, owner in owners.items() if owner == me}


async def test_the_api_says_why_even_where_no_route_answers(live: Kringloop) -> None:
    nowhere = await live.api.get("/api/nothing-here", headers=ADMIN)
    wrong_method = await live.api.delete("/api/me", headers=ADMIN)
    asking_json = await live.api.get("/nothing-here", headers={"Accept": "application/json"})
    browsing = await live.api.get("/nothing-here", headers={"Accept": "text/html,*/*"})

    assert (nowhere.status_code, nowhere.json()) == (404, {"message": "Not Found",
                                                           "field": None})
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET"
    says_why(wrong_method)
    assert (asking_json.status_code, asking_json.json()["field"]) == (404, None)
    assert (browsing.status_code, browsing.json()) == (404, {"detail": "Not Found"})  # as before


# Every form of the pages (the JSON API reads no cookie, so needs no CSRF token), found from the
# matrix: a new form route is in it (test_every_route_is_in_the_matrix_...), so it is here too.
# A form behind a signed link carries that link's own form token instead (test_signed_links).
FORMS = [name for name, entry in ROUTES.items() if entry.method == "POST"
         and not entry.path.startswith("/api/") and entry.public != SIGNED_LINK]


def entitled(entry: Entry) -> str:
    """The first signed-in caller whom the route does not refuse for want of rights."""
    return next(who for who, status in zip(WHO, entry.expected, strict=True)
                if who != "anonymous" and status not in (403, 404))


@pytest.mark.parametrize("route", FORMS)
async def test_a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    live: Kringloop, tmp_path: Path, route: str,
) -> None:
    entry = ROUTES[route]
    world = _world(live, tmp_path, entry.team)
    who = entitled(entry)
    person = await world.browser(who)
    session_token = await person.token("/queue")
    mails = len(live.smtp.to(world.email(who), "sign_in"))
    cases: set[str] = set()

    for forged in ("", "guessed", await Browser(world.app).token("/login")):  # last: another's
        world.forged_csrf = forged
        answer = await entry.call(world, who)
        cases.update(world.used.values())
        assert answer.status_code == 403, (forged, answer.status_code, answer.text[:300])

    # What a form may change: the session (sign in, sign out), a sign-in mail, a case's
    # timeline, a rejection's status. None of it has.
    assert (await person.get("/queue")).status_code == 200
    assert await person.token("/queue") == session_token
    assert len(live.smtp.to(world.email(who), "sign_in")) == mails
    for case_id in cases:
        assert not TRACES & {kind for kind, _ in live.timeline(case_id)}, case_id
    with session_for(live.engine) as session:
        assert not session.exec(select(Rejection).where(Rejection.status == "cancelled")).all()
    # With the session's own token, the same caller gets the answer the matrix gives them.
    world.forged_csrf = None
    assert (await entry.call(world, who)).status_code == entry.expected[WHO.index(who)]
