"""How every survey tool's delivery is read: its JSON body, event, objects, times, ids, numbers.

Each reader here refuses what is not as the tool documents it with UnreadableDelivery, naming
the field at fault so that the sender's admin knows what to fix."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kringloop.sources.reading import UnreadableDelivery


def json_object(body: bytes, *, tool: str) -> dict[str, Any]:
    """The body as the JSON object `tool` sends (a webhook, or its API's answer)."""
    try:
        payload = json.loads(body)
    # JSONDecodeError; UnicodeDecodeError for bytes that are not text; RecursionError for JSON
    # nested thousands deep, which no tool sends and which only exhausts the stack.
    except (ValueError, RecursionError):
        raise UnreadableDelivery(f"the body is not JSON, as {tool} sends",
                                 field="body") from None
    if not isinstance(payload, dict):
        raise UnreadableDelivery(f"the body is not a JSON object, as {tool} sends", field="body")
    return payload


def event_name(payload: Mapping[str, Any], key: str, *, tool: str) -> str:
    """The event a delivery says it is, under `key` (each tool has its own name for it)."""
    event = payload.get(key)
    if not isinstance(event, str) or not event:
        raise UnreadableDelivery(f"a {tool} delivery names its event in {key}", field=key)
    return event


def json_member(parent: Mapping[str, Any], key: str, *, path: str) -> Mapping[str, Any]:
    """The object under `key` in `parent`; `path` names it in full for the refusal."""
    found = parent.get(key)
    if not isinstance(found, Mapping):
        raise UnreadableDelivery(f"{path} must be an object", field=path)
    return found


def moment(value: Any, *, field: str) -> datetime | None:
    """An ISO 8601 time, or None where the tool left it out (null or empty). Every tool here
    gives its times in UTC, so one written without an offset is taken as UTC too."""
    if value is None or value == "":
        return None
    try:
        found = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise UnreadableDelivery(f"{field} must be an ISO 8601 date and time, not {value!r}",
                                 field=field) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


# Tools' ids are short tokens (Typeform's 32 characters, Qualtrics' R_ and 15); room to spare,
# and a response id with its source's name still fits the 128 characters we keep.
MAX_ID_LENGTH = 80


def identifier(value: Any, *, field: str) -> str:
    """A tool's id for something (a response, a survey, a question) as text: tools write
    their ids as text or as whole numbers, never as true/false or blank, and never with
    control characters or broken Unicode (which no database column keeps)."""
    text = str(value).strip() if isinstance(value, str | int) else ""
    if isinstance(value, bool) or not text:
        raise UnreadableDelivery(f"{field} must name an id, not {value!r}", field=field)
    if len(text) > MAX_ID_LENGTH or not text.isprintable():
        raise UnreadableDelivery(f"{field} is not an id a survey tool gives (printable, at "
                                 f"most {MAX_ID_LENGTH} characters)", field=field)
    return text


def whole_number(value: Any) -> Any:
    """A number with nothing after the point as an int (a score of 3.0 is a score of 3);
    anything else as it is."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def nothing_to_fetch(*, tool: str) -> UnreadableDelivery:
    """What to raise when asked to fetch the answers of a tool whose webhook carries them:
    only a source of the wrong kind would ask."""
    return UnreadableDelivery(f"{tool} sends its answers with the webhook; there is nothing "
                              "to fetch", field="kind")
