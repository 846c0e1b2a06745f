"""The organisation file while Kringloop runs: read again on SIGHUP, or as soon as it changes,
so that a colleague who left (or changed role) is out without a restart. A file that does not
load is reported and the last good one stays in force."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from kringloop.org.organisation import Organisation, OrgFileError, load_organisation

log = logging.getLogger("kringloop")
CHECK_EVERY_S = 2.0


class OrganisationFile:
    """The organisation as the running parts know it; each part subscribes to its changes."""

    def __init__(self, path: Path, org: Organisation) -> None:
        self.path = path
        self.current = org
        self._subscribers: list[Callable[[Organisation], None]] = []
        self._seen = self._stamp()

    def subscribe(self, use: Callable[[Organisation], None]) -> None:
        self._subscribers.append(use)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def reload(self) -> bool:
        """Read the file again; True when a changed organisation is now in force."""
        self._seen = self._stamp()
        try:
            org = load_organisation(self.path)
        except OrgFileError as refused:
            log.error("the organisation file was not reloaded; the last good one stays in "
                      "force", extra={"problem": str(refused)})
            return False
        if org == self.current:
            return False
        self.current = org
        for use in self._subscribers:
            use(org)
        log.info("organisation file reloaded", extra={"file": str(self.path)})
        return True

    async def watch(self, stop: asyncio.Event, *, every_s: float = CHECK_EVERY_S) -> None:
        """Reload whenever the file's time or size changes, until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), every_s)
            except TimeoutError:
                pass
            if not stop.is_set() and self._stamp() != self._seen:
                self.reload()
