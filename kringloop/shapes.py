"""What every API shape is made of: strict models and text without control characters."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


def control_characters_in(text: str, *, allow_newlines: bool = False) -> bool:
    """Whether `text` holds NUL or another control or format character, a lone surrogate, or
    (unless `allow_newlines`: then CR, LF and tab may be there) a line break of any kind."""
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    # Line and paragraph separators (U+2028, U+2029) break a line too: in an email subject
    # they would stop the email from being sent at all.
    refused = ("Cc", "Cf", "Cs") if allow_newlines else ("Cc", "Cf", "Cs", "Zl", "Zp")
    return any(unicodedata.category(ch) in refused and ch not in allowed for ch in text)


def no_control_characters(value: str | None, *, allow_newlines: bool = False) -> str | None:
    """Refuse CR/LF (header injection) and other control characters in user text."""
    if value is not None and control_characters_in(value, allow_newlines=allow_newlines):
        raise ValueError("must not contain control characters (such as line breaks)")
    return value


PlainText = Annotated[str, AfterValidator(no_control_characters)]


LongText = Annotated[str, AfterValidator(partial(no_control_characters, allow_newlines=True))]


def in_the_calendar(moment: datetime | None) -> datetime | None:
    """A moment that exists in UTC too (0001-01-01T00:00+14:00 does not)."""
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the calendar once converted to UTC") from None


class StrictShape(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
