"""Importing a survey export (CSV): every good line through the intake, bad lines by line number."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from temporalio.client import Client

from kringloop.intake.schemas import ResponseCreate
from kringloop.intake.service import receive_responses
from kringloop.intake.spreadsheet import (
    FileLines,
    LineReport,
    UnreadableFile,
    run_batches,
    say,
    summary_table,
)
from kringloop.org.organisation import OrgFileError, load_organisation
from kringloop.settings import Settings

REQUIRED_COLUMNS = ("response_id", "program", "score")
RESPONDENT_COLUMNS = {"respondent_id": "id", "name": "name", "email": "email", "phone": "phone",
                      "language": "language", "segment": "segment"}
COLUMNS = (*REQUIRED_COLUMNS, "comment", *RESPONDENT_COLUMNS, "answered_at")
_DIGITS = re.compile(r"[0-9]+")
# Lines stored in one transaction (their cases then started together): a big export goes in
# many times faster than a line at a time, and a failure undoes only its batch's lines.
BATCH = 500
# Batches under way together: one is stored while the one before still starts its cases
# (each CASE_STARTS_AT_ONCE at a time).
BATCHES_AT_ONCE = 2


@dataclass(frozen=True)
class ImportLine:
    """One data line of the file, with the response it holds or why it is refused."""

    number: int
    response: ResponseCreate | None = None
    refusal: str | None = None


@dataclass
class ImportReport(LineReport):
    imported: int = 0
    already_known: int = 0
    cases_opened: int = 0

    def table(self) -> Table:
        return summary_table("Import", [
            ("imported", self.imported), ("already known", self.already_known),
            *self.unfinished_rows("not imported"), ("cases opened", self.cases_opened)])


def _payload(cells: dict[str, str]) -> dict[str, Any]:
    """The line as the API's JSON body; an empty cell means the value is absent."""
    present = {name: value.strip() for name, value in cells.items() if value.strip()}
    score = present.get("score")
    if score is not None and _DIGITS.fullmatch(score):
        present["score"] = int(score)  # only digits: "7.0" and "seven" reach the validator as text
    body = {name: present[name] for name in ("response_id", "program", "score", "comment",
                                               "answered_at") if name in present}
    respondent = {key: present[column] for column, key in RESPONDENT_COLUMNS.items()
                  if column in present}
    if respondent:
        body["respondent"] = respondent
    return body


def _column_of(loc: tuple[int | str, ...]) -> str:
    """The CSV column a validation error is about (`respondent.name` is the `name` column)."""
    if len(loc) >= 2 and loc[0] == "respondent":
        inner = str(loc[1])
        return next((c for c, key in RESPONDENT_COLUMNS.items() if key == inner), inner)
    return ".".join(str(part) for part in loc) or "line"


def _refusal(error: ValidationError) -> str:
    return "; ".join(f"{_column_of(e['loc'])}: {e['msg']}" for e in error.errors())


def _import_line(number: int, cells: dict[str, str] | str) -> ImportLine:
    if isinstance(cells, str):
        return ImportLine(number, refusal=cells)
    try:
        return ImportLine(number, response=ResponseCreate.model_validate(_payload(cells)))
    except ValidationError as error:
        return ImportLine(number, refusal=_refusal(error))


def read_lines(path: Path) -> FileLines[ImportLine]:
    """The file's data lines, each validated as it is read exactly as the API validates a
    posted response; an unusable file raises UnreadableFile here, before any line is read."""
    return FileLines(path, columns=COLUMNS, required=REQUIRED_COLUMNS, line=_import_line)


async def run_import(path: Path, *, settings: Settings, console: Console) -> int:
    """Import the file; 0 all imported or known, 1 some lines refused, 2 file unusable."""
    try:
        lines = await asyncio.to_thread(read_lines, path)  # the first pass: a moment, if big
        org = load_organisation(settings.org_file)
    except (UnreadableFile, OrgFileError) as problem:
        say(console, f"kringloop import: {problem}")
        return 2
    report = ImportReport()

    async def receive(batch: list[ImportLine], engine: Engine, client: Client
                      ) -> dict[int, Exception]:
        intakes = await receive_responses(
            [line.response for line in batch if line.response], engine=engine, client=client,
            org=org, task_queue=settings.task_queue, id_key=settings.signing_key,
            source="import")
        failed: dict[int, Exception] = {}
        for line, intake in zip(batch, intakes, strict=True):
            if isinstance(intake, Exception):
                failed[line.number] = intake
                continue
            report.imported += intake.created
            report.already_known += not intake.created
            report.cases_opened += bool(intake.created and intake.result.case_id)
        return failed

    return await run_batches("import", lines, receive, size=BATCH, at_once=BATCHES_AT_ONCE,
                             report=report, settings=settings, console=console,
                             doing="importing", undone="not imported")
