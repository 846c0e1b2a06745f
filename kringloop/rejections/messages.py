"""The rejection and mailing workflows' Temporal payloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RejectionInput:
    """Only the id: the applicant's name, email and reasons stay in the database."""

    rejection_id: str


@dataclass(frozen=True)
class RejectionPlan:
    """When the rejection email goes out, and which round of sending this is."""

    send_at: datetime
    round: int


@dataclass(frozen=True)
class RejectionEmail:
    """A rejection email (`rejection` or `cnps`), sent once; `key` is its idempotency key."""

    rejection_id: str
    kind: str
    key: str


@dataclass(frozen=True)
class RejectionStep:
    """One entry for a rejection's timeline, optionally with a new status for it."""

    rejection_id: str
    key: str
    kind: str
    actor: str = "kringloop"
    detail: str = ""
    status: str | None = None


@dataclass(frozen=True)
class MailingInput:
    """A vacancy's rejection mailing (`mailing_id_for`); the rejections are in the database."""

    mailing_id: str


@dataclass(frozen=True)
class MailingRound:
    """One round of a mailing, at the workflow's clock (simulated time in tests)."""

    mailing_id: str
    now: datetime


@dataclass(frozen=True)
class MailingProgress:
    """When the mailing has something due next (None: nothing left), and whether more is due
    already than one round sends."""

    next_at: datetime | None
    more_due: bool


@dataclass(frozen=True)
class Cancellation:
    actor: str


@dataclass(frozen=True)
class RejectionState:
    """What the running rejection workflow knows right now (the `state` query)."""

    status: str
    send_at: datetime | None
    feedback_call_requested: bool
