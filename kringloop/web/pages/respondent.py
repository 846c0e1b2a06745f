"""Server-rendered pages for respondents, from `templates/pages/` (autoescaped), and the page
every respondent link shows when it does not open."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kringloop.resources import TEMPLATES

templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(TEMPLATES / "pages"),
    autoescape=select_autoescape(default=True), undefined=StrictUndefined,
))


def link_invalid(request: Request, reason: str, status_code: int = 400) -> HTMLResponse:
    """A link that does not open (forged, expired, of another kind, or its case gone): why,
    in both languages, since nobody is known to be reading."""
    return templates.TemplateResponse(request, "link_invalid.html",
                                      {"reason": reason, "language": "nl"},
                                      status_code=status_code)
