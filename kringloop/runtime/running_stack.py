"""Where a running `kringloop up` is, kept in a small file under the home folder: its embedded
Temporal dev server listens on a port picked at start, and the commands run beside it
(`kringloop import`, `reject`, ...) find it there instead of asking for an address."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ValidationError

from kringloop.settings import Settings

FILE_NAME = "running-stack.json"


class RunningStack(BaseModel):
    """One `kringloop up` process and its parts; the field names are the settings' own."""

    pid: int
    temporal_address: str
    temporal_namespace: str
    task_queue: str
    database_url: str
    web_url: str | None = None

    def joined_by(self, settings: Settings) -> Settings:
        """`settings` pointed at this stack; what the command's own environment sets wins."""
        shared = self.model_dump(exclude={"pid", "web_url"})
        return settings.model_copy(update={name: value for name, value in shared.items()
                                           if name not in settings.model_fields_set})


def record_running_stack(stack: RunningStack, *, home: Path) -> None:
    """Written whole and then renamed into place, so a reader never sees half a file; readable
    by its owner only, as a PostgreSQL URL may hold a password."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = home / f".{FILE_NAME}.{secrets.token_hex(4)}"
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(stack.model_dump_json(indent=2))
    os.replace(draft, home / FILE_NAME)


def forget_running_stack(*, home: Path) -> None:
    """Remove the file if this process wrote it: a second `up` on the same home that could not
    start leaves the first one's file alone."""
    recorded = _recorded(home)
    if recorded is not None and recorded.pid == os.getpid():
        (home / FILE_NAME).unlink(missing_ok=True)


def running_stack(*, home: Path) -> RunningStack | None:
    """The stack recorded under `home` while its process lives (a killed `up` leaves its file)."""
    recorded = _recorded(home)
    return recorded if recorded is not None and _alive(recorded.pid) else None


def _recorded(home: Path) -> RunningStack | None:
    try:
        return RunningStack.model_validate_json((home / FILE_NAME).read_bytes())
    except (OSError, ValidationError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: is it there, without touching it
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # there, but another user's
    return True
