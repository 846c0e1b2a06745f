"""Reading what respondents' mail programs send back: only their new words (Gmail's and
Outlook's Dutch quoting taken off), HTML made safe, out-of-offices and delivery reports told
apart from replies, big files left out with a note, and mail that cannot be read refused."""

from __future__ import annotations

import pytest

from kringloop.inbound.reading import ReadMail, Unfit, read_mail
from tests.support.inbound import (
    ANNA,
    REPLY_ADDRESS,
    auto_reply,
    delivery_report,
    gmail_reply,
    html_only_reply,
    outlook_reply,
    reply_address,
    with_attachments,
)

TOKEN = "k3v9q2x7m1p8w4z6r5t0"
OTHER_TOKEN = "a1b2c3d4e5f6g7h8i9j0"
LIMIT = 2 * 1024 * 1024


def read(raw: bytes, *, to: list[str] | None = None, limit: int = LIMIT) -> ReadMail:
    read = read_mail(raw, reply_address=REPLY_ADDRESS, recipients=to or [reply_address(TOKEN)],
                     attachment_max_bytes=limit)
    assert isinstance(read, ReadMail), read
    return read


def refusal(raw: bytes, *, to: list[str] | None = None) -> str:
    read = read_mail(raw, reply_address=REPLY_ADDRESS, recipients=to or [reply_address(TOKEN)],
                     attachment_max_bytes=LIMIT)
    assert isinstance(read, Unfit), read
    return read.reason


def test_a_dutch_gmail_reply_keeps_anna_s_words_and_not_our_email_below_them() -> None:
    mail = read(gmail_reply(TOKEN, message_id="<anna-1@mail.gmail.com>",
                            in_reply_to="<ours-1@fietsenwinkel.example>")).mail

    assert mail.kind == "reply" and mail.token == TOKEN and mail.sender == ANNA["email"]
    assert mail.text == ("Hoi,\n\nJa, bel me morgen na vijven maar, dan ben ik thuis.\n\n"
                         "Groet,\nAnna")
    assert mail.html is not None and "vijven" in mail.html
    assert "Sanne belt" not in mail.html and "schreef" not in mail.html
    assert (mail.message_id, mail.references) == ("<anna-1@mail.gmail.com>",
                                                  ("<ours-1@fietsenwinkel.example>",))
    assert mail.subject == "Re: We bellen je terug"


def test_a_dutch_outlook_reply_keeps_her_words_and_her_signature() -> None:
    mail = read(outlook_reply(TOKEN)).mail

    assert mail.text == "Dat is goed, tot morgen.\n\nMet vriendelijke groet,\nAnna de Vries"
    assert mail.html is None


@pytest.mark.parametrize("words, quote", [
    ("Sure, call me tomorrow.", "On Tue, Mar 3, 2026 at 10:12 AM Fietsenwinkel De Spaak <\n"
                                "antwoord@antwoord.fietsenwinkel.example> wrote:\n> Dear Anna"),
    ("Prima!", "> Op 3 mrt 2026, om 10:12 heeft Fietsenwinkel <a@b.nl> het volgende "
               "geschreven:\n>\n> Beste Anna,"),
    ("Prima!", "Op 03-03-2026 om 10:12 schreef Fietsenwinkel De Spaak:\n> Beste Anna,"),
    ("Bel maar.", "> Beste Anna,\n> Sanne belt je."),
])
def test_english_apple_thunderbird_and_bare_quotes_are_taken_off(words: str, quote: str) -> None:
    raw = (f"From: {ANNA['email']}\r\nTo: {reply_address(TOKEN)}\r\nSubject: Re: x\r\n\r\n"
           f"{words}\n\n{quote}\n").encode()
    assert read(raw).mail.text == words


def test_a_reply_with_only_html_is_sanitised_and_gets_its_plain_text() -> None:
    html = ('<html><head><style>p { color: red }</style><title>Re</title></head><body>'
            '<p onclick="steal()">Bel me <b>morgen</b> maar.</p>'
            '<script>alert(1)</script><img src="https://tracker.example/pixel.gif">'
            '<a href="javascript:alert(1)">klik</a> <a href="https://example.nl/bon">bon</a>'
            '<div id="divRplyFwdMsg"><b>Van:</b> Fietsenwinkel</div><p>Beste Anna,</p>'
            "</body></html>")
    mail = read(html_only_reply(TOKEN, html)).mail

    assert mail.html is not None
    for unsafe in ("script", "onclick", "javascript:", "tracker.example", "style", "Beste Anna"):
        assert unsafe not in mail.html
    assert '<a href="https://example.nl/bon" rel="noopener noreferrer nofollow">bon</a>' in (
        mail.html)
    assert mail.text == "Bel me morgen maar.\nklik bon"


