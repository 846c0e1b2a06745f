"""A survey tool gone wrong, or an attacker, posts to a source's own webhook
(POST /api/hooks/NAME): whatever a correctly signed delivery holds, the answer is a clear one
(never a 5xx) and one delivery row says what became of it; a delivery whose signature does not
count, or one to a source that does not exist, leaves no trace; one that cannot be mapped is
kept exactly as it came, without the credentials that came with it, and what went wrong with
it reaches the admin's page as text, not as HTML."""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_from_bytes, urlencode

import httpx
import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import select

from kringloop.database import session_for
from kringloop.org.organisation import Organisation
from kringloop.sources.catalogue import tool_for
from kringloop.sources.mapping import response_from
from kringloop.sources.models import HookDelivery
from kringloop.sources.reading import Answers, Delivery, FetchLater
from tests.hostile.strategies import MARKUP, containing, hostile_text, json_values, markup
from tests.support.pages import assert_inert
from tests.support.people import INGRID
from tests.support.survey_tools import SECRET_OF, SECRETS, SOURCE_OF, signed
from tests.support.web import RowCounts, json_bytes, magic_link, press_sign_in, refusal_of

HOOKS = "/api/hooks/"
KINDS = list(SOURCE_OF)
EXAMPLES = Path(__file__).parent.parent / "sources" / "examples"
EXAMPLE_OF = {"typeform": "typeform_form_response.json", "tally": "tally_form_response.json",
              "formbricks": "formbricks_response_finished.json",
              "delighted": "delighted_survey_response_created.json",
              "surveymonkey": "surveymonkey_response_completed.json",
              "qualtrics": "qualtrics_response_notification.txt"}
# Where each documented example holds its score: set to a promoter's, so that an example left
# whole is taken in without a case (the web app here has no Temporal to open one).
SCORE_AT: dict[str, tuple[str | int, ...]] = {
    "typeform": ("form_response", "answers", 0, "number"),
    "tally": ("data", "fields", 4, "value"),
    "formbricks": ("data", "data", "aanbeveling"),
    "delighted": ("event_data", "score"),
}
COMPLETED_TOPIC = "fietsenwinkel.surveyengine.completedResponse.SV_3fJ8kLm2Qp9Rt4V"
# What a correctly signed delivery may be answered: taken (201), fetching (202), a repeat, an
# update, an unsubscribe or an ignored event (200), unmapped (422); 401 when what was signed is
# not what the tool signs (a Formbricks body that is not UTF-8, a Qualtrics field given twice).
CLEAR_ANSWERS = {200, 201, 202, 401, 422}
# The headers that carry each tool's signature, the signature first (Qualtrics signs in the
# form, not in a header).
SIGNATURE_HEADERS = {"typeform": ("typeform-signature",), "tally": ("tally-signature",),
                     "formbricks": ("webhook-signature", "webhook-id", "webhook-timestamp"),
                     "delighted": ("x-delighted-webhook-signature",),
                     "surveymonkey": ("sm-signature", "sm-apikey")}
# What an HTTP header can carry: printable ASCII with something in it.
header_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                      max_size=80)
# What a tool's JSON may carry besides: a lone surrogate (escaped in the JSON), which no text
# column can store.
tool_text = st.one_of(hostile_text(), containing(["\ud800", "\udfff"], hostile_text()))
tool_json = json_values(text=tool_text)
# Whether a delivery would start a workflow (the fixture of that name).
NeedsTemporal = Callable[[str, bytes, dict[str, str]], bool]


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each example source's signing secret, where the organisation file says it is."""
    for variable, secret in SECRETS.items():
        monkeypatch.setenv(variable, secret)


