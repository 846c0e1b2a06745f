"""Server-rendered pages for respondents, from `templates/pages/` (autoescaped)."""

from __future__ import annotations

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kringloop.settings import PROJECT_ROOT

templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "templates" / "pages"),
    autoescape=select_autoescape(default=True), undefined=StrictUndefined,
))
