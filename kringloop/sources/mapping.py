"""From a tool's answers to a Kringloop response: the source's `[sources.fields]` name which of
the tool's identifiers holds our score, comment and respondent, and the values are made ours
(a score sent as "3", a language as "nl-NL" or "Dutch")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from kringloop.intake.schemas import ResponseCreate
from kringloop.org.organisation import SurveySource
from kringloop.sources.reading import Answers

LANGUAGES = {"nl": "nl", "dutch": "nl", "nederlands": "nl", "en": "en", "english": "en",
             "engels": "en"}


class UnmappedAnswers(ValueError):
    """Answers the source's mapping cannot turn into a response; `field` names ours."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def mapped_fields(source: SurveySource, defaults: Mapping[str, str]) -> dict[str, str]:
    """Our field -> the tool's identifier: the tool's obvious ones, then the source's own."""
    return {**defaults, **source.fields}


def response_id_for(source: SurveySource, tool_response_id: str) -> str:
    """The tool's own id, prefixed by the source: a redelivery finds the response it made."""
    return f"{source.name}:{tool_response_id}"


def _score(value: Any, identifier: str) -> int:
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= 10:
        raise UnmappedAnswers(f"score: {identifier!r} holds {value!r}, not a score from 0 to 10",
                              field="score")
    return value


def _language(value: Any) -> str | None:
    """"nl", "NL", "nl-NL", "nl_BE", "Dutch" are Dutch; a language we do not write in is left
    to the organisation's default rather than refusing the answer."""
    text = str(value).strip().lower()
    return LANGUAGES.get(text) or LANGUAGES.get(text.replace("_", "-").split("-")[0])


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def response_from(answers: Answers, *, source: SurveySource,
                  defaults: Mapping[str, str]) -> ResponseCreate:
    """The response the answers map to, checked as POST /api/responses checks one. Only the
    score is required: a respondent may skip the comment, and a tool leaves out what was not
    answered."""
    fields = mapped_fields(source, defaults)
    found = {ours: answers.values[theirs] for ours, theirs in fields.items()
             if theirs in answers.values and answers.values[theirs] is not None}
    if "score" not in fields:
        raise UnmappedAnswers(f"score: the source {source.name!r} does not say which of the "
                              "tool's fields holds the score ([sources.fields] score = …)",
                              field="score")
    if "score" not in found:
        raise UnmappedAnswers(f"score: the delivery has no {fields['score']!r} (the field the "
                              f"source maps the score to); it has "
                              f"{', '.join(sorted(map(repr, answers.values))) or 'no answers'}",
                              field="score")
    respondent = {key.removeprefix("respondent."): _text(value)
                  for key, value in found.items() if key.startswith("respondent.")}
    if "language" in respondent:
        respondent["language"] = _language(respondent["language"])
    respondent = {key: value for key, value in respondent.items() if value is not None}
    shape: dict[str, Any] = {
        "response_id": response_id_for(source, answers.response_id),
        "program": source.program,
        "score": _score(found["score"], fields["score"]),
        "comment": _text(found.get("comment")),
        "respondent": respondent or None,
        "answered_at": found.get("answered_at") or answers.answered_at,
    }
    try:
        return ResponseCreate.model_validate(shape)
    except ValidationError as error:
        first = error.errors()[0]
        ours = ".".join(str(part) for part in first["loc"])
        theirs = fields.get(ours)
        raise UnmappedAnswers(
            f"{ours}: {first['msg']}" + (f" (from the tool's {theirs!r})" if theirs else ""),
            field=ours) from None
