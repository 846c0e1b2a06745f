"""Replies through Mailgun's inbound routes: the signature Mailgun puts on every post (HMAC-SHA256
of timestamp and token with the webhook signing key), and the email as raw bytes again, from
the raw MIME a route to a URL ending in `mime` posts (`body-mime`), or rebuilt from the parsed
fields (`message-headers`, `body-plain`, `body-html`, `attachment-N`) of any other route."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from urllib.parse import parse_qsl

# The parsed fields' own MIME structure is rebuilt here; these of the original are not copied.
_STRUCTURE = {"content-type", "content-transfer-encoding", "mime-version", "content-disposition",
              "content-length"}
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
MAX_POSTED_ATTACHMENTS = 100
MAX_FIELDS = 200


class SigningKeyNotSet(Exception):
    """KRINGLOOP_MAILGUN_SIGNING_KEY is not set: the operator's to fix, Mailgun's to retry."""


class SignatureRefused(Exception):
    """The post is not Mailgun's, or not a fresh one."""


class FormRefused(Exception):
    """The post holds no email that can be written as one."""


@dataclass(frozen=True)
class PostedFile:
    filename: str
    content_type: str
    content: bytes


def posted_form(body: bytes, content_type: str
                ) -> tuple[dict[str, str], dict[str, PostedFile]]:
    """The fields and files of Mailgun's post: a urlencoded form, or multipart/form-data (read
    with the email package: python-multipart is not a dependency). `body-mime` is kept as the
    bytes that were posted. The first value of a repeated name counts."""
    media_type = content_type.partition(";")[0].strip().lower()
    fields: dict[str, str] = {}
    files: dict[str, PostedFile] = {}
    if media_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                              max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise FormRefused("the form cannot be read") from None
        for name, value in pairs:
            fields.setdefault(name, value)
        return fields, files
    if media_type != "multipart/form-data":
        raise FormRefused("Mailgun posts a form (multipart/form-data or urlencoded)")
    try:
        form = BytesParser(policy=default_policy).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    except (UnicodeEncodeError, ValueError, TypeError, LookupError):
        raise FormRefused("the form cannot be read") from None
    parts = list(form.iter_parts()) if form.is_multipart() else []
    if not parts or len(parts) > MAX_FIELDS + MAX_POSTED_ATTACHMENTS:
        raise FormRefused("the form holds no fields, or too many")
    for part in parts:
        name = str(part.get_param("name", "", header="content-disposition"))
        content = part.get_payload(decode=True)
        if not name or not isinstance(content, bytes):
            continue
        filename = part.get_param("filename", None, header="content-disposition")
        if filename is not None or name == "body-mime":
            files.setdefault(name, PostedFile(
                filename=str(filename or ""), content=content,
                content_type=part.get_content_type() if "content-type" in part
                else "application/octet-stream"))
        else:
            fields.setdefault(name, content.decode("utf-8", "replace"))
    return fields, files


def check_signature(fields: Mapping[str, str], *, key: str | None, now: float,
                    tolerance_s: int) -> None:
    """Mailgun's signature: hex HMAC-SHA256 of `timestamp` + `token` with the signing key, on
    a timestamp no more than `tolerance_s` away from `now` (an old post is not replayed)."""
    if not key:
        raise SigningKeyNotSet("KRINGLOOP_MAILGUN_SIGNING_KEY is not set")
    timestamp, token, signature = (fields.get(name) or "" for name in
                                   ("timestamp", "token", "signature"))
    if not (_TIMESTAMP.fullmatch(timestamp) and 0 < len(token) <= 200 and signature):
        raise SignatureRefused("timestamp, token and signature are required")
    if abs(now - int(timestamp)) > tolerance_s:
        raise SignatureRefused(f"the timestamp is more than {tolerance_s} s from our clock")
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise SignatureRefused("the signature does not match")


def recipients_of(fields: Mapping[str, str]) -> list[str]:
    """The envelope recipients Mailgun took the email for."""
    return [a.strip() for a in (fields.get("recipient") or "").split(",") if a.strip()]


def raw_email(fields: Mapping[str, str], files: Mapping[str, PostedFile]) -> bytes:
    """The email as bytes: the raw MIME when posted, else rebuilt from the parsed fields."""
    if "body-mime" in files:
        return files["body-mime"].content
    if "body-mime" in fields:
        return fields["body-mime"].encode("utf-8", "surrogateescape")
    return _rebuilt(fields, files)


def _rebuilt(fields: Mapping[str, str], files: Mapping[str, PostedFile]) -> bytes:
    try:
        headers = json.loads(fields.get("message-headers") or "[]")
    except json.JSONDecodeError:
        raise FormRefused("message-headers is not JSON") from None
    if not (isinstance(headers, list) and all(
            isinstance(h, list) and len(h) == 2 and all(isinstance(p, str) for p in h)
            for h in headers)):
        raise FormRefused("message-headers must be a list of [name, value] pairs")
    message = EmailMessage(policy=default_policy)
    message.set_content(fields.get("body-plain") or "")
    if fields.get("body-html"):
        message.add_alternative(fields["body-html"], subtype="html")
    count = fields.get("attachment-count") or "0"
    for number in range(1, min(int(count) if count.isascii() and count.isdigit() else 0,
                               MAX_POSTED_ATTACHMENTS) + 1):
        if (file := files.get(f"attachment-{number}")) is not None:
            maintype, _, subtype = file.content_type.partition("/")
            message.add_attachment(file.content, maintype=maintype or "application",
                                   subtype=subtype or "octet-stream", filename=file.filename)
    for name, value in headers:
        if name.lower() in _STRUCTURE:
            continue
        if not _HEADER_NAME.fullmatch(name):
            raise FormRefused("message-headers holds a header name that is not one")
        try:
            message[name] = value
        except ValueError:  # a line break in a value (header injection), a second From
            raise FormRefused(f"its {name} header cannot be written as it is") from None
    try:
        return message.as_bytes()
    except (ValueError, TypeError, LookupError) as error:
        raise FormRefused(f"the email cannot be written ({type(error).__name__})") from None
