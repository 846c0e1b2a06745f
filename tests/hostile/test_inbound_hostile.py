"""Anyone can send mail to the reply address. Whatever bytes arrive, reading them ends in a
reply, an auto-reply, a bounce or a clear refusal (never a crash); what is read carries no
markup that runs, no control characters and no line break in a one-line field; a file's name
never becomes a path; and no forged token, and no stranger quoting our Message-ID, ever puts
an email on a case."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import Engine

from kringloop.database import session_for
from kringloop.inbound.reading import ReadMail, Unfit, read_mail
from kringloop.inbound.service import receive
from kringloop.mail.models import OutboxMessage
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings
from tests.hostile.strategies import MARKUP, hostile_text
from tests.support.inbound import (
    REPLY_ADDRESS,
    gmail_reply,
    html_only_reply,
    quarantined,
    reply_address,
    token_for,
    with_attachments,
)
from tests.support.mail import LIEKE
from tests.support.pages import assert_inert
from tests.support.web import RowCounts

OURS = "<4d1c0e@fietsenwinkel.example>"  # an email of ours on the assigned case
TOKEN_ALPHABET = string.ascii_lowercase + string.digits
ONE_LINE = ("\r", "\n", "\x00")


class NoTemporal:
    """A Temporal client that fails the test if anything tries to tell a case workflow."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError("a forged email reached a case workflow")


def read(raw: bytes, to: str = REPLY_ADDRESS) -> ReadMail | Unfit:
    return read_mail(raw, reply_address=REPLY_ADDRESS, recipients=[to],
                     attachment_max_bytes=4096)


def assert_harmless(read: ReadMail | Unfit) -> None:
    assert isinstance(read, ReadMail | Unfit)
    if isinstance(read, Unfit):
        assert read.reason and not any(c in read.reason for c in ONE_LINE)
        return
    mail = read.mail
    for one_line in (mail.subject, mail.sender or "", mail.message_id, *mail.references):
        assert not any(c in one_line for c in ONE_LINE), one_line
    assert "\x00" not in mail.text and "\x00" not in (mail.html or "")
    assert_inert(mail.html or "", texts=tuple(MARKUP))
    assert "<img" not in (mail.html or ""), "a remote image tells the sender who read it"
    for file in read.files:
        assert "/" not in file.filename and "\\" not in file.filename
        assert not any(c in file.filename for c in ONE_LINE)


@given(raw=st.binary(max_size=3_000))
def test_any_bytes_are_read_or_refused_never_a_crash(raw: bytes) -> None:
    assert_harmless(read(raw))


@given(data=st.data())
def test_a_reply_spoilt_anywhere_is_read_or_refused_never_a_crash(data: st.DataObject) -> None:
    raw = gmail_reply("k3v9q2x7m1p8w4z6r5t0", in_reply_to=OURS)
    at = data.draw(st.integers(0, len(raw)))
    cut = data.draw(st.integers(0, 40))
    spoilt = data.draw(st.one_of(st.binary(max_size=60),
                                 hostile_text().map(lambda t: t.encode("utf-8", "replace"))))
    assert_harmless(read(raw[:at] + spoilt + raw[at + cut:]))


@given(words=hostile_text(), html=st.lists(st.sampled_from(MARKUP), max_size=4).map("".join),
       name=hostile_text())
def test_markup_and_odd_names_come_out_inert(words: str, html: str, name: str) -> None:
    assert_harmless(read(html_only_reply("k3v9q2x7m1p8w4z6r5t0", f"<p>{words}</p>{html}")))
    filename = name.replace('"', "").replace("\\", "/").replace("\r", "").replace("\n", "")
    assert_harmless(read(with_attachments("k3v9q2x7m1p8w4z6r5t0",
                                          {f"../{filename}": b"%PDF"})))


@given(forged=st.one_of(st.text(TOKEN_ALPHABET, min_size=20, max_size=20),
                        st.text(string.printable.strip().replace("@", ""), min_size=1,
                                max_size=30)))
async def test_a_forged_token_never_puts_an_email_on_a_case(
    forged: str, engine: Engine, hostile_settings: Settings, org: Organisation,
    assigned_case: str, rows: RowCounts,
) -> None:
    assume(forged.lower() != token_for(engine, assigned_case))
    before = rows()

    received = await receive(
        gmail_reply(forged, sender=LIEKE), recipients=[f"antwoord+{forged}@{REPLY_ADDRESS[9:]}"],
        engine=engine, client=NoTemporal(), settings=hostile_settings, org=org)  # type: ignore[arg-type]

    assert received.status in ("quarantined", "refused")
    assert rows()["case_message"] == before["case_message"] == 0


@given(sender=st.emails())
async def test_a_stranger_quoting_our_message_id_never_reaches_the_case(
    sender: str, engine: Engine, hostile_settings: Settings, org: Organisation,
    assigned_case: str, rows: RowCounts,
) -> None:
    assume(sender.lower() != LIEKE)
    with session_for(engine) as session:
        if session.get(OutboxMessage, "hostile:ours") is None:
            session.add(OutboxMessage(key="hostile:ours", case_id=assigned_case,
                                      kind="acknowledgement", recipient=LIEKE, message_id=OURS,
                                      status="sent", created_at=datetime.now(UTC)))
            session.commit()

    received = await receive(
        gmail_reply(None, sender=sender, in_reply_to=OURS), recipients=[REPLY_ADDRESS],
        engine=engine, client=NoTemporal(), settings=hostile_settings, org=org)  # type: ignore[arg-type]

    assert received.status in ("quarantined", "refused")
    assert rows()["case_message"] == 0
    assert all(q.reason for q in quarantined(engine))


def test_a_reply_to_the_token_reads_its_token() -> None:
    """The control for the properties above: a real token on the reply domain is read."""
    read_mail_ = read(gmail_reply("k3v9q2x7m1p8w4z6r5t0"),
                      to=reply_address("k3v9q2x7m1p8w4z6r5t0"))
    assert isinstance(read_mail_, ReadMail) and read_mail_.mail.token == "k3v9q2x7m1p8w4z6r5t0"
