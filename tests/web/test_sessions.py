"""The session a member signs in with: its cookie out of scripts' reach, kept off cross-site
posts, signed so that nobody can write one, and holding nothing personal; the session itself
kept on the server, so that signing out, a new password or a change in the organisation file
ends it at once, for every copy of the cookie."""

from __future__ import annotations

import asyncio
import json
from base64 import b64decode, b64encode
from collections.abc import Callable
from functools import partial
from http.cookies import Morsel, SimpleCookie
from pathlib import Path

import httpx
import pytest
from itsdangerous import TimestampSigner

from kringloop.database import session_for
from kringloop.org.organisation import load_organisation
from kringloop.org.reload import OrganisationFile
from kringloop.security.credentials import set_password
from kringloop.services import Services
from kringloop.settings import DEFAULT_ORG_FILE
from kringloop.web.app import create_app, use_organisation
from kringloop.web.deps import SESSION_LIFETIME
from tests.support.kringloop import Kringloop
from tests.support.people import BRAM, ESTHER, INGRID, PRIYA
from tests.support.web import Browser, browser, sign_in_link, signed_in

COOKIE = "kringloop_session"


def session_cookie(answer: httpx.Response) -> Morsel[str]:
    """The session cookie the answer sets, with its attributes."""
    [header] = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    return SimpleCookie(header)[COOKIE]


async def with_cookie(live: Kringloop, value: str) -> httpx.Response:
    """The queue, asked for by a browser that sends `value` as its session cookie."""
    return await browser(live).client.get("/queue", headers={"Cookie": f"{COOKIE}={value}"})


async def test_the_cookie_set_at_sign_in_is_http_only_same_site_and_for_the_whole_site(
    live: Kringloop,
) -> None:
    bram = browser(live)
    await bram.submit("/login", "/login/link", {"email": BRAM})

    answer = await bram.follow_sign_in_link(await sign_in_link(live, BRAM))

    assert (answer.status_code, answer.headers["location"]) == (303, "/queue")
    cookie = session_cookie(answer)
    assert cookie["httponly"] is True
    assert str(cookie["samesite"]).lower() in ("lax", "strict")
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(int(SESSION_LIFETIME.total_seconds()))
    assert not cookie["secure"]  # plain http here: a Secure cookie would never come back


async def test_on_an_https_site_the_cookie_is_only_sent_over_https(live: Kringloop) -> None:
    https = live.settings.model_copy(update={"public_url": "https://kringloop.test"})
    visitor = Browser(create_app(Services(settings=https, org=live.org, engine=live.engine,
                                          temporal=live.env.client)))

    answer = await visitor.get("/login")  # the sign-in form's CSRF token starts the session

    assert session_cookie(answer)["secure"] is True


def _payload_swapped(value: str) -> str:
    """Another session's secret under Bram's signature."""
    _, timestamp, signature = value.split(".")
    return ".".join([b64encode(json.dumps({"sid": "another-session"}).encode()).decode(),
                     timestamp, signature])


def _signature_altered(value: str) -> str:
    # Its first character: the last one's low bits are base64 padding, which decoding ignores.
    payload, timestamp, signature = value.split(".")
    first = "A" if signature[0] != "A" else "g"
    return ".".join([payload, timestamp, first + signature[1:]])


def _signed_with_another_key(value: str) -> str:
    payload = b64encode(json.dumps({"sid": "made-up"}).encode())
    return TimestampSigner("not-our-signing-key").sign(payload).decode()


@pytest.mark.parametrize("tamper", [_payload_swapped, _signature_altered,
                                    _signed_with_another_key])
async def test_a_tampered_session_cookie_is_ignored_and_the_visitor_signs_in(
    live: Kringloop, tamper: Callable[[str], str],
) -> None:
    bram = await signed_in(live, BRAM)
    value = bram.client.cookies[COOKIE]
    assert (await with_cookie(live, value)).status_code == 200  # the cookie as it was works

    answer = await with_cookie(live, tamper(value))

    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=/queue")


async def test_signing_out_clears_the_cookie(live: Kringloop) -> None:
    bram = await signed_in(live, BRAM)

    answer = await bram.submit("/queue", "/logout", {})

    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    cleared = session_cookie(answer)
    assert cleared.value == "null" and cleared["expires"].startswith("Thu, 01 Jan 1970")
    assert cleared["path"] == "/"
    assert COOKIE not in bram.client.cookies
    assert (await bram.get("/queue")).status_code == 303


