"""Employee answers are anonymous unless the employee opted in to be contacted: what that
means for how an answer is kept."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

ANONYMOUS_ID = "kringloop-anonymous-response-id"  # the hash's own purpose, beside the key's others


def stays_anonymous(program: str, meta: Mapping[str, Any] | None) -> bool:
    """eNPS is anonymous unless the employee opted in to be contacted."""
    return program == "employee" and (meta or {}).get("contact_consent") is not True


def kept_id(response_id: str, *, program: str, meta: Mapping[str, Any] | None, key: str) -> str:
    """The id an answer is kept under. A survey tool's own id may say who answered (an email
    address, an employee number), so an anonymous answer is kept under a keyed hash of it:
    the same delivery again still finds it, and nobody can go back from it to the id."""
    if not stays_anonymous(program, meta):
        return response_id
    digest = hmac.new(key.encode(), f"{ANONYMOUS_ID}:{response_id}".encode(),
                      hashlib.sha256).hexdigest()
    return f"anon-{digest[:40]}"
