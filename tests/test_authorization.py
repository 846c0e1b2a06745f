"""Who may do what: every workspace route × {anonymous, member A, member B, lead A, admin},
against a case of team A. Outside your scope a case is 404, never 403: no existence leak."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from kringloop.credentials import create_api_token
from kringloop.database import session_for
from tests.conftest import ADMIN, Kringloop

TEAM_A, TEAM_B = "zakelijk", "particulier"
WHO = ("anonymous", "member A", "member B", "lead A", "admin")

Route = Callable[[httpx.AsyncClient, str, dict[str, str], Kringloop], Awaitable[httpx.Response]]


def _colleague(live: Kringloop, assignee: str) -> str:
    team = live.org.team(TEAM_A)
    return next(m.email for m in team.members if m.email != assignee and m.role != "lead")


ROUTES: dict[str, tuple[Route, tuple[int, int, int, int, int]]] = {
    "GET case": (lambda api, c, h, _: api.get(f"/api/cases/{c}", headers=h),
                 (401, 200, 404, 200, 200)),
    "log callback attempt": (
        lambda api, c, h, _: api.post(f"/api/cases/{c}/callback-attempts",
                                      json={"outcome": "no_answer"}, headers=h),
        (401, 200, 404, 200, 200)),
    "add note": (lambda api, c, h, _: api.post(f"/api/cases/{c}/notes", json={"text": "hoi"},
                                               headers=h),
                 (401, 200, 404, 200, 200)),
    "reassign": (lambda api, c, h, live: reassign(api, c, h, live), (401, 403, 404, 200, 200)),
    "resolve": (lambda api, c, h, _: api.post(f"/api/cases/{c}/resolve", headers=h, json={
        "root_cause": "communication", "action_taken": "Gebeld", "message": "Opgelost."}),
                (401, 200, 404, 200, 200)),
    "my queue": (lambda api, c, h, _: api.get("/api/queue", headers=h),
                 (401, 200, 200, 200, 200)),
    "team A board": (lambda api, c, h, _: api.get(f"/api/teams/{TEAM_A}/board", headers=h),
                     (401, 403, 404, 200, 200)),
    "me": (lambda api, c, h, _: api.get("/api/me", headers=h), (401, 200, 200, 200, 200)),
}


async def reassign(api: httpx.AsyncClient, case_id: str, headers: dict[str, str],
                   live: Kringloop) -> httpx.Response:
    current = await live.case(case_id)
    return await api.post(f"/api/cases/{case_id}/reassign", headers=headers,
                          json={"member": _colleague(live, current["assignee"]["email"])})


def tokens(live: Kringloop) -> dict[str, dict[str, str]]:
    team_a, team_b = live.org.team(TEAM_A), live.org.team(TEAM_B)
    people = {
        "member A": next(m.email for m in team_a.members if m.role == "member"),
        "member B": next(m.email for m in team_b.members if m.role == "member"),
        "lead A": team_a.lead.email,
    }
    headers: dict[str, dict[str, str]] = {"anonymous": {}, "admin": ADMIN}
    with session_for(live.engine) as session:
        for who, email in people.items():
            _, secret = create_api_token(session=session, email=email)
            headers[who] = {"Authorization": f"Bearer {secret}"}
    return headers


async def case_of_team_a(live: Kringloop, response_id: str) -> str:
    posted = await live.post_response(response_id, 3, respondent={
        "name": "Bedrijf BV", "email": "inkoop@bedrijf.example", "segment": "zakelijk"})
    case = await live.case_when(
        posted["case_id"], lambda c: [e["kind"] for e in c["timeline"]].count("email_sent") == 2)
    assert case["team"] == TEAM_A
    return str(case["case_id"])


@pytest.mark.parametrize("route", ROUTES)
async def test_authorization_matrix(live: Kringloop, route: str) -> None:
    call, expected = ROUTES[route]
    headers = tokens(live)
    seen: dict[str, int] = {}
    for who in WHO:
        # A fresh case per caller: an action one caller took must not decide the next one's.
        case_id = await case_of_team_a(live, f"matrix-{route.replace(' ', '-')}-{WHO.index(who)}")
        answer = await call(live.api, case_id, headers[who], live)
        seen[who] = answer.status_code
    assert seen == dict(zip(WHO, expected, strict=True))


async def test_a_revoked_or_forged_token_is_refused(live: Kringloop) -> None:
    from kringloop.credentials import revoke_api_token

    member = live.org.team(TEAM_A).members[1].email
    with session_for(live.engine) as session:
        token_id, secret = create_api_token(session=session, email=member)
    assert (await live.api.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
            ).status_code == 200
    with session_for(live.engine) as session:
        assert revoke_api_token(session=session, token_id=token_id)
    for forged in (secret, secret[:-1] + "x", "kl_deadbeef_nothing"):
        answer = await live.api.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401


async def test_a_member_queue_holds_only_their_own_cases(live: Kringloop) -> None:
    headers = tokens(live)
    me = (await live.api.get("/api/me", headers=headers["member A"])).json()["email"]
    case_ids = [await case_of_team_a(live, f"queue-{i}") for i in range(4)]
    if (await live.case(case_ids[0]))["assignee"]["email"] != me:
        await live.act(case_ids[0], "reassign", {"member": me})
    owners: dict[str, Any] = {c: (await live.case(c))["assignee"]["email"] for c in case_ids}
    assert me in owners.values() and len(set(owners.values())) > 1
    queue = (await live.api.get("/api/queue", headers=headers["member A"])).json()
    assert {item["case_id"] for item in queue["items"]} == {
        c for c, owner in owners.items() if owner == me}


# --- the same matrix for the pages (session cookie + CSRF token) --------------------------------

PageCall = Callable[[Any, str, Kringloop], Awaitable[httpx.Response]]


async def _post(person: Any, path: str, fields: dict[str, str]) -> httpx.Response:
    """Post a form with the CSRF token of the person's session (anonymous: none)."""
    try:
        token = await person.token("/queue")
    except AssertionError:
        token = ""
    return await person.client.post(path, data={**fields, "csrf_token": token})


