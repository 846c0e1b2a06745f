"""A case whose person asked to be forgotten: mixed into the case workflow.

The database has lost their data already (kringloop/erasure.py); this update makes the running
case stop contacting them. Nothing more is sent to them (no "we tried to reach you", closing or
re-survey email, and queued ones are dropped), the callback duty ends (there is no one left to
call), and the team keeps the case, with its score and timings, to resolve with a root cause.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from kringloop.cases.messages import RESPONDENT_KINDS, CaseEmail, Resolution
    from kringloop.privacy.messages import ERASED, ERASED_ON_REQUEST, Erasure


class CaseErasure:
    erased = False  # only this update sets it: histories without it replay unchanged

    if TYPE_CHECKING:  # provided by the case workflow
        status: str
        resolution: Resolution | None
        _outgoing: list[CaseEmail]

        def _require_active(self, *, resolved_is_closed: bool) -> None: ...
        async def _record(self, step: str, kind: str, detail: str = "",
                          status: str | None = None) -> None: ...

    @workflow.update
    async def erase_personal_data(self, erasure: Erasure) -> str:
        if not self.erased:
            self.erased = True
            # The first queued email may be on its way; without an address it cannot go out.
            self._outgoing[1:] = [m for m in self._outgoing[1:]
                                  if m.kind not in RESPONDENT_KINDS]
            if self.resolution is not None:
                self.resolution = replace(self.resolution, action_taken=ERASED, message=ERASED)
            await self._record("erased", "erased", ERASED_ON_REQUEST)
        return self.status

    @erase_personal_data.validator
    def _validate_erasure(self, erasure: Erasure) -> None:
        # A case still opening has read no address yet; a closed one has nothing left to send.
        self._require_active(resolved_is_closed=False)
