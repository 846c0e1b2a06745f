"""An employee's score, as a survey tool sends it: a colleague who stays anonymous, the case
their low score opens, and what they write on their conversation page."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.support.intake import unique
from tests.support.kringloop import Kringloop


def colleague() -> dict[str, str]:
    """A colleague whose every identifying detail is unique to this test run."""
    tag = uuid.uuid4().hex[:8]
    return {"id": f"emp-{tag}", "name": f"Noor Verborgen{tag}",
            "email": f"noor.{tag}@example.nl", "phone": f"+31 6 {int(tag, 16) % 10**8:08d}",
            "language": "nl"}


async def anonymous_case(kringloop: Kringloop, score: int = 3, **fields: Any) -> dict[str, Any]:
    """An anonymous employee's low score: the intake answer (with the conversation link)."""
    answer = await kringloop.api.post("/api/responses", json={
        "response_id": unique("enps"), "program": "employee", "score": score,
        "comment": "Het rooster verandert steeds op het laatste moment.",
        "respondent": {**colleague(), "segment": "Werkplaats"}, **fields})
    assert answer.status_code == 201, answer.text
    kringloop.started.append(answer.json()["case_id"])
    return answer.json()  # type: ignore[no-any-return]


async def write(kringloop: Kringloop, link: str, text: str, *,
                form_token: str | None = None) -> httpx.Response:
    """The employee answers on their conversation page, with the form token the page carries."""
    page = await kringloop.api.get(link)
    token = form_token or re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return await kringloop.api.post(link, data={"text": text, "form_token": token})
