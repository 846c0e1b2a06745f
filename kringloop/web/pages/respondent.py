"""Server-rendered pages for respondents, from `templates/pages/` (autoescaped)."""

from __future__ import annotations

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kringloop.resources import TEMPLATES

templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(TEMPLATES / "pages"),
    autoescape=select_autoescape(default=True), undefined=StrictUndefined,
))
