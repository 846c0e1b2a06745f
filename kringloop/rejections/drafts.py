"""A vacancy's rejections as a recruiter writes them in the workspace, before they are scheduled.

The draft travels with the page's form (a hidden field), so nothing is stored until the
recruiter schedules the batch; every line is checked again on each request by the rules of the
API and the spreadsheet, so a tampered draft gains nothing. A form row has the spreadsheet's
columns (`kringloop reject`), and each checked row carries the email it would send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kringloop.mail.rendering import Email
from kringloop.org.access import Principal
from kringloop.org.organisation import Member
from kringloop.rejections.csv_import import check_cells, payload_of
from kringloop.rejections.emails import compose
from kringloop.rejections.scheduling import as_rejection
from kringloop.rejections.schemas import RejectionBatch, RejectionCreate, VacancyIn
from kringloop.services import Services

# The form's fields: the spreadsheet's columns a recruiter fills in per applicant.
FIELDS = ("applicant_id", "name", "email", "language", "stage", "reason_code", "reason",
          "reason_code_2", "reason_2")
MAX_DRAFT = 1000  # a batch's limit in the API


@dataclass(frozen=True)
class DraftLine:
    """One applicant to reject: what was typed, and the email it sends or why it cannot."""

    cells: dict[str, str]
    email: Email | None = None
    problems: tuple[tuple[str, str], ...] = ()


def typed(form: dict[str, str]) -> dict[str, str]:
    """The applicant fields as typed; an empty applicant id becomes the email address."""
    cells = {name: form.get(name, "") for name in FIELDS}
    if not cells["applicant_id"].strip():
        cells["applicant_id"] = cells["email"].strip().lower()
    return cells


def anything_typed(form: dict[str, str]) -> bool:
    """Whether the recruiter typed an applicant (the choices alone always have a value)."""
    return any(form.get(name, "").strip()
               for name in ("applicant_id", "name", "email", "reason", "reason_2"))


def draft_of(form: dict[str, str]) -> list[dict[str, str]]:
    """The draft the form carried; anything that is not a list of rows counts as no draft."""
    try:
        rows = json.loads(form.get("draft") or "[]")
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return []
    if not isinstance(rows, list):
        return []
    return [{name: str(row.get(name, "")) for name in FIELDS}
            for row in rows[:MAX_DRAFT] if isinstance(row, dict)]


def draft_json(rows: list[dict[str, str]]) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def vacancy_cells(vacancy: VacancyIn) -> dict[str, str]:
    return {"vacancy_id": vacancy.id, "vacancy_title": vacancy.title}


def rejection_email(services: Services, payload: RejectionCreate, recruiter: Member,
                    reader: Principal) -> Email:
    """The email exactly as the workflow would send it (the mailing's own composition, so the
    preview cannot drift from what the applicant reads), in the applicant's language."""
    row = as_rejection(payload, recruiter, actor=reader.name, now=datetime.now(UTC))
    return compose(kind="rejection", row=row, org=services.org, settings=services.settings)


def checked(services: Services, reader: Principal, vacancy: VacancyIn, cells: dict[str, str]
            ) -> DraftLine:
    found = check_cells(cells | vacancy_cells(vacancy), services.org, now=datetime.now(UTC),
                        caller=reader)
    if isinstance(found, list):
        return DraftLine(cells, problems=tuple(found))
    payload, recruiter = found
    return DraftLine(cells, email=rejection_email(services, payload, recruiter, reader))


def batch_of(vacancy: VacancyIn, lines: list[DraftLine]) -> RejectionBatch:
    """The draft as the body of `POST /api/vacancies/{id}/rejections`."""
    items: list[dict[str, Any]] = [payload_of(line.cells | vacancy_cells(vacancy))
                                   for line in lines]
    return RejectionBatch(vacancy_title=vacancy.title, items=items)
