"""The audit every fault scenario ends with: each posted response has exactly one case, each
case's timeline is complete, each expected email arrived exactly once (counted by Message-ID at
the mail server), and nothing is stuck (no failed or retrying workflow, no pending outbox row)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import col, select
from temporalio.client import Client, WorkflowExecutionStatus

from kringloop.cases.messages import case_id_for
from kringloop.cases.models import Case, TimelineEntry
from kringloop.database import session_for
from kringloop.mail.delivery import message_id_for
from kringloop.mail.models import OutboxMessage
from tests.faults.breakable import Deployment, MailRelay
from tests.faults.survey_tool import SurveyTool

MAIL_FROM = "Kringloop <loop@faults.example>"
# What CaseWorkflow.run has done once a case waits for its callback (workflows/case.py).
CASE_STEPS = ("opened", "routed", "assigned", "callback_scheduled")
FIRST_EMAILS = ("acknowledgement", "assignment")


def outbox_key(case_id: str, kind: str, n: int = 1) -> str:
    """The idempotency key of a case's n-th email of a kind (CaseWorkflow._mail)."""
    return f"{case_id}:{kind}:{n}"


@dataclass(frozen=True)
class Expected:
    """What the scenario's responses must have become: a case each that took `steps` and sent
    the first email of each kind in `emails`, except the `refused` ones (outbox keys), which
    the mail server refuses for good and the case records as failed."""

    response_ids: Sequence[str]
    emails: tuple[str, ...] = FIRST_EMAILS
    steps: tuple[str, ...] = CASE_STEPS
    refused: frozenset[str] = frozenset()

    @property
    def case_ids(self) -> list[str]:
        return sorted({case_id_for(response_id) for response_id in self.response_ids})

    def outbox_keys(self) -> dict[str, str]:
        """Every email the cases must send: outbox key -> the Message-ID it goes out with."""
        return {key: message_id_for(key, MAIL_FROM) for case_id in self.case_ids
                for key in (outbox_key(case_id, kind) for kind in self.emails)}


@dataclass
class Findings:
    """What the audit found wrong; empty everywhere once the scenario has settled."""

    cases: int = 0
    lost_cases: list[str] = field(default_factory=list)
    extra_runs: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    undelivered: list[str] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    incomplete: dict[str, list[str]] = field(default_factory=dict)
    pending_outbox: list[str] = field(default_factory=list)
    troubled: dict[str, str] = field(default_factory=dict)

    @property
    def doubled(self) -> int:
        return sum(n - 1 for n in self.duplicates.values())

    @property
    def settled(self) -> bool:
        return not (self.lost_cases or self.extra_runs or self.undelivered or self.incomplete
                    or self.pending_outbox or self.troubled)

    def explained(self) -> str:
        problems = {"lost cases": self.lost_cases, "cases started twice": self.extra_runs,
                    "emails not delivered": self.undelivered,
                    "emails delivered more than once": self.duplicates,
                    "incomplete timelines": self.incomplete,
                    "pending outbox rows": self.pending_outbox,
                    "failing or retrying workflows": self.troubled}
        return "\n".join(f"{name} ({len(found)}): {_first(found)}"
                         for name, found in problems.items() if found)


def _first(found: list[str] | dict[str, object], count: int = 5) -> str:
    items = list(found.items()) if isinstance(found, dict) else found
    return ", ".join(map(str, items[:count])) + (" …" if len(items) > count else "")


@dataclass(frozen=True)
class FaultRow:
    scenario: str
    responses: int
    deliveries: int
    cases: int
    expected: int
    sent: int
    duplicated: int
    lost: int
    refused: int
    incomplete: int
    stuck: int
    seconds: float


@dataclass
class FaultTable:
    """Where a scenario's audit puts its row; `started` is when the scenario began."""

    rows: list[FaultRow]
    started: float = field(default_factory=time.monotonic)

    def add(self, row: FaultRow) -> None:
        self.rows.append(row)


COLUMNS = ("scenario", "responses", "deliveries", "cases", "emails expected", "sent",
           "duplicated", "lost", "refused (5xx)", "incomplete", "stuck",
           "seconds")


def table_lines(rows: Sequence[FaultRow]) -> list[str]:
    cells = [COLUMNS, *[(r.scenario, r.responses, r.deliveries, r.cases, r.expected, r.sent,
                         r.duplicated, r.lost, r.refused, r.incomplete, r.stuck,
                         f"{r.seconds:.0f}") for r in rows]]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(COLUMNS))]

    def line(row: Sequence[object]) -> str:
        return " | ".join(str(cell).ljust(widths[0]) if i == 0 else str(cell).rjust(widths[i])
                          for i, cell in enumerate(row))

    return [line(cells[0]), "-+-".join("-" * width for width in widths),
            *map(line, cells[1:])]


