"""Signed, expiring tokens for the links we put in emails (one-click re-survey scores)."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SCORE_LINK_MAX_AGE_S = 60 * 24 * 3600


class InvalidLink(Exception):
    """A link that was tampered with, or has expired."""


@dataclass(frozen=True)
class ScoreClick:
    case_id: str
    score: int


def _serializer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt="kringloop-resurvey-score")


def score_token(key: str, *, case_id: str, score: int) -> str:
    return _serializer(key).dumps({"c": case_id, "s": score})


def read_score_token(key: str, token: str, *, max_age_s: int = SCORE_LINK_MAX_AGE_S) -> ScoreClick:
    try:
        data = _serializer(key).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise InvalidLink("this link has expired") from None
    except BadSignature:
        raise InvalidLink("this link is not valid") from None
    if not (isinstance(data, dict) and isinstance(data.get("c"), str)
            and type(data.get("s")) is int and 0 <= data["s"] <= 10):
        raise InvalidLink("this link is not valid")
    return ScoreClick(case_id=data["c"], score=data["s"])
