"""`kringloop reject FILE.csv`: a vacancy's rejections from a spreadsheet, checked line by line.

Every line is checked by the same rules as `POST /api/rejections` (a concrete reason, a known
code, no stock phrase, a real email address ...); refused lines are reported by line number and
column, the others are scheduled (after the hold, inside working hours, unless the line gives a
`send_at`). Importing the file again sends nothing twice: applicant and vacancy are the key.

Columns (a header row; `,` or `;` as Excel writes it; UTF-8, with or without a byte order mark):
applicant_id, name, email, language, vacancy_id, vacancy_title, stage, reason_code, reason,
and optionally reason_code_2, reason_2, recruiter (default: the recruiting team's lead),
send_at (ISO 8601 with a time zone).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from temporalio.client import Client

from kringloop.intake.spreadsheet import (
    FileLines,
    LineReport,
    UnreadableFile,
    run_lines,
    say,
    summary_table,
)
from kringloop.org.access import Principal
from kringloop.org.organisation import Member, Organisation, OrgFileError, load_organisation
from kringloop.rejections.scheduling import RejectionRefused, considered, schedule_rejection
from kringloop.rejections.schemas import RejectionCreate
from kringloop.settings import Settings

REQUIRED_COLUMNS = ("applicant_id", "name", "email", "language", "vacancy_id",
                    "vacancy_title", "stage", "reason_code", "reason")
COLUMNS = (*REQUIRED_COLUMNS, "reason_code_2", "reason_2", "recruiter", "send_at")
# The API's field names as the spreadsheet's columns, for messages a recruiter can find.
_COLUMN_OF = {"applicant.id": "applicant_id", "applicant.name": "name",
              "applicant.email": "email", "applicant.language": "language",
              "vacancy.id": "vacancy_id", "vacancy.title": "vacancy_title",
              "reasons.0.code": "reason_code", "reasons.0.sentence": "reason",
              "reasons.1.code": "reason_code_2", "reasons.1.sentence": "reason_2"}
ACTOR = "csv import"


@dataclass(frozen=True)
class RejectionLine:
    """One data line: the rejection it holds (and who signs it), or why it is refused."""

    number: int
    rejection: RejectionCreate | None = None
    recruiter: Member | None = None
    refusal: str | None = None


@dataclass
class RejectionReport(LineReport):
    scheduled: int = 0
    already_known: int = 0

    def table(self) -> Table:
        return summary_table("Rejections", [
            ("scheduled", self.scheduled), ("already known", self.already_known),
            *self.unfinished_rows("not scheduled")])


def column_of(field_name: str | None) -> str:
    return _COLUMN_OF.get(field_name or "", field_name or "line")


def payload_of(cells: dict[str, str]) -> dict[str, Any]:
    """The line as the API's JSON body; an empty cell means the value is absent."""
    value = {name: text.strip() for name, text in cells.items() if text.strip()}
    reasons = [{"code": value.get(code, ""), "sentence": value.get(sentence, "")}
               for code, sentence in (("reason_code", "reason"), ("reason_code_2", "reason_2"))
               if value.get(code) or value.get(sentence)]
    body: dict[str, Any] = {
        "applicant": {key: value[column] for key, column in (
            ("id", "applicant_id"), ("name", "name"), ("email", "email"),
            ("language", "language")) if column in value},
        "vacancy": {key: value[column] for key, column in (
            ("id", "vacancy_id"), ("title", "vacancy_title")) if column in value},
        "reasons": reasons,
    }
    body |= {name: value[name] for name in ("stage", "recruiter", "send_at") if name in value}
    return body


def check_cells(cells: dict[str, str], org: Organisation, *, now: datetime,
                caller: Principal | None = None
                ) -> tuple[RejectionCreate, Member] | list[tuple[str, str]]:
    """A line (or the workspace's form, which has the same fields) as the rejection and the
    recruiter who signs it, exactly as the API checks it; else its problems (column, message)."""
    try:
        payload = RejectionCreate.model_validate(payload_of(cells))
    except ValidationError as error:
        return [(column_of(".".join(str(part) for part in e["loc"])), e["msg"])
                for e in error.errors()]
    try:
        recruiter = considered(payload, org=org, caller=caller, now=now)
    except RejectionRefused as refused:
        return [(column_of(refused.refusal.field), refused.refusal.message)]
    return payload, recruiter


def _checked(number: int, cells: dict[str, str] | str, org: Organisation, now: datetime
             ) -> RejectionLine:
    if isinstance(cells, str):  # the line itself cannot be read
        return RejectionLine(number, refusal=cells)
    checked = check_cells(cells, org, now=now)
    if isinstance(checked, list):
        return RejectionLine(number, refusal="; ".join(f"{column}: {message}"
                                                       for column, message in checked))
    payload, recruiter = checked
    return RejectionLine(number, rejection=payload, recruiter=recruiter)


def read_rejections(path: Path, org: Organisation, *, now: datetime
                    ) -> FileLines[RejectionLine]:
    """The file's data lines, each checked as it is read exactly as the API checks a posted
    rejection; an unusable file raises UnreadableFile here, before any line is read."""
    return FileLines(path, columns=COLUMNS, required=REQUIRED_COLUMNS,
                     line=partial(_checked, org=org, now=now))


async def run_rejection_import(path: Path, *, settings: Settings, console: Console) -> int:
    """Schedule the file's rejections; 0 all scheduled or known, 1 some lines refused or not
    scheduled, 2 the file (or the organisation, or Temporal) cannot be used at all."""
    try:
        org = load_organisation(settings.org_file)
        lines = await asyncio.to_thread(read_rejections, path, org, now=datetime.now(UTC))
    except (UnreadableFile, OrgFileError) as problem:
        say(console, f"kringloop reject: {problem}")
        return 2
    report = RejectionReport()

    async def schedule(line: RejectionLine, engine: Engine, client: Client) -> None:
        assert line.rejection is not None and line.recruiter is not None
        try:
            scheduled = await schedule_rejection(
                line.rejection, recruiter=line.recruiter, actor=ACTOR, engine=engine,
                client=client, task_queue=settings.task_queue)
        except RejectionRefused as refused:  # e.g. other reasons than last time
            report.refused.append((line.number, refused.refusal.message))
        else:
            report.scheduled += scheduled.created
            report.already_known += not scheduled.created

    return await run_lines("reject", lines, schedule, report=report, settings=settings,
                           console=console, doing="rejecting", undone="not scheduled")
