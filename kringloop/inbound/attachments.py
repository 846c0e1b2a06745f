"""Files sent with a reply: kept under the home folder with a random name (the sender's file
name is only ever shown, never used as a path), or left out with a note saying why."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

# More files than this with one email are left out (each with a note).
MAX_ATTACHMENTS = 20
_CONTENT_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,64}$")
_UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Attached:
    """One file found in an email; without content when it is left out (`note` says why)."""

    filename: str
    content_type: str
    size: int
    content: bytes | None
    note: str = ""


def is_attachment(part: Message) -> bool:
    """A part the sender attached: marked so, named, or not text (an image, a PDF, a
    forwarded email)."""
    return (part.get_content_disposition() == "attachment" or bool(part.get_filename())
            or part.get_content_maintype() not in ("text", "multipart"))


def attached(parts: list[Message], *, max_bytes: int) -> tuple[Attached, ...]:
    """The attachment parts as files, those over `max_bytes` (or past MAX_ATTACHMENTS)
    without their content."""
    found = []
    for number, part in enumerate(parts):
        name, content_type = _shown_name(part), _content_type(part)
        content = _content_of(part)
        size = len(content) if content is not None else 0
        if content is None:
            note = "left out: it could not be decoded"
        elif number >= MAX_ATTACHMENTS:
            note = f"left out: only {MAX_ATTACHMENTS} attachments are kept per email"
        elif size > max_bytes:
            note = (f"left out: {size} bytes is more than the {max_bytes} bytes an attachment "
                    "may be")
        else:
            note = ""
        found.append(Attached(filename=name, content_type=content_type, size=size,
                              content=None if note else content, note=note))
    return tuple(found)


def keep(files: tuple[Attached, ...], folder: Path) -> tuple[dict[str, Any], ...]:
    """Write the files that have content under `folder` (each under a new random name, for
    this user only) and describe every file for the case: filename, content_type, size,
    stored (the name under `folder`, or None) and note."""
    records = []
    for file in files:
        stored = None
        if file.content is not None:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            stored = secrets.token_hex(16)
            descriptor = os.open(folder / stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(file.content)
        records.append({"filename": file.filename, "content_type": file.content_type,
                        "size": file.size, "stored": stored, "note": file.note})
    return tuple(records)


def forget(records: tuple[dict[str, Any], ...], folder: Path) -> None:
    """Remove the files `keep` wrote (for an email that turned out to be taken in before)."""
    for record in records:
        if record["stored"]:
            (folder / record["stored"]).unlink(missing_ok=True)


def _shown_name(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # a hostile name parameter can break the email package's decoding
        name = ""
    name = _UNSHOWABLE.sub("", name.encode("utf-8", "replace").decode())
    name = re.split(r"[/\\]", name)[-1].strip()[:200]
    return name or "attachment"


def _content_type(part: Message) -> str:
    content_type = part.get_content_type()
    return content_type if _CONTENT_TYPE.fullmatch(content_type) else "application/octet-stream"


def _content_of(part: Message) -> bytes | None:
    try:
        if part.get_content_type() == "message/rfc822":  # a forwarded email, as an .eml
            inner = part.get_payload(0)
            return inner.as_bytes() if isinstance(inner, Message) else None
        payload = part.get_payload(decode=True)
    except Exception:  # hostile MIME can break the email package in ways of its own
        return None
    return payload if isinstance(payload, bytes) else None