@pytest.mark.parametrize("header, subject", [
    ("Auto-Submitted: auto-replied", "Re: We bellen je terug"),
    ("Auto-Submitted: auto-generated", "Re: We bellen je terug"),
    ("X-Autoreply: yes", "Re: We bellen je terug"),
    ("X-Autorespond: Ik ben er niet", "Re: We bellen je terug"),
    ("Precedence: auto_reply", "Re: We bellen je terug"),
    ("Precedence: bulk", "Re: We bellen je terug"),
    ("Precedence: junk", "Re: We bellen je terug"),
    ("", "Out of Office: We bellen je terug"),
    ("", "Automatic reply: We bellen je terug"),
    ("", "Afwezig: We bellen je terug"),
    ("", "Afwezigheidsmelding: We bellen je terug"),
    ("", "Automatisch antwoord: We bellen je terug"),
    ("", "Re: Automatisch antwoord: We bellen je terug"),
])
def test_an_out_of_office_is_an_auto_reply(header: str, subject: str) -> None:
    assert read(auto_reply(TOKEN, header=header, subject=subject)).mail.kind == "auto_reply"


@pytest.mark.parametrize("header", ["Auto-Submitted: no", "Precedence: list", ""])
def test_a_person_s_own_answer_is_a_reply(header: str) -> None:
    assert read(auto_reply(TOKEN, header=header)).mail.kind == "reply"


@pytest.mark.parametrize("returned", ["headers", "message"])
def test_a_delivery_failure_is_a_bounce_naming_the_address_and_our_email(returned: str) -> None:
    raw = delivery_report(failed=ANNA["email"], returned=returned,
                          original_message_id="<9f2c1e@fietsenwinkel.example>")
    mail = read(raw, to=[REPLY_ADDRESS]).mail

    assert mail.kind == "bounce" and mail.bounced_address == ANNA["email"]
    assert mail.references == ("<9f2c1e@fietsenwinkel.example>",)
    assert mail.sender == "MAILER-DAEMON@mx.fietsenwinkel.example"
    assert "could not\nbe delivered" in mail.text
    assert mail.attachments == () and read(raw, to=[REPLY_ADDRESS]).files == ()


def test_a_delayed_delivery_report_is_no_bounce() -> None:
    raw = delivery_report(failed=ANNA["email"], action="delayed",
                          original_message_id="<9f2c1e@fietsenwinkel.example>")
    assert read(raw, to=[REPLY_ADDRESS]).mail.kind == "auto_reply"


def test_a_file_over_the_limit_is_left_out_with_a_note_and_a_small_one_kept() -> None:
    read_mail = read(with_attachments(TOKEN, {"bon.pdf": b"%PDF-1.7 bon",
                                              "../../etc/scan.pdf": b"x" * 5000}), limit=4096)

    small, big = read_mail.files
    assert (small.filename, small.content_type, small.content, small.note) == (
        "bon.pdf", "application/pdf", b"%PDF-1.7 bon", "")
    assert (big.filename, big.size, big.content) == ("scan.pdf", 5000, None)
    assert big.note == "left out: 5000 bytes is more than the 4096 bytes an attachment may be"
    assert read_mail.mail.text == "De bon zit erbij."


def test_the_token_comes_from_the_envelope_or_the_to_header_of_the_reply_domain_only() -> None:
    raw = gmail_reply(TOKEN)
    assert read(raw, to=[REPLY_ADDRESS]).mail.token == TOKEN  # from To:
    elsewhere = raw.replace(b"antwoord.fietsenwinkel.example>\r\nContent",
                            b"elders.example>\r\nContent")
    assert read(elsewhere, to=[REPLY_ADDRESS]).mail.token is None
    assert read(elsewhere, to=[reply_address(TOKEN)]).mail.token == TOKEN  # RCPT TO


def test_an_email_to_two_cases_reply_addresses_is_refused() -> None:
    assert refusal(gmail_reply(TOKEN), to=[reply_address(OTHER_TOKEN)]) == (
        "addressed to the reply addresses of more than one case")


@pytest.mark.parametrize("raw, reason", [
    (b"From: anna@example.nl\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nhoi\r\n",
     "malformed MIME (MultipartInvariantViolationDefect, NoBoundaryInMultipartDefect)"),
    (b"From: anna@example.nl\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\nhoi\r\n",
     "malformed MIME (MultipartInvariantViolationDefect, StartBoundaryNotFoundDefect)"),
    (b"Subject: geen afzender\r\n\r\nhoi\r\n", "no single usable From address"),
    (b"From: anna@example.nl\r\nFrom: sanne@fietsenwinkel.example\r\n\r\nhoi\r\n",
     "no single usable From address"),
    (b"From: anna@example.nl\r\nSubject: =?utf-8?q?hoi=0D=0ABcc:_x@evil.example?=\r\n\r\nhoi",
     "a line break in its Subject header (header injection)"),
    (b"From: =?utf-8?q?a=0Ab?= <anna@example.nl>\r\n\r\nhoi",
     "a line break in its From header (header injection)"),
])
def test_unreadable_or_injected_mail_is_refused_with_its_reason(raw: bytes, reason: str) -> None:
    assert refusal(raw) == reason


def test_an_email_without_a_message_id_gets_one_from_its_bytes() -> None:
    raw = b"From: anna@example.nl\r\nTo: x@y\r\n\r\nhoi\r\n"
    first, again = read(raw).mail.message_id, read(raw).mail.message_id
    assert first == again and first.endswith("@inbound.kringloop.invalid>")
