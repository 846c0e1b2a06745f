"""Spreadsheets in: `kringloop import` (a survey export) and `kringloop reject` (a vacancy's
rejections), both run against Temporal: the import a batch of lines at a time, the
rejections line by line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from kringloop.cli.common import checked_settings, console, database, joining_up, require

commands = typer.Typer()  # joins `kringloop` itself, as commands of its own (see __init__)


@commands.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="a survey export as CSV")],
) -> None:
    """Import a survey export: bad lines are reported by line number, good ones imported."""
    from kringloop.intake.csv_import import run_import

    raise _spreadsheet_done(run_import, file)


@commands.command()
def reject(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="a vacancy's rejections as CSV")],
) -> None:
    """Reject applicants from a spreadsheet, each with one or two concrete reasons: bad lines
    are reported by line number, good ones scheduled (after the hold, in working hours)."""
    from kringloop.rejections.csv_import import run_rejection_import

    raise _spreadsheet_done(run_rejection_import, file)


def _spreadsheet_done(run: Callable[..., Coroutine[Any, Any, int]], file: Path) -> typer.Exit:
    """Run a spreadsheet import against Temporal; its exit code: 0 all done, 1 some lines
    refused, 2 nothing could be done."""
    settings = joining_up(checked_settings())
    require(settings, "temporal_address")
    with database(settings):
        pass  # the schema is ready (the embedded one migrates itself) before a line goes in
    return typer.Exit(asyncio.run(run(file, settings=settings, console=console)))
