"""A refusal a domain gives and every entry point turns into its own answer: the JSON API and
the pages a status with `{message, field}`, the CLI a line and an exit code."""

from __future__ import annotations


class Refused(Exception):
    """What was refused and why, the field it is about (or None), and the HTTP status that
    says it best (403 not allowed, 404 not within reach, 409 too late, 422 not valid)."""

    def __init__(self, status_code: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.field = field
