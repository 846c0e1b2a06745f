"""What erasure tells a running workflow, and the retention schedule's request."""

from __future__ import annotations

from dataclasses import dataclass

# What personal free text becomes: the step stays on the timeline, what was written goes.
ERASED = "[erased]"


ERASED_ON_REQUEST = "personal data erased on request; no more emails to this person"


@dataclass(frozen=True)
class Erasure:
    """A person's data was erased: the running case or rejection stops contacting them."""

    actor: str


@dataclass(frozen=True)
class RetentionRequest:
    """Erase the personal data of loops that ended more than `months` months ago."""

    months: int
