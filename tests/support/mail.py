"""Mail as the tests read it: a real SMTP server that keeps what it accepts and can refuse like a
relay, the plain text of an email and its links, and the outbox and timeline an email leaves."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from types import SimpleNamespace
from typing import Any

from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine
from sqlmodel import select

from kringloop.cases.messages import CaseEmail
from kringloop.cases.models import TimelineEntry
from kringloop.database import session_for
from kringloop.mail.models import OutboxMessage

# Wednesday 30 December 2026, 15:00 in Amsterdam (CET, UTC+1).
CALLBACK_DUE_AT = datetime(2026, 12, 30, 14, 0, tzinfo=UTC)
LIEKE = "lieke@example.nl"  # the respondent of the `assigned_case` fixture


@dataclass
class MailServer:
    """An aiosmtpd server keeping every accepted message; can refuse like a real relay."""

    port: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    refuse_recipients: dict[str, str] = field(default_factory=dict)
    temporary_failures: int = 0
    answer_delay_s: float = 0.0  # a slow relay: each email's final answer waits this long
    connections: set[tuple[str, int]] = field(default_factory=set)  # client (host, port) seen
    in_flight: int = 0  # emails whose final answer is being awaited now
    most_in_flight: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.connections.add(tuple(session.peer))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.answer_delay_s:
                await asyncio.sleep(self.answer_delay_s)
        finally:
            self.in_flight -= 1
        if self.temporary_failures > 0:
            self.temporary_failures -= 1
            return "451 Try again later"
        message = message_from_bytes(envelope.original_content or b"", policy=default_policy)
        self.received.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str, kind: str | None = None) -> list[EmailMessage]:
        return [m for m in self.received if address in str(m["To"])
                and (kind is None or m["X-Kringloop-Kind"] == kind)]

    async def wait_for(self, count: int, *, timeout: float = 10) -> list[EmailMessage]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} emails, got {len(self.received)}")
            await asyncio.sleep(0.02)
        return self.received

    async def wait_for_kind(self, address: str, kind: str, count: int, *, timeout: float = 10
                            ) -> list[EmailMessage]:
        """The `kind` emails to `address` once there are `count` of them."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.to(address, kind)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} {kind} emails to {address}, "
                                     f"got {len(found)}")
            await asyncio.sleep(0.02)
        return found


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def links_in(message: Any, path: str) -> list[str]:
    """The links to `path` (e.g. "/f/") in an email's plain text, without the host."""
    return re.findall(rf"http://kringloop\.test({re.escape(path)}\S+)", body_of(message))


def acknowledgement(case_id: str) -> CaseEmail:
    """The case workflow's order to send the case's first acknowledgement."""
    return CaseEmail(case_id=case_id, kind="acknowledgement", key=f"{case_id}:acknowledgement:1")


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_for(engine) as session:
        return list(session.exec(select(OutboxMessage)).all())


def timeline_kinds(engine: Engine) -> list[str]:
    with session_for(engine) as session:
        return [e.kind for e in session.exec(select(TimelineEntry)).all()]


