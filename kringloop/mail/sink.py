"""The embedded SMTP server: accepts every message and keeps it as an .eml file in the outbox."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from kringloop.network import free_port

# Each message is written as "<FILE_STAMP>-<file_digest(Message-ID)>.eml" (UTC).
FILE_STAMP = "%Y%m%dT%H%M%S%f"


def file_digest(message_id: str) -> str:
    """The part of an .eml file's name that says which message it holds."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:12]


class OutboxFolder:
    """aiosmtpd handler: one file per message, named by time and Message-ID."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # Every email there is personal: the folder and each file for this user only.
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        # Only the headers are needed to name the file; parsing the whole message costs more.
        message_id = str(BytesHeaderParser(policy=default_policy).parsebytes(content)
                         .get("Message-ID", ""))
        stamp = datetime.now(UTC).strftime(FILE_STAMP)
        digest = file_digest(message_id or content.decode(errors="replace"))
        path = self.folder / f"{stamp}-{digest}.eml"
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as eml:
            eml.write(content)
        return "250 Message accepted for delivery"


def start_smtp_sink(folder: Path, *, host: str = "127.0.0.1") -> Controller:
    """Start the sink on a free port (`controller.port`); stop it with `controller.stop()`."""
    controller = Controller(OutboxFolder(folder), hostname=host, port=free_port(host))
    controller.start()
    return controller
