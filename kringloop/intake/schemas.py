"""The intake API's shapes: a response as a survey tool posts it, and the answer it gets."""

from __future__ import annotations

import math
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, EmailStr, StrictInt
from pydantic import Field as ApiField

from kringloop.responses.models import Category
from kringloop.shapes import LongText, PlainText, StrictShape, in_the_calendar

RESPONSE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"


# Survey metadata is a few flat facts; hundreds of levels only serve to exhaust the stack.
MAX_META_DEPTH = 16


def _storable_meta(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """Survey metadata as JSON every database keeps: no NaN or Infinity (PostgreSQL's json
    refuses them), no NUL, other control characters or lone surrogates in a key or a value."""

    def unstorable(text: str) -> bool:
        return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\n\r"
                   for ch in text)

    def check(value: Any, where: str, depth: int = 0) -> None:
        if depth > MAX_META_DEPTH:
            raise ValueError(f"meta nests deeper than {MAX_META_DEPTH} levels")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number, not {value}")
        if isinstance(value, str) and unstorable(value):
            raise ValueError(f"{where} must not contain control characters")
        if isinstance(value, dict):
            for key, inner in value.items():
                if unstorable(key):
                    raise ValueError(f"a key in {where} must not contain control characters")
                check(inner, f"{where}.{key}", depth + 1)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                check(inner, f"{where}[{index}]", depth + 1)

    if meta is not None:
        check(meta, "meta")
    return meta


class RespondentIn(StrictShape):
    id: PlainText | None = ApiField(default=None, min_length=1, max_length=128)
    name: PlainText | None = ApiField(default=None, min_length=1, max_length=200)
    email: EmailStr | None = ApiField(default=None, max_length=254)
    phone: PlainText | None = ApiField(default=None, pattern=r"^\+?[0-9 ()./-]{6,30}$")
    language: Literal["nl", "en"] | None = None
    segment: PlainText | None = ApiField(default=None, min_length=1, max_length=64)


class ResponseCreate(StrictShape):
    """One survey answer as a survey tool posts it (also one line of a CSV import)."""

    response_id: str = ApiField(pattern=RESPONSE_ID_PATTERN, max_length=128)
    program: Literal["customer", "employee", "candidate"]
    score: StrictInt = ApiField(ge=0, le=10)
    comment: LongText | None = ApiField(default=None, max_length=10_000)
    respondent: RespondentIn | None = None
    answered_at: Annotated[AwareDatetime | None, AfterValidator(in_the_calendar)] = None
    meta: Annotated[dict[str, Any] | None, AfterValidator(_storable_meta)] = None


class IntakeResult(BaseModel):
    response_id: str
    category: Category
    case_id: str | None
    conversation_url: str | None = ApiField(default=None, exclude_if=lambda url: url is None,
                                            description=(
        "Only for an anonymous employee's low score, and only in the answer that first "
        "received it: the employee's private link to read the team's replies and answer "
        "without revealing who they are. Shown once (e.g. on the survey tool's thank-you "
        "page) and never stored by Kringloop; valid for 180 days. Absent otherwise."))