async def _page_reassign(person: Any, case_id: str, live: Kringloop) -> httpx.Response:
    current = await live.case(case_id)
    return await _post(person, f"/cases/{case_id}/reassign",
                       {"member": _colleague(live, current["assignee"]["email"])})


PAGES: dict[str, tuple[PageCall, tuple[int, int, int, int, int]]] = {
    "my queue page": (lambda p, c, _: p.client.get("/queue"), (303, 200, 200, 200, 200)),
    "case page": (lambda p, c, _: p.client.get(f"/cases/{c}"), (303, 200, 404, 200, 200)),
    "closing preview": (lambda p, c, _: p.client.get(
        f"/cases/{c}/closing-preview", params={"action_taken": "x", "message": "y"}),
        (303, 200, 404, 200, 200)),
    "note form": (lambda p, c, _: _post(p, f"/cases/{c}/notes", {"text": "hoi"}),
                  (303, 303, 404, 303, 303)),
    "callback form": (lambda p, c, _: _post(p, f"/cases/{c}/callback-attempts",
                                            {"outcome": "reached", "note": ""}),
                      (303, 303, 404, 303, 303)),
    "reassign form": (_page_reassign, (303, 403, 404, 303, 303)),
    "resolve form": (lambda p, c, _: _post(p, f"/cases/{c}/resolve", {
        "root_cause": "communication", "action_taken": "Gebeld", "message": "Opgelost."}),
        (303, 303, 404, 303, 303)),
    "team A board page": (lambda p, c, _: p.client.get(f"/teams/{TEAM_A}"),
                          (303, 403, 404, 200, 200)),
}


@pytest.mark.parametrize("route", PAGES)
async def test_authorization_matrix_for_pages(live: Kringloop, route: str) -> None:
    from tests.test_pages import INGRID, browser, signed_in

    team_a, team_b = live.org.team(TEAM_A), live.org.team(TEAM_B)
    emails = {"member A": next(m.email for m in team_a.members if m.role == "member"),
              "member B": next(m.email for m in team_b.members if m.role == "member"),
              "lead A": team_a.lead.email, "admin": INGRID}
    people: dict[str, Any] = {"anonymous": browser(live)}
    for who, email in emails.items():
        people[who] = await signed_in(live, email)
    call, expected = PAGES[route]
    seen: dict[str, int] = {}
    for who in WHO:
        case_id = await case_of_team_a(live, f"pages-{route.replace(' ', '-')}-{WHO.index(who)}")
        seen[who] = (await call(people[who], case_id, live)).status_code
    assert seen == dict(zip(WHO, expected, strict=True))
    # A refused or anonymous attempt left no trace on the case's timeline.
    for who in ("anonymous", "member B"):
        case_id = f"case-pages-{route.replace(' ', '-')}-{WHO.index(who)}"
        kinds = [e["kind"] for e in (await live.case(case_id))["timeline"]]
        assert not {"note", "callback_attempt", "resolution", "reassigned"} & set(kinds)
