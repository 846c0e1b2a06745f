"""`kringloop bench`: the benchmark, imported only when it is run (the import contracts keep
`bench` out of everything else)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from kringloop.cli.common import checked_settings, console

commands = typer.Typer()  # joins `kringloop` itself, as commands of its own (see __init__)


@commands.command()
def bench(
    quick: Annotated[bool, typer.Option(
        "--quick", help="smaller sizes, under ~5 minutes; leaves out the worker-memory "
                        "figure (the smoke run CI does)")] = False,
) -> None:
    """Measure Kringloop against the bare-Temporal ceiling, side by side on the embedded stack;
    every figure is a ratio against a baseline of the same run. Exit 1 only if it crashed."""
    from bench.runner import run_bench

    settings = checked_settings()
    raise typer.Exit(asyncio.run(run_bench(settings, quick=quick, console=console)))