# The `audited` fixture: `audit` bound to the scenario's mail server and the table.
Audit = Callable[[str, Expected, Deployment, SurveyTool], Awaitable[FaultRow]]


async def audit(scenario: str, expected: Expected, *, deployment: Deployment, mail: MailRelay,
                table: FaultTable, deliveries: int, settle_within: float = 180) -> FaultRow:
    """Wait until the scenario has settled (or `settle_within` passed), put its row in the
    table, and assert that nothing was lost, doubled, left incomplete or stuck."""
    deadline = time.monotonic() + settle_within
    while time.monotonic() < deadline:
        if not _undelivered(expected, mail) and (await _findings(expected, deployment,
                                                                  mail)).settled:
            break
        await asyncio.sleep(1)
    await asyncio.sleep(3)  # a duplicate would arrive late: give it the chance
    findings = await _findings(expected, deployment, mail)
    refused = len(expected.refused)
    row = FaultRow(
        scenario=scenario, responses=len(set(expected.response_ids)), deliveries=deliveries,
        cases=findings.cases, expected=len(expected.outbox_keys()) - refused,
        sent=findings.delivered, duplicated=findings.doubled,
        lost=len(findings.lost_cases) + len(findings.undelivered), refused=refused,
        incomplete=len(findings.incomplete),
        stuck=len(findings.pending_outbox) + len(findings.troubled),
        seconds=time.monotonic() - table.started)
    table.add(row)
    assert findings.settled and not findings.duplicates, (
        f"{scenario}:\n{findings.explained()}\n{deployment.logs()}")
    return row


def _undelivered(expected: Expected, mail: MailRelay) -> list[str]:
    arrived = mail.message_ids()
    return [key for key, message_id in expected.outbox_keys().items()
            if key not in expected.refused and message_id not in arrived]


async def _findings(expected: Expected, deployment: Deployment, mail: MailRelay) -> Findings:
    arrived = mail.message_ids()
    keys = expected.outbox_keys()
    named = {message_id: key for key, message_id in keys.items()}
    findings = Findings(
        undelivered=_undelivered(expected, mail),
        delivered=sum(1 for message_id in keys.values() if message_id in arrived))
    for message_id, copies in arrived.items():
        if copies > 1:
            findings.duplicates[named.get(message_id, message_id)] = copies
    case_ids = expected.case_ids
    with session_for(deployment.engine) as session:
        opened = set(session.exec(select(Case.id).where(col(Case.id).in_(case_ids))).all())
        timeline = session.exec(select(TimelineEntry.case_id, TimelineEntry.kind,
                                       TimelineEntry.key)
                                .where(col(TimelineEntry.case_id).in_(case_ids))).all()
        findings.pending_outbox = list(session.exec(
            select(OutboxMessage.key).where(col(OutboxMessage.case_id).in_(case_ids),
                                            OutboxMessage.status == "pending")).all())
    runs, findings.troubled = await _workflows(deployment.temporal, deployment.task_queue)
    findings.cases = len(opened)
    findings.lost_cases = [c for c in case_ids if c not in opened or c not in runs]
    findings.extra_runs = {c: n for c, n in runs.items() if n > 1}
    steps: dict[str, set[str]] = {case_id: set() for case_id in case_ids}
    for case_id, kind, key in timeline:
        steps[case_id] |= {kind, key}
    for case_id in case_ids:
        outcomes = [f"{key}:{'failed' if key in expected.refused else 'sent'}"
                    for key in keys if key.startswith(f"{case_id}:")]
        if missing := [s for s in (*expected.steps, *outcomes) if s not in steps[case_id]]:
            findings.incomplete[case_id] = missing
    return findings


async def _workflows(client: Client, task_queue: str) -> tuple[Counter[str], dict[str, str]]:
    """How many runs each case workflow has, and which are failed, or have an activity still
    pending or a workflow task failing over and over."""
    runs: Counter[str] = Counter()
    troubled: dict[str, str] = {}
    running: list[str] = []
    async for execution in client.list_workflows(
            f"TaskQueue = '{task_queue}' AND WorkflowType = 'CaseWorkflow'"):
        runs[execution.id] += 1
        if execution.status == WorkflowExecutionStatus.RUNNING:
            running.append(execution.id)
        else:
            troubled[execution.id] = str(execution.status)
    limit = asyncio.Semaphore(16)

    async def look_at(workflow_id: str) -> None:
        async with limit:
            described = (await client.get_workflow_handle(workflow_id).describe()).raw_description
        for activity in described.pending_activities:
            troubled[workflow_id] = (f"{activity.activity_type.name} attempt {activity.attempt}: "
                                     f"{activity.last_failure.message or 'running'}")
        if (attempt := described.pending_workflow_task.attempt) > 1:
            troubled[workflow_id] = f"workflow task attempt {attempt}"

    await asyncio.gather(*(look_at(workflow_id) for workflow_id in running))
    return runs, troubled
