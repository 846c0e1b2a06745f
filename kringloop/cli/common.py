"""What every `kringloop` command stands on: the terminal, settings checked up front, one way to
refuse, the `kringloop up` to join and the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlmodel import Session

from kringloop.database import make_engine, session_for
from kringloop.migrations import SchemaOutOfDate, ensure_schema
from kringloop.org.organisation import OrgFileError, load_organisation
from kringloop.runtime.running_stack import running_stack
from kringloop.settings import Settings, SettingsError, load_settings

# soft_wrap: a message stays on one line even when the output is a pipe or a log file.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def checked_settings(**overrides: object) -> Settings:
    """Settings and organisation checked up front: one clear line and exit code 2 if wrong."""
    try:
        settings = load_settings(**overrides)
        load_organisation(settings.org_file)
    except (SettingsError, OrgFileError) as problem:
        errors.print(f"kringloop: {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    return settings


def refuse(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"kringloop: {message}", markup=False, highlight=False)
    return typer.Exit(code)


def require(settings: Settings, *names: str) -> None:
    missing = [n for n in names if getattr(settings, n) in (None, "")]
    if missing:
        if missing == ["temporal_address"]:  # a `kringloop up` on this home has one
            raise refuse(f"no Temporal to talk to: start `kringloop up` here (its home: "
                         f"{settings.home}) or set KRINGLOOP_TEMPORAL_ADDRESS")
        listed = ", ".join("KRINGLOOP_" + n.upper() for n in missing)
        raise refuse(f"this part runs against external services: set {listed}")


def joining_up(settings: Settings) -> Settings:
    """Without KRINGLOOP_TEMPORAL_ADDRESS, a command joins the `kringloop up` running on its home:
    the embedded dev server listens on a port picked at start, found in the running-stack file."""
    if settings.temporal_address:
        return settings
    stack = running_stack(home=settings.home)
    return stack.joined_by(settings) if stack else settings


@contextmanager
def database(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        ensure_schema(engine)
        with session_for(engine) as session:
            yield session
    except SchemaOutOfDate as behind:
        raise refuse(str(behind)) from None
    finally:
        engine.dispose()
