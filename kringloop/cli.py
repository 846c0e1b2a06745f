"""The `kringloop` command: run the stack or its parts, import responses, run the demo."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kringloop.org import OrgFileError, load_organisation
from kringloop.settings import Settings, SettingsError, load_settings
from kringloop.stack import Running, run_stack

app = typer.Typer(help="Kringloop: every low score becomes a case, until the loop is closed.",
                  no_args_is_help=True, add_completion=False)
# soft_wrap: a message stays on one line even when the output is a pipe or a log file.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _settings(**overrides: object) -> Settings:
    """Settings and organisation checked up front: one clear line and exit code 2 if wrong."""
    try:
        settings = load_settings(**overrides)
        load_organisation(settings.org_file)
    except (SettingsError, OrgFileError) as problem:
        errors.print(f"kringloop: {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    return settings


def _require(settings: Settings, *names: str) -> None:
    missing = [n for n in names if getattr(settings, n) in (None, "")]
    if missing:
        listed = ", ".join("KRINGLOOP_" + n.upper() for n in missing)
        errors.print(f"kringloop: this part runs against external services: set {listed}",
                     markup=False, highlight=False)
        raise typer.Exit(2)


def _print_urls(running: Running) -> None:
    console.print("[bold green]Kringloop is running[/] (Ctrl-C stops it)")
    if running.web_url:
        console.print(f"  web app      {running.web_url}   (API docs: {running.web_url}/docs)")
    if running.temporal_ui_url:
        console.print(f"  Temporal UI  {running.temporal_ui_url}")
    if running.outbox:
        console.print(f"  outbox       {running.outbox}   (every email as an .eml file)")
    if not running.settings.admin_token:
        console.print(f"  admin token  {running.settings.api_admin_token}   "
                      "(set KRINGLOOP_ADMIN_TOKEN to choose your own)")


def _run(settings: Settings, *, worker: bool, web: bool) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run_stack(settings, worker=worker, web=web, on_ready=_print_urls))
    console.print("Kringloop stopped.")


@app.command()
def up() -> None:
    """Run everything on one machine: Temporal dev server, worker, web app and SMTP sink
    (each embedded part only where no external one is configured)."""
    _run(_settings(), worker=True, web=True)


@app.command()
def worker() -> None:
    """Run a worker alone against external Temporal, database and SMTP (scale-out)."""
    settings = _settings()
    _require(settings, "temporal_address", "smtp_host")
    _run(settings, worker=True, web=False)


@app.command()
def web() -> None:
    """Run the web app alone against external Temporal and database (scale-out)."""
    settings = _settings()
    _require(settings, "temporal_address")
    _run(settings, worker=False, web=True)


@app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="a survey export as CSV")],
) -> None:
    """Import a survey export: bad lines are reported by line number, good ones imported."""
    from kringloop.csv_import import run_import

    settings = _settings()
    _require(settings, "temporal_address")
    raise typer.Exit(asyncio.run(run_import(file, settings=settings, console=console)))


@app.command()
def demo(
    responses: Annotated[int, typer.Option(help="how many sample responses")] = 200,
    time_scale: Annotated[float, typer.Option(help="how much faster than real time")] = 20_000,
) -> None:
    """Run the embedded stack with sample responses and simulated team members, then report."""
    from kringloop.demo import run_demo

    settings = _settings(time_scale=time_scale)
    raise typer.Exit(asyncio.run(run_demo(settings, responses=responses, console=console)))