# The organisation file's text for Esther leading Particulieren, and for Noor leading instead.
ESTHER_AS_LEAD = 'email = "esther.mulder@fietsenwinkel.example"\nrole = "lead"'
NOOR_AS_LEAD = 'email = "noor.hendriks@fietsenwinkel.example"\nrole = "lead"'


def new_lead_and_bram_gone(text: str) -> str:
    """Noor leads Particulieren instead of Esther, and Bram has left (with his adoption)."""
    text = text.replace(ESTHER_AS_LEAD, ESTHER_AS_LEAD.replace("lead", "member"))
    text = text.replace('email = "noor.hendriks@fietsenwinkel.example"', NOOR_AS_LEAD)
    bram = ('[[teams.members]]\nname = "Bram de Groot"\nemail = "bram.degroot@fietsenwinkel'
            '.example"\ncapacity = 15\nlanguage = "nl"\n\n')
    adoption = ('[[adopted]]\nrespondent_id = "klant-20417"            # a family that bought '
                'four bikes last spring\nmember = "bram.degroot@fietsenwinkel.example"\n\n')
    assert bram in text and adoption in text
    return text.replace(bram, "").replace(adoption, "")


def readable_cookie(value: str) -> str:
    """What anyone holding the cookie can read: its payload, base64-decoded."""
    payload = value.split(".")[0]
    return b64decode(payload + "=" * (-len(payload) % 4)).decode()


async def test_the_cookie_holds_no_name_or_address_only_a_random_session_secret(
    live: Kringloop,
) -> None:
    bram = await signed_in(live, BRAM)

    readable = json.loads(readable_cookie(bram.client.cookies[COOKIE]))

    assert set(readable) == {"sid", "csrf"}
    assert "bram" not in json.dumps(readable).lower() and "@" not in json.dumps(readable)


async def test_a_copied_cookie_stops_working_when_its_owner_signs_out(live: Kringloop) -> None:
    bram = await signed_in(live, BRAM)
    copied = bram.client.cookies[COOKIE]
    assert (await with_cookie(live, copied)).status_code == 200

    await bram.submit("/queue", "/logout", {})

    assert (await with_cookie(live, copied)).headers["location"] == "/login?next=/queue"


async def test_a_new_password_signs_out_every_browser_of_that_person(live: Kringloop) -> None:
    bram, elsewhere = await signed_in(live, BRAM), await signed_in(live, BRAM)
    ingrid = await signed_in(live, INGRID)

    with session_for(live.engine) as session:
        set_password(session=session, email=BRAM, password="een-nieuw-wachtwoord")

    assert (await bram.get("/queue")).status_code == 303
    assert (await elsewhere.get("/queue")).status_code == 303
    assert (await ingrid.get("/queue")).status_code == 200, "only Bram's sessions end"


async def test_leaving_or_changing_role_in_the_reloaded_organisation_file_ends_the_session(
    live: Kringloop, tmp_path: Path,
) -> None:
    path = tmp_path / "org.toml"
    text = DEFAULT_ORG_FILE.read_text()
    path.write_text(text)
    org_file = OrganisationFile(path, load_organisation(path))
    app = create_app(Services(settings=live.settings.model_copy(update={"org_file": path}),
                              org=org_file.current, engine=live.engine,
                              temporal=live.env.client))
    org_file.subscribe(partial(use_organisation, app))
    stop = asyncio.Event()
    watching = asyncio.create_task(org_file.watch(stop, every_s=0.05))
    people = {}
    for email in (BRAM, ESTHER, PRIYA):
        people[email] = Browser(app)
        with session_for(live.engine) as session:
            set_password(session=session, email=email, password="fietsbel-rinkelt-2x")
        await people[email].submit("/login", "/login/password",
                                   {"email": email, "password": "fietsbel-rinkelt-2x"})
        assert (await people[email].get("/queue")).status_code == 200
    try:
        # Esther is no longer lead, Bram has left: the file changes, nobody restarts anything.
        path.write_text(new_lead_and_bram_gone(text))
        for _ in range(100):
            if (await people[BRAM].get("/queue")).status_code == 303:
                break
            await asyncio.sleep(0.05)
        answers = {email: await browser.get("/queue") for email, browser in people.items()}
    finally:
        stop.set()
        await watching

    assert answers[BRAM].status_code == 303, "Bram left"
    assert answers[ESTHER].status_code == 303, "Esther signed in as lead, and is lead no more"
    assert answers[PRIYA].status_code == 200, "Priya is as she was"
    assert org_file.current.member(ESTHER).role == "member"
