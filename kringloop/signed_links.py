"""Signed, expiring tokens for the links we hand out: one-click scores (re-survey and candidate
NPS), an applicant's request for a feedback call, and an anonymous employee's conversation."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SCORE_LINK_MAX_AGE_S = 60 * 24 * 3600


class InvalidLink(Exception):
    """A link that was tampered with, or has expired."""


@dataclass(frozen=True)
class ScoreClick:
    case_id: str
    score: int


@dataclass(frozen=True)
class SurveyClick:
    """A score clicked in the candidate-NPS email that followed a rejection."""

    rejection_id: str
    score: int


# One salt per kind of link: a token made for one kind never works as another.
_RESURVEY = "kringloop-resurvey-score"
_CANDIDATE_SURVEY = "kringloop-candidate-survey"
_FEEDBACK_CALL = "kringloop-feedback-call"


def _serializer(key: str, salt: str = _RESURVEY) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=salt)


def _loads(key: str, salt: str, token: str, max_age_s: int) -> object:
    try:
        return _serializer(key, salt).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise InvalidLink("this link has expired") from None
    except BadSignature:
        raise InvalidLink("this link is not valid") from None


def _id_in(data: object, id_key: str) -> str:
    """The case or rejection id a token's data names under `id_key`."""
    if not (isinstance(data, dict) and isinstance(data.get(id_key), str)):
        raise InvalidLink("this link is not valid")
    return data[id_key]


def _id_and_score(data: object, id_key: str) -> tuple[str, int]:
    link_id = _id_in(data, id_key)
    score = data.get("s") if isinstance(data, dict) else None
    if not (type(score) is int and 0 <= score <= 10):
        raise InvalidLink("this link is not valid")
    return link_id, score


def score_token(key: str, *, case_id: str, score: int) -> str:
    return _serializer(key).dumps({"c": case_id, "s": score})


def read_score_token(key: str, token: str, *, max_age_s: int = SCORE_LINK_MAX_AGE_S) -> ScoreClick:
    case_id, score = _id_and_score(_loads(key, _RESURVEY, token, max_age_s), "c")
    return ScoreClick(case_id=case_id, score=score)


def survey_token(key: str, *, rejection_id: str, score: int) -> str:
    return _serializer(key, _CANDIDATE_SURVEY).dumps({"r": rejection_id, "s": score})


def read_survey_token(key: str, token: str, *, max_age_s: int = SCORE_LINK_MAX_AGE_S
                      ) -> SurveyClick:
    rejection_id, score = _id_and_score(_loads(key, _CANDIDATE_SURVEY, token, max_age_s), "r")
    return SurveyClick(rejection_id=rejection_id, score=score)


def feedback_call_token(key: str, *, rejection_id: str) -> str:
    return _serializer(key, _FEEDBACK_CALL).dumps({"r": rejection_id})


def read_feedback_call_token(key: str, token: str, *, max_age_s: int = SCORE_LINK_MAX_AGE_S
                             ) -> str:
    """The rejection whose applicant asks for a feedback call."""
    return _id_in(_loads(key, _FEEDBACK_CALL, token, max_age_s), "r")


# An anonymous employee's private conversation link: the only key to their case's relay.
_CONVERSATION = "kringloop-employee-conversation"
_CONVERSATION_FORM = b"kringloop-employee-conversation-form:"
CONVERSATION_LINK_MAX_AGE_S = 180 * 24 * 3600


def conversation_token(key: str, *, case_id: str) -> str:
    return _serializer(key, _CONVERSATION).dumps({"c": case_id})


def read_conversation_token(key: str, token: str, *,
                            max_age_s: int = CONVERSATION_LINK_MAX_AGE_S) -> str:
    """The case whose conversation the link opens."""
    return _id_in(_loads(key, _CONVERSATION, token, max_age_s), "c")


def conversation_form_token(key: str, token: str) -> str:
    """The form token of a conversation page: derived from its link, so no cookie is needed."""
    return hmac.new(key.encode(), _CONVERSATION_FORM + token.encode(), hashlib.sha256).hexdigest()


def is_conversation_form_token(key: str, token: str, form_token: str) -> bool:
    return hmac.compare_digest(conversation_form_token(key, token).encode(), form_token.encode())
