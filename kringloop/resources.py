"""Where Kringloop's own files are: the email and page templates, the database migrations and
the example organisation file. An installed Kringloop (a wheel, the image) carries them inside
the package, in kringloop/_files/; a checkout keeps them at the top of the repository
(templates/, migrations/, examples/), where a reader expects them."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
PACKAGED = PACKAGE / "_files"  # filled by the wheel build (pyproject.toml, force-include)
CHECKOUT = PACKAGE.parent


def resource(name: str) -> Path:
    """The folder or file `name` (e.g. "templates", "migrations", "examples/org.toml")."""
    packaged = PACKAGED / name
    return packaged if packaged.exists() else CHECKOUT / name


TEMPLATES = resource("templates")
MIGRATIONS = resource("migrations")
EXAMPLE_ORG_FILE = resource("examples/org.toml")
