"""Reading one inbound email: what kind it is (a reply, an auto-reply, a bounce), the case it
points at (a reply token, references to our emails), the respondent's words and files; or why
it is unfit to take in. Pure: it reads bytes and writes nothing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses

from kringloop.cases.replies import ArrivedMail, MailKind
from kringloop.inbound.attachments import Attached, attached, is_attachment
from kringloop.inbound.words import clean_text, new_words, sanitised_html, text_of_html
from kringloop.mail.reply_addresses import token_in

MAX_HEADER_BYTES = 256 * 1024
MAX_PARTS = 200
# The email package takes long over thousands of parts: lines that could be boundaries are
# counted before it reads any (a real reply has a few dozen at most).
MAX_BOUNDARY_LINES = 2000
MAX_DEPTH = 20
MAX_REFERENCES = 20
# Structural damage: the parts cannot be told apart, so neither can the words.
_FATAL_DEFECTS = {"NoBoundaryInMultipartDefect", "StartBoundaryNotFoundDefect",
                  "MultipartInvariantViolationDefect", "MissingHeaderBodySeparatorDefect"}
# The headers read from the email: a line break in any of them (an encoded CR/LF) is an
# attempt to inject a header wherever the value is written again.
_READ_HEADERS = ("From", "To", "Cc", "Delivered-To", "Reply-To", "Subject", "Message-ID",
                 "In-Reply-To", "References")
_ADDRESS = re.compile(r"^[^\s@<>()\[\]\\,;:\"]{1,64}@[^\s@<>()\[\]\\,;:\"]{1,253}$")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,900}>")
# Out-of-office and vacation subjects (Outlook, Gmail, Apple Mail; Dutch and English), after
# any Re:/Antw:/Fwd: in front.
_VACATION = re.compile(
    r"^\s*(?:(?:re|aw|antw|antwoord|fw|fwd|wg|doorst)\s*:\s*)*"
    r"(?:out of (?:the )?office|automatic reply|auto[- ]?reply|autoreply|auto-response"
    r"|automatisch antwoord|afwezig|afwezigheid|afwezigheidsmelding|niet aanwezig|vacation"
    r"|on vacation|abwesenheit)\b", re.IGNORECASE)
_REPORT_PARTS = ("message/delivery-status", "text/rfc822-headers", "message/rfc822")


@dataclass(frozen=True)
class Unfit:
    """Why an email cannot be taken in (one line for the log and the quarantine)."""

    reason: str
    sender: str | None = None


@dataclass(frozen=True)
class ReadMail:
    """An email as read: the mail for its case (attachments not yet kept) and its files."""

    mail: ArrivedMail
    files: tuple[Attached, ...] = ()


class _Refused(Exception):
    pass


def for_reply_domain(address: str, reply_address: str) -> bool:
    """Whether `address` is on the reply address's domain (any local part: the bare reply
    address and plus-addresses alike; postmaster too)."""
    return _domain(address) == _domain(reply_address) != ""


def read_mail(raw: bytes, *, reply_address: str, recipients: Sequence[str],
              attachment_max_bytes: int) -> ReadMail | Unfit:
    """Read one email as it arrived, with its envelope recipients."""
    if len(_header_block(raw)) > MAX_HEADER_BYTES:
        return Unfit(f"its headers are larger than {MAX_HEADER_BYTES} bytes")
    if raw.count(b"\n--") > MAX_BOUNDARY_LINES:
        return Unfit(f"more than {MAX_BOUNDARY_LINES} lines that start with --")
    sender = None
    try:
        message = BytesParser(policy=default_policy).parsebytes(raw)
        _refuse_injection(message)
        sender = _sender(message)
        return _read(message, raw, sender=sender, reply_address=reply_address,
                     recipients=recipients, attachment_max_bytes=attachment_max_bytes)
    except _Refused as refused:
        return Unfit(str(refused), sender)
    except Exception as error:  # hostile MIME breaks the email package in ways of its own
        return Unfit(f"malformed MIME ({type(error).__name__})", sender)


def _read(message: EmailMessage, raw: bytes, *, sender: str | None, reply_address: str,
          recipients: Sequence[str], attachment_max_bytes: int) -> ReadMail:
    leaves = list(_leaves(message))
    defects = {type(d).__name__ for part in (message, *leaves) for d in part.defects}
    if defects & _FATAL_DEFECTS:
        raise _Refused(f"malformed MIME ({', '.join(sorted(defects & _FATAL_DEFECTS))})")
    if len(message.get_all("From", [])) != 1 or sender is None:
        raise _Refused("no single usable From address")
    kind, bounced, original = _kind(message, leaves)
    text, html, body_parts = _words(message, kind)
    files = [part for part in leaves if id(part) not in body_parts
             and part.get_content_type() not in _REPORT_PARTS and is_attachment(part)]
    # In-Reply-To, then the newest of References (the thread's oldest email comes first).
    references = (_message_ids(message.get_all("In-Reply-To", []))
                  + _message_ids(message.get_all("References", []))[-MAX_REFERENCES:])
    mail = ArrivedMail(
        kind=kind, message_id=_message_id(message, raw), sender=sender,
        subject=clean_text(str(message.get("Subject", "")))[:500], text=text, html=html,
        bounced_address=bounced, token=_token(message, recipients, reply_address),
        references=tuple(dict.fromkeys([*([original] if original else []), *references])))
    return ReadMail(mail=mail, files=attached(files, max_bytes=attachment_max_bytes))


def _refuse_injection(message: EmailMessage) -> None:
    for name in _READ_HEADERS:
        try:
            values = [str(value) for value in message.get_all(name, [])]
        except ValueError as error:  # the email package refuses an address holding one
            if "CR or LF" not in str(error) and "linefeed" not in str(error):
                raise
            values = ["\n"]
        if any(c in value for value in values for c in "\r\n\x00"):
            raise _Refused(f"a line break in its {name} header (header injection)")


def _header_block(raw: bytes) -> bytes:
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    return raw[:min(ends)] if ends else raw


def _leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    """The parts that are not containers; a forwarded or returned email is one part."""
    if depth > MAX_DEPTH:
        raise _Refused(f"MIME parts nested more than {MAX_DEPTH} deep")
    if part.is_multipart() and not part.get_content_type().startswith("message/"):
        payload = part.get_payload()
        if len(payload) > MAX_PARTS:
            raise _Refused(f"more than {MAX_PARTS} MIME parts")
        for inner in payload:
            yield from _leaves(inner, depth + 1)
    else:
        yield part


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").rstrip(".").lower()


def _address(value: str) -> str | None:
    value = value.strip().strip("<>").strip()
    return value if _ADDRESS.fullmatch(value) and len(value) <= 254 else None


def _sender(message: EmailMessage) -> str | None:
    header = message.get("From")
    for found in getattr(header, "addresses", ()):
        if address := _address(found.addr_spec):
            return address
    return None


def _token(message: EmailMessage, recipients: Sequence[str], reply_address: str) -> str | None:
    """The reply token of the plus-address this email was sent to, from the envelope or the
    To, Cc and Delivered-To headers; refused when it names the addresses of two cases."""
    local = reply_address.rpartition("@")[0].lower()
    written = getaddresses([str(v) for name in ("To", "Cc", "Delivered-To")
                            for v in message.get_all(name, [])])
    tokens = {token for address in [*recipients, *(a for _, a in written)]
              if for_reply_domain(address, reply_address)
              and address.rpartition("@")[0].partition("+")[0].lower() == local
              and (token := token_in(address)) is not None}
    if len(tokens) > 1:
        raise _Refused("addressed to the reply addresses of more than one case")
    return tokens.pop() if tokens else None


def _message_id(message: EmailMessage, raw: bytes) -> str:
    """Its own Message-ID; without one (or a malformed one), one made from its bytes, so the
    same email delivered twice is still one message."""
    found = _message_ids([message.get("Message-ID", "")])
    if found:
        return found[0]
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@inbound.kringloop.invalid>"


def _message_ids(values: Sequence[object]) -> list[str]:
    return list(dict.fromkeys(i for v in values for i in _MESSAGE_ID.findall(str(v))))


def _kind(message: EmailMessage, leaves: list[Message]
          ) -> tuple[MailKind, str | None, str | None]:
    """The kind, and for a delivery report the address that failed and the Message-ID of the
    email that was returned."""
    if (message.get_content_type() == "multipart/report"
            and str(message.get_param("report-type", "")).lower() == "delivery-status"):
        failed = [block for part in leaves
                  if part.get_content_type() == "message/delivery-status"
                  for block in part.get_payload() if isinstance(block, Message)
                  and str(block.get("Action", "")).strip().lower() == "failed"]
        original = _returned_message_id(leaves)
        if not failed:
            return "auto_reply", None, original  # delayed, relayed, delivered: nobody wrote
        recipient = str(failed[0].get("Final-Recipient", "")).partition(";")[2]
        return "bounce", _address(recipient), original
    if _automatic(message):
        return "auto_reply", None, None
    return "reply", None, None


def _returned_message_id(leaves: list[Message]) -> str | None:
    for part in leaves:
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
            found = _message_ids([inner.get("Message-ID", "")])
        elif part.get_content_type() == "text/rfc822-headers":
            headers = BytesHeaderParser(policy=default_policy).parsebytes(
                part.get_payload(decode=True) or b"")
            found = _message_ids([headers.get("Message-ID", "")])
        else:
            continue
        if found:
            return found[0]
    return None


def _automatic(message: EmailMessage) -> bool:
    """An out-of-office or other automatic answer (RFC 3834 and the headers mail programs
    use instead), or a vacation subject."""
    submitted = str(message.get("Auto-Submitted", "")).partition(";")[0].strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return ((submitted not in ("", "no")) or "X-Autoreply" in message
            or "X-Autorespond" in message or precedence in ("auto_reply", "bulk", "junk")
            or bool(_VACATION.match(str(message.get("Subject", "")))))


def _words(message: EmailMessage, kind: MailKind) -> tuple[str, str | None, set[int]]:
    """The new words (text preferred), the sanitised HTML, and which parts held them."""
    plain = message.get_body(preferencelist=("plain",))
    markup = message.get_body(preferencelist=("html",))
    html = sanitised_html(_content(markup)) if markup is not None else None
    if plain is not None:
        text = _content(plain)
        text = clean_text(text) if kind == "bounce" else new_words(text)
    else:
        text = new_words(text_of_html(html)) if html else ""
    return text, html or None, {id(part) for part in (plain, markup) if part is not None}


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # an unknown charset, a broken encoding
        content = part.get_payload(decode=True) or b""
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return str(content)