def context_for(kind: str, language: str = "nl", **overrides: object) -> dict[str, object]:
    """A complete context for `kind`, as the case workflow would pass it."""
    common: dict[str, object] = {
        "organisation": "Fietsenwinkel De Spaak",
        "language": language,
        "time_zone": "Europe/Amsterdam",
        "base_url": "https://kringloop.example",
    }
    case_url = "https://kringloop.example/cases/42"
    booking_url = "https://kringloop.example/b/t0k3n"
    per_kind: dict[str, dict[str, object]] = {
        "acknowledgement": {
            "respondent_name": "Anna de Vries",
            "assignee_name": "Sanne Bakker",
            "callback_due_at": CALLBACK_DUE_AT,
            "score": 3,
            "comment": "De fiets was drie weken te laat.",
            "booking_url": booking_url,
        },
        "assignment": {
            "anonymous": False,
            "member_name": "Sanne Bakker",
            "respondent_name": "Anna de Vries",
            "score": 3,
            "program": "customer",
            "comment": "De fiets was drie weken te laat.",
            "callback_due_at": CALLBACK_DUE_AT,
            "case_url": case_url,
            "reassigned": False,
        },
        "reminder": {
            "anonymous": False,
            "member_name": "Sanne Bakker",
            "respondent_name": "Anna de Vries",
            "callback_due_at": CALLBACK_DUE_AT,
            "case_url": case_url,
        },
        "respondent_update": {
            "anonymous": False,
            "member_name": "Sanne Bakker",
            "respondent_name": "Anna de Vries",
            "score": 3,
            "score_now": 5,
            "comment": "De monteur kwam twee keer niet opdagen.",
            "case_url": case_url,
        },
        "respondent_reply": {
            "member_name": "Sanne Bakker",
            "respondent_name": "Anna de Vries",
            "reopened": False,
            "case_url": case_url,
        },
        "mail_bounced": {
            "member_name": "Sanne Bakker",
            "respondent_name": "Anna de Vries",
            "case_url": case_url,
        },
        "case_answer": {
            "respondent_name": "Anna de Vries",
            "assignee_name": "Sanne Bakker",
            "answer": "Dank je! Ik bel je morgen om half zes.\n\nTot dan.",
            "thread_subject": "Re: We bellen je terug",
        },
        "escalation": {
            "anonymous": False,
            "lead_name": "Mark Jansen",
            "assignee_name": "Sanne Bakker",
            "respondent_name": "Anna de Vries",
            "score": 3,
            "callback_due_at": CALLBACK_DUE_AT,
            "case_url": case_url,
        },
        "unreachable": {
            "respondent_name": "Anna de Vries",
            "assignee_name": "Sanne Bakker",
            "attempts": 3,
            "booking_url": booking_url,
        },
        "booking_confirmed": {
            "respondent_name": "Anna de Vries",
            "assignee_name": "Sanne Bakker",
            "callback_due_at": CALLBACK_DUE_AT,
            "booking_url": booking_url,
        },
        "promise_changed": {
            "respondent_name": "Anna de Vries",
            "assignee_name": "Mark Jansen",
            "first_promise": CALLBACK_DUE_AT,
            # Thursday 31 December 2026, 11:00 in Amsterdam: promised by the colleague now.
            "promised_at": datetime(2026, 12, 31, 10, 0, tzinfo=UTC),
            "booking_url": booking_url,
        },
        "callback_booked": {
            "anonymous": False,
            "member_name": "Sanne Bakker",
            "respondent_name": "Anna de Vries",
            "callback_due_at": CALLBACK_DUE_AT,
            "case_url": case_url,
        },
        "closing": {
            "respondent_name": "Anna de Vries",
            "assignee_name": "Sanne Bakker",
            "action_taken": "We hebben onze levertijden op de site eerlijker gemaakt.",
            "message": "Dank voor je geduld.\nJe krijgt de volgende beurt van ons.",
        },
        "resurvey": {
            "respondent_name": "Anna de Vries",
            "score_links": [
                (score, f"https://kringloop.example/score/t0k3n/{score}") for score in range(11)
            ],
        },
        "digest": {
            "member_name": "Sanne Bakker",
            "team_name": "Particulieren",
            "queue_url": "https://kringloop.example/queue",
            "overdue": [SimpleNamespace(case_id="case-1", respondent_name="Anna de Vries",
                                        score=2, callback_due_at=CALLBACK_DUE_AT)],
            "due_today": [SimpleNamespace(case_id="case-2", respondent_name=None, score=5,
                                          callback_due_at=CALLBACK_DUE_AT)],
        },
        "spotlight": {
            "member_name": "Sanne Bakker",
            "team_name": "Particulieren",
            "queue_url": "https://kringloop.example/queue",
            "recovered": 2,
            "spotlight": [SimpleNamespace(name="Mark Jansen", on_time_callbacks=4, recovered=2)],
        },
        "sign_in": {
            "member_name": "Sanne Bakker",
            "link": "https://kringloop.example/login/magic/t0k3n",
            "minutes": 15,
        },
        "rejection": {
            "applicant_name": "Lisa Jansen",
            "vacancy_title": "Fietsenmaker",
            "stage": "interview",
            "reasons": [{"code": "certification",
                         "sentence": "Voor deze rol is het diploma niveau 3 nodig."}],
            "recruiter_name": "Thijs Willems",
            "team_name": "Werving & Selectie",
            "feedback_url": "https://kringloop.example/f/t0k3n",
        },
        "cnps": {
            "applicant_name": "Lisa Jansen",
            "vacancy_title": "Fietsenmaker",
            "recruiter_name": "Thijs Willems",
            "team_name": "Werving & Selectie",
            "score_links": [
                (score, f"https://kringloop.example/c/t0k3n/{score}") for score in range(11)
            ],
        },
        "relay_message": {
            "member_name": "Sanne Bakker",
            "case_url": case_url,
        },
        "feedback_call": {
            "respondent_name": "Lisa Jansen",
            "assignee_name": "Thijs Willems",
            "callback_due_at": CALLBACK_DUE_AT,
            "vacancy_title": "Fietsenmaker",
            "phone": "06 12345678",
            "booking_url": booking_url,
        },
    }
    return {**common, **per_kind[kind], **overrides}