@pytest.fixture
def needs_temporal(org: Organisation) -> NeedsTemporal:
    """Whether a delivery would start a workflow: a case for a detractor's answers, or a fetch
    of a notice's answers. The web app here has no Temporal (the sources' own tests take those
    paths with it), so such deliveries are passed over; whatever else the tool's reader makes
    of a delivery, a crash included, is left for the route to show."""

    def needs(kind: str, body: bytes, headers: dict[str, str]) -> bool:
        source = org.source(SOURCE_OF[kind])
        assert source is not None
        tool = tool_for(source)
        try:
            reading = tool.read(Delivery(body=body, headers=headers))
            if isinstance(reading, FetchLater):
                return True
            if not isinstance(reading, Answers):
                return False
            payload = response_from(reading, source=source, defaults=tool.default_fields)
        except Exception:  # unmapped, unreadable or worse: the route's to answer
            return False
        return payload.score <= org.programs[payload.program].case_threshold

    return needs


# --- deliveries as the tools send them, and spoilt ----------------------------------------------

def node_at(payload: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        payload = payload[key]
    return payload


def example(kind: str) -> Any:
    """The tool's documented example delivery, parsed (Qualtrics': its form, MSG parsed), with
    a promoter's score where it carries one."""
    text = (EXAMPLES / EXAMPLE_OF[kind]).read_text().strip()
    if kind == "qualtrics":
        fields = dict(parse_qsl(text))
        return {"Topic": fields["Topic"], "MSG": json.loads(fields["MSG"])}
    payload = json.loads(text)
    if kind in SCORE_AT:
        node_at(payload, SCORE_AT[kind][:-1])[SCORE_AT[kind][-1]] = 10
    return payload


def body_of(kind: str, payload: Any) -> bytes:
    """The body as the tool would post it: JSON, or Qualtrics' form with MSG as JSON."""
    if kind != "qualtrics":
        return json_bytes(payload)
    fields = payload if isinstance(payload, dict) else {"MSG": payload}
    # A lone surrogate in the Topic goes as the bytes Python would write for it: not UTF-8.
    return urlencode({name: value if isinstance(value, str) else json.dumps(value)
                      for name, value in fields.items()}, errors="surrogatepass").encode()


def qualtrics_form(message: bytes) -> bytes:
    """A notice of a completed response whose MSG is any bytes at all, percent-encoded."""
    return f"Topic={quote(COMPLETED_TOPIC)}&MSG={quote_from_bytes(message)}".encode()


def signed_as(kind: str, body: bytes, **headers: str) -> tuple[bytes, dict[str, str]]:
    """`body` and headers as the tool posts them, signed with its source's secret."""
    sent, signature = signed(kind, body)
    return sent, {**signature, **headers}


def paths_in(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path to every value inside `node`, its objects' keys and its lists' places."""
    inside = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else []
    found = []
    for key, value in inside:
        found += [(*at, key), *paths_in(value, (*at, key))]
    return found


a_few_texts = st.lists(tool_text, min_size=1, max_size=3)


@st.composite
def spoilt(draw: Any, kind: str) -> Any:
    """The tool's example with keys deleted, values of the wrong type, and hostile text in one,
    some or all of its strings."""
    payload = example(kind)
    for _ in range(draw(st.integers(1, 4))):
        paths = paths_in(payload)
        if not paths:
            break
        how = draw(st.sampled_from(["delete", "retype", "hostile"]))
        if how == "hostile":
            texts = [path for path in paths if isinstance(node_at(payload, path), str)]
            chosen = texts if draw(st.booleans()) else \
                draw(st.sets(st.sampled_from(texts), min_size=1)) if texts else []
            # A few hostile texts, dealt out over the chosen strings (one each costs seconds).
            dealt = draw(a_few_texts)
            for n, path in enumerate(chosen):
                node_at(payload, path[:-1])[path[-1]] = dealt[n % len(dealt)]
            continue
        path = draw(st.sampled_from(paths))
        if how == "delete":
            del node_at(payload, path[:-1])[path[-1]]
        else:
            node_at(payload, path[:-1])[path[-1]] = draw(tool_json)
    return payload


async def answer_to_signed(web: httpx.AsyncClient, rows: RowCounts,
                           needs_temporal: NeedsTemporal | None, kind: str, body: bytes
                           ) -> httpx.Response:
    """Post `body` to the kind's source, signed as the tool signs, and check what a correctly
    signed delivery must get: a clear answer, and one delivery row saying what became of it
    (a new response only when one was taken); a refused signature writes nothing. Generated
    deliveries that would need Temporal are passed over (`needs_temporal`)."""
    sent, headers = signed_as(kind, body)
    if needs_temporal is not None:
        assume(not needs_temporal(kind, sent, headers))
    before = rows()

    answer = await web.post(HOOKS + SOURCE_OF[kind], content=sent, headers=headers)

    after = rows()
    assert answer.status_code in CLEAR_ANSWERS, f"{answer.status_code}: {answer.text[:300]}"
    if needs_temporal is not None:  # what became of generated deliveries, for the statistics
        event(f"{kind}: {answer.status_code} {answer.json().get('status', '')}")
    if answer.status_code == 401:
        assert refusal_of(answer)["field"] == "signature", answer.text
        assert after == before
        return answer
    if answer.status_code == 422:
        field = refusal_of(answer)["field"]
        assert isinstance(field, str) and field, answer.text
    assert after["hook_delivery"] == before["hook_delivery"] + 1, answer.text
    assert after["survey_response"] == before["survey_response"] + (answer.status_code == 201)
    return answer


# --- whatever a correctly signed delivery holds -------------------------------------------------

@given(kind=st.sampled_from(KINDS), raw=st.binary(max_size=2_000))
async def test_any_bytes_correctly_signed_get_a_clear_answer(
        web: httpx.AsyncClient, rows: RowCounts, needs_temporal: NeedsTemporal, kind: str,
        raw: bytes) -> None:
    # Qualtrics signs MSG, a field of its form: the bytes go there.
    body = qualtrics_form(raw) if kind == "qualtrics" else raw

    await answer_to_signed(web, rows, needs_temporal, kind, body)


@given(kind=st.sampled_from(KINDS), value=tool_json,
       topic=st.one_of(st.just(COMPLETED_TOPIC), tool_text))
async def test_any_json_correctly_signed_gets_a_clear_answer(
        web: httpx.AsyncClient, rows: RowCounts, needs_temporal: NeedsTemporal, kind: str,
        value: Any, topic: str) -> None:
    payload = {"Topic": topic, "MSG": value} if kind == "qualtrics" else value

    await answer_to_signed(web, rows, needs_temporal, kind, body_of(kind, payload))


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
async def test_a_documented_example_spoilt_and_correctly_signed_gets_a_clear_answer(
        web: httpx.AsyncClient, rows: RowCounts, needs_temporal: NeedsTemporal,
        data: st.DataObject, kind: str) -> None:
    payload = data.draw(spoilt(kind))
    # Qualtrics signs MSG: a notice without one cannot carry the tool's signature.
    assume(kind != "qualtrics" or (isinstance(payload, dict) and "MSG" in payload))

    await answer_to_signed(web, rows, needs_temporal, kind, body_of(kind, payload))


# The small case of each fault the properties found (each once a 500, now mended), as the
# example delivery with these values put in; each is a promoter's, or no response at all, so
# none needs Temporal.
@pytest.mark.parametrize(("kind", "changes"), [
    pytest.param("typeform", {("form_response", "token"): "\ud800"},
                 id="typeform-token-a-lone-surrogate"),
    pytest.param("formbricks", {("data", "id"): "a\udfffz"},
                 id="formbricks-id-a-lone-surrogate"),
    pytest.param("tally", {("data", "fields", 1, "type"): []},
                 id="tally-field-type-a-list"),
    pytest.param("tally", {("data", "fields", 6, "options", 0, "id"): {"id": 1}},
                 id="tally-option-id-an-object"),
    pytest.param("tally", {("data", "fields", 6, "value"): [["7d2e9a4c"]]},
                 id="tally-picked-value-a-list"),
    pytest.param("typeform", {("form_response", "answers", 2): {
        "type": "choices", "choices": {"labels": 5}, "field": {"id": "Hn5YdK1fGt6M"}}},
        id="typeform-choice-labels-a-number"),
    pytest.param("delighted", {("event_data", "created_at"): 10**20},
                 id="delighted-created-at-beyond-the-calendar"),
    pytest.param("delighted", {("event_data", "created_at"): -(10**12)},
                 id="delighted-created-at-before-year-one"),
    pytest.param("surveymonkey", {("object_id",): "118052219061\ud800"},
                 id="surveymonkey-object-id-a-lone-surrogate"),
    pytest.param("qualtrics", {("MSG", "ResponseID"): "R_1l9mcVuXubb4aGm\udfff"},
                 id="qualtrics-response-id-a-lone-surrogate"),
    pytest.param("delighted", {("event_type",): "unsubscribe.created",
                               ("event_data", "person", "email"): "anna\ud800@example.nl"},
                 id="delighted-unsubscribe-email-a-lone-surrogate"),
])
async def test_a_spoilt_delivery_that_once_crashed_the_route_gets_a_clear_answer(
        web: httpx.AsyncClient, rows: RowCounts, kind: str,
        changes: dict[tuple[Any, ...], Any]) -> None:
    payload = example(kind)
    for path, value in changes.items():
        node_at(payload, path[:-1])[path[-1]] = value

    await answer_to_signed(web, rows, None, kind, body_of(kind, payload))


# Text SQLite stores but PostgreSQL's columns would refuse (too long, NUL).
@pytest.mark.parametrize(("kind", "changes"), [
    pytest.param("typeform", {("form_response", "token"): "x" * 200}, id="typeform-token-long"),
    pytest.param("typeform", {("form_response", "token"): "x\x00y"}, id="typeform-token-nul"),
    pytest.param("delighted", {("event_type",): "unsubscribe.created",
                               ("event_data", "person", "email"): "anna\x00@example.nl"},
                 id="delighted-unsubscribe-email-nul"),
    pytest.param("delighted", {("event_type",): "unsubscribe.created",
                               ("event_data", "person", "email"): "anna@" + "e" * 300},
                 id="delighted-unsubscribe-email-long"),
])
async def test_a_spoilt_delivery_that_once_crashed_postgresql_gets_a_clear_answer(
        web: httpx.AsyncClient, rows: RowCounts, kind: str,
        changes: dict[tuple[Any, ...], Any]) -> None:
    payload = example(kind)
    for path, value in changes.items():
        node_at(payload, path[:-1])[path[-1]] = value

    await answer_to_signed(web, rows, None, kind, body_of(kind, payload))


@pytest.mark.parametrize("kind", KINDS)
async def test_json_nested_beyond_any_parser_correctly_signed_is_kept_unmapped(
        web: httpx.AsyncClient, rows: RowCounts, kind: str) -> None:
    nested = b"[" * 10_000 + b"]" * 10_000
    body = qualtrics_form(nested) if kind == "qualtrics" else nested

    answer = await answer_to_signed(web, rows, None, kind, body)

    assert answer.status_code == 422, answer.text


# --- a signature that does not count ------------------------------------------------------------

@st.composite
def forged(draw: Any, kind: str) -> tuple[bytes, dict[str, str]]:
    """The example delivery with its signature missing, replaced, made with another secret,
    or over a body that was then cut short or changed."""
    body = body_of(kind, example(kind))
    how = draw(st.sampled_from(["missing", "replaced", "other secret", "cut short",
                                "changed"]))
    if how == "other secret":
        return signed(kind, body, secret=draw(other_secret(kind)))
    sent, headers = signed(kind, body)
    if kind == "qualtrics":
        return forged_notice(draw, sent, how), headers
    if how == "missing":
        signature, *beside = SIGNATURE_HEADERS[kind]
        dropped = {signature, *draw(st.sets(st.sampled_from(beside)) if beside else st.just(()))}
        return sent, {name: value for name, value in headers.items() if name not in dropped}
    if how == "replaced":
        name = draw(st.sampled_from(SIGNATURE_HEADERS[kind]))
        return sent, {**headers, name: draw(header_text.filter(lambda v: v != headers[name]))}
    if how == "cut short":
        return sent[:draw(st.integers(0, len(sent) - 1))], headers
    at = draw(st.integers(0, len(sent) - 1))
    changed = sent[at] ^ draw(st.integers(1, 255))
    return sent[:at] + bytes([changed]) + sent[at + 1:], headers


def other_secret(kind: str) -> st.SearchStrategy[str]:
    """A secret of the tool's form that is not the source's."""
    if kind == "formbricks":
        secret = st.binary(min_size=1, max_size=40).map(
            lambda key: "whsec_" + base64.b64encode(key).decode())
    elif kind == "surveymonkey":  # the app's key (sent in Sm-Apikey: ASCII) & its secret
        word = st.text(st.sampled_from(string.ascii_letters + string.digits), min_size=1,
                       max_size=20)
        secret = st.tuples(word, word).map("&".join)
    else:
        secret = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
    return secret.filter(lambda text: text != SECRETS[SECRET_OF[kind]])


def forged_notice(draw: Any, sent: bytes, how: str) -> bytes:
    """A signed Qualtrics notice with its HMAC field missing or replaced, or its MSG (what the
    HMAC covers) cut short or changed; the Topic is not signed, so changing it proves nothing."""
    fields = dict(parse_qsl(sent.decode(), keep_blank_values=True))
    message = fields["MSG"]
    if how == "missing":
        del fields["HMAC"]
    elif how == "replaced":
        fields["HMAC"] = draw(header_text.filter(lambda v: v.lower() != fields["HMAC"]))
    elif how == "cut short":
        fields["MSG"] = message[:draw(st.integers(0, len(message) - 1))]
    else:
        at = draw(st.integers(0, len(message) - 1))
        other = draw(st.characters(blacklist_categories=("Cs",)).filter(
            lambda c: c != message[at]))
        fields["MSG"] = message[:at] + other + message[at + 1:]
    return urlencode(fields).encode()


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
async def test_a_delivery_whose_signature_does_not_count_is_refused_and_leaves_no_trace(
        web: httpx.AsyncClient, rows: RowCounts, data: st.DataObject, kind: str) -> None:
    body, headers = data.draw(forged(kind))
    before = rows()

    answer = await web.post(HOOKS + SOURCE_OF[kind], content=body, headers=headers)

    assert answer.status_code == 401, f"{answer.status_code}: {answer.text[:300]}"
    assert refusal_of(answer)["field"] == "signature", answer.text
    assert rows() == before, "a delivery that is refused must write nothing"


# --- a delivery that cannot be mapped -----------------------------------------------------------

# Where an unmappable example gets a field of the sender's naming (hidden field, property).
BESIDE = {"typeform": ("form_response", "hidden"), "delighted": ("event_data", "person_properties"),
          "formbricks": ("data", "data")}


def unmappable(kind: str, text: str) -> tuple[Any, str]:
    """The example without what its source needs (the score, the ids), `text` put in where
    the error names it, and the field the refusal names."""
    payload = example(kind)
    if kind in SCORE_AT:
        del node_at(payload, SCORE_AT[kind][:-1])[SCORE_AT[kind][-1]]
        if kind == "tally":
            payload["data"]["fields"].append({"key": text, "label": text,
                                              "type": "HIDDEN_FIELDS", "value": text})
        else:
            node_at(payload, BESIDE[kind])[text] = text
        return payload, "score"
    if kind == "surveymonkey":
        payload["resources"] = text
        return payload, "resources"
    payload["MSG"] = text  # Qualtrics: a notice whose MSG is not a JSON object
    return payload, "MSG"


def deliveries(engine: Engine) -> dict[str, HookDelivery]:
    with session_for(engine) as session:
        return {row.id: row for row in session.exec(select(HookDelivery)).all()}


@given(kind=st.sampled_from(KINDS), text=hostile_text(), token=header_text,
       cookie=header_text)
async def test_a_delivery_that_cannot_be_mapped_is_kept_as_it_came_without_credentials(
        web: httpx.AsyncClient, rows: RowCounts, engine: Engine, kind: str, text: str,
        token: str, cookie: str) -> None:
    payload, field = unmappable(kind, text)
    sent, headers = signed_as(kind, body_of(kind, payload), Authorization=f"Bearer {token}",
                              Cookie=f"kringloop_session={cookie}")
    before, kept_before = rows(), deliveries(engine)

    answer = await web.post(HOOKS + SOURCE_OF[kind], content=sent, headers=headers)

    assert answer.status_code == 422, answer.text
    assert refusal_of(answer)["field"].startswith(field), answer.text
    assert rows() == {**before, "hook_delivery": before["hook_delivery"] + 1}
    [kept] = [row for id_, row in deliveries(engine).items() if id_ not in kept_before]
    assert (kept.source, kept.status, kept.body) == (SOURCE_OF[kind], "unmapped", sent)
    assert kept.headers is not None and "content-type" in kept.headers
    assert not {"authorization", "cookie"} & {name.lower() for name in kept.headers}, \
        kept.headers


# --- a source that does not exist ---------------------------------------------------------------

names = st.one_of(
    hostile_text(),
    st.text(min_size=41, max_size=5_000),
    st.sampled_from(["..", "../../etc/passwd", "..\\..\\windows", "%2e%2e%2f", "nps-webshop/..",
                     "nps-webshop/../nps-winkels", "NPS-WEBSHOP", "nps-webshop ", " nps-webshop",
                     "nps-webshop\u200b", "nps_webshop", "nps-webshop.json", "*", "%00",
                     "nps-webshop\x00", "\x00", "a" * 41, "a" * 20_000]),
    st.tuples(st.sampled_from(["", "nps-webshop", "../"]), hostile_text()).map("".join),
)


@given(name=names.filter(bool))
async def test_a_source_that_does_not_exist_is_refused_and_nothing_is_written(
        web: httpx.AsyncClient, rows: RowCounts, name: str) -> None:
    assume(name not in SOURCE_OF.values())
    # Every character escaped, dots too, so that no client tidies the address; the server
    # reads an escaped slash as a slash all the same.
    address = HOOKS + quote(name, safe="").replace(".", "%2E")
    body, headers = signed_as("typeform", body_of("typeform", example("typeform")))
    before = rows()

    answer = await web.post(address, content=body, headers=headers)

    if answer.status_code == 307:  # to the address without its trailing slash: no source
        assert name.endswith("/"), answer.headers
    else:
        assert answer.status_code in (404, 422), f"{answer.status_code}: {answer.text[:300]}"
        refusal_of(answer)
    assert rows() == before


# --- what went wrong, on the admin's page -------------------------------------------------------

@given(name=markup())
async def test_markup_in_an_unmapped_delivery_is_shown_as_text_on_the_sources_page(
        web: httpx.AsyncClient, engine: Engine, name: str) -> None:
    if "kringloop_session" not in web.cookies:  # once: the examples share the browser
        signed_in = await press_sign_in(web, magic_link(engine, INGRID))
        assert signed_in.status_code == 303, signed_in.text[:300]
    payload, _ = unmappable("typeform", name)  # a hidden field named with markup
    sent, headers = signed_as("typeform", body_of("typeform", payload))
    posted = await web.post(HOOKS + SOURCE_OF["typeform"], content=sent, headers=headers)
    assert posted.status_code == 422, posted.text

    page = await web.get("/sources")

    assert page.status_code == 200, page.text[:300]
    assert 'data-status="unmapped"' in page.text and "aanbeveling" in page.text
    assert_inert(page.text, texts=tuple(text for text in MARKUP if text in name))
