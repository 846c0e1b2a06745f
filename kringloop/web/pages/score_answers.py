"""The page behind a score link in our emails (re-survey, candidate NPS): the score the person
clicked, preselected; a comment box; and the POST that records the answer.

Mail scanners (Safe Links, antivirus) open every link in an email before the person does, so
opening a score link records nothing: only the form's POST does, and the first answer counts.
"""

from __future__ import annotations

import re
from typing import Literal

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import Field, StrictInt, ValidationError

from kringloop.shapes import LongText, StrictShape
from kringloop.web.pages.respondent import templates

# As long as a feedback-call note, and well under a survey tool's comment (10,000): a few
# sentences about how things stand now.
COMMENT_MAX = 2_000
# The address holds the link's token, the page what the person wrote: keep both out of caches
# and search engines (no referrer leaves the site: kringloop/web/security_headers.py).
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}
SCORE = re.compile(r"10|[0-9]")

ScoreLink = Literal["resurvey", "candidate"]


class ScoreAnswerIn(StrictShape):
    """What the page posts: the score (0-10) and an optional comment."""

    score: StrictInt = Field(ge=0, le=10)
    comment: LongText | None = Field(default=None, max_length=COMMENT_MAX)


def answer_in(form: dict[str, str], link_score: int) -> ScoreAnswerIn | str:
    """The posted answer, or what is wrong with it ("score", "too_long" or "invalid": a
    control character in the comment). A POST without a score answers the link's own score."""
    raw = form.get("score")
    if raw is not None and not SCORE.fullmatch(raw.strip()):
        return "score"
    comment = form.get("comment", "").strip()
    try:
        return ScoreAnswerIn(score=link_score if raw is None else int(raw),
                             comment=comment or None)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        if first["loc"] and first["loc"][0] == "score":
            return "score"
        return "too_long" if first["type"] in ("string_too_long", "too_long") else "invalid"


def private(response: HTMLResponse) -> HTMLResponse:
    response.headers.update(PRIVATE)
    return response


def score_page(request: Request, *, link: ScoreLink, language: str, organisation: str,
               score: int | None, comment: str = "", problem: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    """The form: the clicked score preselected (or, after a refusal, what was posted)."""
    return private(templates.TemplateResponse(request, "score_answer.html", {
        "link": link, "language": language, "organisation": organisation, "score": score,
        "comment": comment, "problem": problem, "comment_max": COMMENT_MAX,
    }, status_code=status_code))


def refused_answer(request: Request, form: dict[str, str], problem: str, *, link: ScoreLink,
                   language: str, organisation: str, link_score: int) -> HTMLResponse:
    """The form again (422) with what was wrong, and what the person wrote kept to correct."""
    posted = form.get("score", "").strip()
    score = int(posted) if SCORE.fullmatch(posted) else link_score
    return score_page(request, link=link, language=language, organisation=organisation,
                      score=score, comment=form.get("comment", ""), problem=problem,
                      status_code=422)
