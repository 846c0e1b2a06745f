"""Sealed, expiring tokens for the links we hand out: the score links (re-survey and candidate
NPS), an applicant's request for a feedback call, an anonymous employee's conversation, a
respondent's booking of their callback, and the link that unsubscribes an address.

A token is opaque: its data (which case or rejection, which score) is encrypted and
authenticated with Fernet, under a key derived (HKDF-SHA256) from the signing key and the kind
of link. Whoever holds a link, or sees it in a log, a proxy or a mail scanner, learns nothing
from it, and a token made for one kind of link decrypts as no other. Its issue time is part of
the sealed token, so it expires after the same max ages as before; an expired link says so
("this link has expired"), anything else that does not open is "this link is not valid".

Older links were itsdangerous tokens: signed, not encrypted (`payload.timestamp.signature`, the
payload readable base64 JSON). Some are still in people's inboxes (an anonymous employee's
conversation link, given once and never stored, lives 180 days), so they are still READ, with
their own per-kind salt and expiry; they are never issued again. A new token has no "." in it,
an old one always has: that is how the two are told apart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from kringloop.settings import Settings

SCORE_LINK_MAX_AGE_S = 60 * 24 * 3600
# A token issued this far "in the future" (clocks of two web processes disagreeing) still opens.
CLOCK_SKEW_S = 60


class InvalidLink(Exception):
    """A link that was tampered with, or has expired."""


@dataclass(frozen=True)
class ScoreClick:
    case_id: str
    score: int


@dataclass(frozen=True)
class SurveyClick:
    """A score chosen in the candidate-NPS email that followed a rejection."""

    rejection_id: str
    score: int


# One kind per purpose of a link: a token made for one kind never works as another. The names
# are the salts of the older itsdangerous tokens, and the context of each kind's sealing key.
_RESURVEY = "kringloop-resurvey-score"
_CANDIDATE_SURVEY = "kringloop-candidate-survey"
_FEEDBACK_CALL = "kringloop-feedback-call"
_CONVERSATION = "kringloop-employee-conversation"
_BOOKING = "kringloop-callback-booking"
_UNSUBSCRIBE = "kringloop-unsubscribe"

_SEALED = re.compile(r"[A-Za-z0-9_-]+")


@lru_cache(maxsize=32)
def _sealer(key: str, kind: str) -> Fernet:
    """The kind's own Fernet key: HKDF of the signing key, with the kind as its context."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"kringloop-link-key:" + kind.encode()).derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _seal(key: str, kind: str, data: dict[str, object]) -> str:
    sealed = _sealer(key, kind).encrypt(json.dumps(data, separators=(",", ":")).encode())
    # Fernet's base64 is URL-safe already; its "=" padding is dropped and put back on reading.
    return sealed.decode().rstrip("=")


def _padded(token: str) -> bytes:
    """The Fernet token a link carries, or InvalidLink. Only the canonical spelling opens:
    base64 decoders skip stray characters and unused bits, and a link that was changed must
    not open even where the change is one the decoder would not see."""
    if not _SEALED.fullmatch(token):
        raise InvalidLink("this link is not valid")
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        raise InvalidLink("this link is not valid") from None
    if base64.urlsafe_b64encode(raw).decode() != padded:
        raise InvalidLink("this link is not valid")
    return padded.encode()


def _unseal(key: str, kind: str, token: str, max_age_s: int) -> object:
    sealed = _padded(token)
    sealer = _sealer(key, kind)
    try:
        plain = sealer.decrypt(sealed)  # authenticates the whole token, its time included
        issued = sealer.extract_timestamp(sealed)
        data = json.loads(plain)
    except (InvalidToken, ValueError):
        raise InvalidLink("this link is not valid") from None
    age = time.time() - issued
    if age > max_age_s:
        raise InvalidLink("this link has expired")
    if age < -CLOCK_SKEW_S:
        raise InvalidLink("this link is not valid")
    return data


def _read_signed(key: str, kind: str, token: str, max_age_s: int) -> object:
    """An older, itsdangerous-signed token (read only: they are no longer made)."""
    try:
        return URLSafeTimedSerializer(key, salt=kind).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise InvalidLink("this link has expired") from None
    except BadSignature:
        raise InvalidLink("this link is not valid") from None


def _loads(key: str, kind: str, token: str, max_age_s: int) -> object:
    if "." in token:
        return _read_signed(key, kind, token, max_age_s)
    return _unseal(key, kind, token, max_age_s)


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
    return _seal(key, _RESURVEY, {"c": case_id, "s": score})


