"""Server-rendered pages for respondents, from `templates/pages/` (autoescaped) in the
workspace's look (one stylesheet, `templates/workspace/_look.css`), and the page every
respondent link shows when it does not open."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)

from kringloop.resources import TEMPLATES
from kringloop.web.deps import services
from kringloop.web.pages.templates import accepted_language

templates = Jinja2Templates(env=Environment(
    # The pages' own templates; "workspace/…" only for the stylesheet the two share.
    loader=ChoiceLoader([FileSystemLoader(TEMPLATES / "pages"),
                         PrefixLoader({"workspace": FileSystemLoader(TEMPLATES / "workspace")})]),
    autoescape=select_autoescape(default=True), undefined=StrictUndefined,
))


def browser_language(request: Request) -> str | None:
    """The first of our languages the reader's browser asks for, if it names one: all we know
    of someone whose link did not open."""
    header = request.headers.get("accept-language") or ""
    asked = {tag.partition(";")[0].strip().lower().split("-")[0] for tag in header.split(",")}
    language = accepted_language(header)
    return language if language in asked else None


def link_invalid(request: Request, reason: str, status_code: int = 400) -> HTMLResponse:
    """A link that does not open (forged, expired, of another kind, or its case gone): why, in
    the browser's language, or in both when it asks for neither of ours."""
    return templates.TemplateResponse(request, "link_invalid.html",
                                      {"reason": reason, **unknown_reader(request)},
                                      status_code=status_code)


def unknown_reader(request: Request) -> dict[str, object]:
    """What a page for someone we cannot tell needs: the browser's language, or both of ours
    (`both`) when it names neither; and the organisation the link came from."""
    language = browser_language(request)
    return {"language": language or "nl", "both": language is None,
            "organisation": services(request).org.name}