def read_score_token(key: str, token: str, *, max_age_s: int = SCORE_LINK_MAX_AGE_S) -> ScoreClick:
    case_id, score = _id_and_score(_loads(key, _RESURVEY, token, max_age_s), "c")
    return ScoreClick(case_id=case_id, score=score)


def survey_token(key: str, *, rejection_id: str, score: int) -> str:
    return _seal(key, _CANDIDATE_SURVEY, {"r": rejection_id, "s": score})


def read_survey_token(key: str, token: str, *, max_age_s: int = SCORE_LINK_MAX_AGE_S
                      ) -> SurveyClick:
    rejection_id, score = _id_and_score(_loads(key, _CANDIDATE_SURVEY, token, max_age_s), "r")
    return SurveyClick(rejection_id=rejection_id, score=score)


def feedback_call_token(key: str, *, rejection_id: str) -> str:
    return _seal(key, _FEEDBACK_CALL, {"r": rejection_id})


def read_feedback_call_token(key: str, token: str, *, max_age_s: int = SCORE_LINK_MAX_AGE_S
                             ) -> str:
    """The rejection whose applicant asks for a feedback call."""
    return _id_in(_loads(key, _FEEDBACK_CALL, token, max_age_s), "r")


# An anonymous employee's private conversation link: the only key to their case's relay.
_CONVERSATION_FORM = b"kringloop-employee-conversation-form:"
CONVERSATION_LINK_MAX_AGE_S = 180 * 24 * 3600


def conversation_token(key: str, *, case_id: str) -> str:
    return _seal(key, _CONVERSATION, {"c": case_id})


def read_conversation_token(key: str, token: str, *,
                            max_age_s: int = CONVERSATION_LINK_MAX_AGE_S) -> str:
    """The case whose conversation the link opens."""
    return _id_in(_loads(key, _CONVERSATION, token, max_age_s), "c")


def conversation_form_token(key: str, token: str) -> str:
    """The form token of a conversation page: derived from its link, so no cookie is needed.
    An HMAC, not a sealed token: it carries nothing, and only proves the page came from us."""
    return hmac.new(key.encode(), _CONVERSATION_FORM + token.encode(), hashlib.sha256).hexdigest()


def is_conversation_form_token(key: str, token: str, form_token: str) -> bool:
    return hmac.compare_digest(conversation_form_token(key, token).encode(), form_token.encode())


# A respondent's link to pick the time of their callback (acknowledgement, "we tried to reach
# you"): it only has to outlive the case's wait for a call.
BOOKING_LINK_MAX_AGE_S = 30 * 24 * 3600


def booking_token(key: str, *, case_id: str) -> str:
    return _seal(key, _BOOKING, {"c": case_id})


def read_booking_token(key: str, token: str, *, max_age_s: int = BOOKING_LINK_MAX_AGE_S) -> str:
    """The case whose callback the link books (sealed only: no older kind of it exists)."""
    return _id_in(_unseal(key, _BOOKING, token, max_age_s), "c")


# The unsubscribe link of a re-survey or candidate-NPS email (List-Unsubscribe, and the one
# click of a mail program): an email is kept for years, and the way out of the next one must
# still work when it comes.
UNSUBSCRIBE_LINK_MAX_AGE_S = 3 * 365 * 24 * 3600


@dataclass(frozen=True)
class Unsubscribe:
    """Who asked for no more email, and in which language to say it is done."""

    email: str
    language: str


def unsubscribe_token(key: str, *, email: str, language: str) -> str:
    return _seal(key, _UNSUBSCRIBE, {"e": email, "l": language})


def read_unsubscribe_token(key: str, token: str, *,
                           max_age_s: int = UNSUBSCRIBE_LINK_MAX_AGE_S) -> Unsubscribe:
    """The address the link unsubscribes (sealed only: no older kind of it exists)."""
    data = _unseal(key, _UNSUBSCRIBE, token, max_age_s)
    email = _id_in(data, "e")
    language = data.get("l") if isinstance(data, dict) else None
    return Unsubscribe(email=email, language=language if isinstance(language, str) else "nl")


def unsubscribe_link(settings: Settings, *, email: str, language: str) -> str:
    """The link that takes `email` off our list (`/u/<token>`), for an email's
    List-Unsubscribe header (`Outgoing.unsubscribe_url`)."""
    token = unsubscribe_token(settings.signing_key, email=email, language=language)
    return f"{settings.base_url}/u/{token}"
